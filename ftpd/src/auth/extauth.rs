//! `-l extauth:/path/socket`: the login is decided by pure-authd's script (spec §4).
//! The request is the one Pure-FTPd sends (with `sni_name` always filled, as 1.0.53+
//! does); the reply is read until the daemon closes, at most 4095 bytes and 90 s.
//! An unreachable socket (after 10 tries, 1 s apart) passes the login to the next
//! backend; a broken, late, overlong or incomplete reply refuses it.

use std::path::Path;
use std::time::Duration;

use pureftpd_account::{Home, Password};
use pureftpd_bridge::auth::{self, Reply};
use pureftpd_bridge::client::{self, ExchangeError, PURE_FTPD_RETRY};
use zeroize::Zeroize;

use super::{Endpoints, LoggedUser, Verdict};

/// How long the script may take, through the daemon (ours kills it after 60 s).
const REPLY_TIMEOUT: Duration = Duration::from_secs(90);

pub(super) fn check(
    socket: &Path,
    login: &[u8],
    password: &Password,
    at: &Endpoints,
    notes: &mut Vec<String>,
) -> Verdict {
    let mut request = auth::Request {
        account: login.to_vec(),
        password: password.expose().to_vec(),
        local_ip: at.local.to_string(),
        local_port: at.local_port,
        peer: at.peer.to_string(),
        sni_name: at.sni_name.clone().unwrap_or_default(),
        encrypted: at.encrypted,
    };
    let mut block = request.encode();
    request.password.zeroize();
    let exchanged = client::exchange(socket, &block, PURE_FTPD_RETRY, REPLY_TIMEOUT);
    block.zeroize();
    let reply = match exchanged {
        Ok(reply) => reply,
        Err(e @ ExchangeError::Unreachable(_)) => {
            notes.push(format!("extauth {}: {e}", socket.display()));
            return Verdict::NotFound;
        }
        Err(e) => {
            let reason = format!("extauth {}: {e}", socket.display());
            notes.push(reason.clone());
            return Verdict::Rejected(reason);
        }
    };
    match auth::parse_reply(&reply) {
        Reply::NotFound => Verdict::NotFound,
        Reply::Refused(reason) => {
            // auth_ok:-1 is the script's answer; anything else is a broken reply, which
            // the admin should hear about.
            if reason != "auth_ok:-1" {
                notes.push(format!("extauth {}: {reason}", socket.display()));
            }
            Verdict::Rejected(format!("extauth: {reason}"))
        }
        Reply::Accepted(account) => {
            let user = LoggedUser::new(login, account.uid, account.gid, Home::parse(&account.dir));
            Verdict::Accepted(Box::new(with_limits!(user, &account)))
        }
    }
}
