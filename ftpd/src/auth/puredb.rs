//! `-l puredb:/path/file.pdb`: virtual accounts made by pure-pw. The file is opened on
//! each login, so a database replaced by `pure-pw mkdb` takes effect at once.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::Path;

use pureftpd_account::{LookupError, find_account, password};

use super::{Endpoints, LoggedUser, Proof, Verdict};

/// Pure-FTPd's reply when the database cannot be opened or read.
const PDB_BROKEN: &str =
    "Unable to read the indexed puredb file (or old format detected) - Try pure-pw mkdb";

pub(super) fn check(pdb: &Path, login: &[u8], proof: &Proof, at: &Endpoints) -> Verdict {
    let account = match find_account(pdb, login) {
        Ok(Some(account)) => account,
        Ok(None) => return Verdict::NotFound,
        Err(LookupError::Database(_)) => {
            return Verdict::Unavailable(PDB_BROKEN.to_string());
        }
        Err(e) => return Verdict::Rejected(format!("puredb: {e}")),
    };
    if let Proof::Password(pw) = proof {
        match password::verify(pw, &account.password_hash) {
            Ok(true) => {}
            Ok(false) => return Verdict::Rejected("wrong password".to_string()),
            Err(e) => return Verdict::Rejected(format!("puredb: {e}")),
        }
    }
    let mut resolve = |name: &str| -> Vec<IpAddr> {
        (name, 0)
            .to_socket_addrs()
            .map(|a| a.map(|s| s.ip()).collect())
            .unwrap_or_default()
    };
    if let Some(rules) = &account.local_ips
        && !rules.allows(at.local, &mut resolve)
    {
        return Verdict::Rejected(format!("local address {} not allowed", at.local));
    }
    if let Some(rules) = &account.client_ips
        && !rules.allows(at.peer, &mut resolve)
    {
        return Verdict::Rejected(format!("client address {} not allowed", at.peer));
    }
    if let Some(window) = account.time_window {
        let now = jiff::Timestamp::now().to_zoned(crate::time_zone::local());
        let hhmm =
            u16::try_from(now.hour()).unwrap_or(0) * 100 + u16::try_from(now.minute()).unwrap_or(0);
        if !window.allows(hhmm) {
            return Verdict::Rejected(format!("outside the allowed hours {window}"));
        }
    }
    let user = LoggedUser::new(login, account.uid, account.gid, account.home.clone());
    Verdict::Accepted(Box::new(with_limits!(user, &account)))
}
