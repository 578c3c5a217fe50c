//! `-l extauth:`: the request the server sends, the environment pure-authd gives the
//! script, and the reply the server reads back (spec §4).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use crate::lines;

/// What the server knows about a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The login as typed.
    pub account: Vec<u8>,
    /// The password, verbatim.
    pub password: Vec<u8>,
    /// Numeric address of the server side of the control connection.
    pub local_ip: String,
    /// Port of the server side.
    pub local_port: u16,
    /// Numeric address of the client.
    pub peer: String,
    /// The TLS server name the client asked for; empty without TLS or SNI.
    pub sni_name: String,
    /// Whether the control connection is under TLS.
    pub encrypted: bool,
}

impl Request {
    /// The block Pure-FTPd sends, fields in its order.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut block = Vec::with_capacity(256);
        lines::push(&mut block, "account", &self.account);
        lines::push(&mut block, "password", &self.password);
        lines::push(&mut block, "localhost", self.local_ip.as_bytes());
        lines::push(
            &mut block,
            "localport",
            self.local_port.to_string().as_bytes(),
        );
        lines::push(&mut block, "peer", self.peer.as_bytes());
        lines::push(&mut block, "sni_name", self.sni_name.as_bytes());
        lines::push(
            &mut block,
            "encrypted",
            if self.encrypted { b"1" } else { b"0" },
        );
        lines::finish(&mut block);
        block
    }
}

/// The script's environment for a request, as pure-authd sets it: `None` when the
/// request has no `end` (nothing is run); a variable is left out when its value is
/// empty.
#[must_use]
pub fn environment(request: &[u8]) -> Option<crate::Variables> {
    const NAMES: [(&str, &str); 7] = [
        ("account", "AUTHD_ACCOUNT"),
        ("password", "AUTHD_PASSWORD"),
        ("localhost", "AUTHD_LOCAL_IP"),
        ("localport", "AUTHD_LOCAL_PORT"),
        ("peer", "AUTHD_REMOTE_IP"),
        ("encrypted", "AUTHD_ENCRYPTED"),
        ("sni_name", "AUTHD_CLIENT_SNI_NAME"),
    ];
    let fields = lines::parse(request)?;
    Some(
        NAMES
            .iter()
            .filter_map(|(keyword, variable)| {
                let value = lines::value(&fields, keyword)?;
                (!value.is_empty()).then(|| (*variable, OsString::from_vec(value.to_vec())))
            })
            .collect(),
    )
}

/// Every variable pure-authd may set: removed from the script's inherited environment
/// first, so that a value the daemon was started with never passes for the client's.
pub const VARIABLES: [&str; 7] = [
    "AUTHD_ACCOUNT",
    "AUTHD_PASSWORD",
    "AUTHD_LOCAL_IP",
    "AUTHD_LOCAL_PORT",
    "AUTHD_REMOTE_IP",
    "AUTHD_ENCRYPTED",
    "AUTHD_CLIENT_SNI_NAME",
];

/// The script's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `auth_ok:0`: the login is not known here; the next `-l` backend is asked.
    NotFound,
    /// The login is refused, and no other backend is asked; the reason is for the log.
    Refused(String),
    /// `auth_ok:1` with a usable uid, gid and home.
    Accepted(Account),
}

/// What `auth_ok:1` comes with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    /// `uid:` (above 0).
    pub uid: u32,
    /// `gid:` (above 0).
    pub gid: u32,
    /// `dir:`, absolute; `/./` marks the chroot point.
    pub dir: Vec<u8>,
    /// `throttling_bandwidth_ul:`, bytes per second.
    pub upload_bandwidth: Option<u64>,
    /// `throttling_bandwidth_dl:`, bytes per second.
    pub download_bandwidth: Option<u64>,
    /// `user_quota_size:`, bytes.
    pub quota_size: Option<u64>,
    /// `user_quota_files:`.
    pub quota_files: Option<u64>,
    /// `ratio_upload:`.
    pub upload_ratio: Option<u32>,
    /// `ratio_download:`.
    pub download_ratio: Option<u32>,
    /// `per_user_max:`, concurrent sessions of this login.
    pub max_sessions: Option<u32>,
}

/// Reads the reply as Pure-FTPd's server does: no `end` means refused; `auth_ok:1`
/// without a uid and gid above 0 and an absolute `dir` is refused too; any value but
/// 0 and 1 refuses and stops the chain. Limits that make no sense (negative, not a
/// number) are ignored rather than trusted; 0 means "no limit", as in Pure-FTPd.
#[must_use]
pub fn parse_reply(reply: &[u8]) -> Reply {
    let Some(fields) = lines::parse(reply) else {
        return Reply::Refused(
            "the reply has no \"end\" line (cut off, or the script failed)".into(),
        );
    };
    let verdict = lines::value(&fields, "auth_ok").and_then(lines::number);
    match verdict {
        Some(1) => {}
        Some(0) => return Reply::NotFound,
        // Pure-FTPd starts from 0: a reply that never says auth_ok leaves the login
        // to the next backend.
        None if lines::value(&fields, "auth_ok").is_none() => return Reply::NotFound,
        Some(other) => return Reply::Refused(format!("auth_ok:{other}")),
        None => return Reply::Refused("auth_ok is not a number".into()),
    }
    let id = |keyword| {
        lines::value(&fields, keyword)
            .and_then(lines::number)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n > 0)
    };
    let (Some(uid), Some(gid)) = (id("uid"), id("gid")) else {
        return Reply::Refused("auth_ok:1 without a uid and gid above 0".into());
    };
    let dir = lines::value(&fields, "dir").unwrap_or_default();
    if !dir.starts_with(b"/") {
        return Reply::Refused("auth_ok:1 without an absolute dir".into());
    }
    let positive = |keyword| {
        lines::value(&fields, keyword)
            .and_then(lines::number)
            .and_then(|n| u64::try_from(n).ok())
            .filter(|&n| n > 0)
    };
    let small = |keyword| positive(keyword).and_then(|n| u32::try_from(n).ok());
    Reply::Accepted(Account {
        uid,
        gid,
        dir: dir.to_vec(),
        upload_bandwidth: positive("throttling_bandwidth_ul"),
        download_bandwidth: positive("throttling_bandwidth_dl"),
        quota_size: positive("user_quota_size"),
        quota_files: positive("user_quota_files"),
        upload_ratio: small("ratio_upload"),
        download_ratio: small("ratio_download"),
        max_sessions: small("per_user_max"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            account: b"someone".to_vec(),
            password: b"p:w".to_vec(),
            local_ip: "127.0.0.1".into(),
            local_port: 52119,
            peer: "127.0.0.1".into(),
            sni_name: String::new(),
            encrypted: false,
        }
    }

    #[test]
    fn the_request_is_byte_for_byte_pure_ftpds() {
        assert_eq!(
            request().encode(),
            b"account:someone\npassword:p:w\nlocalhost:127.0.0.1\nlocalport:52119\n\
              peer:127.0.0.1\nsni_name:\nencrypted:0\nend\n"
        );
    }

    #[test]
    fn the_environment_leaves_out_empty_values() {
        let env = environment(&request().encode()).expect("complete request");
        let names: Vec<&str> = env.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "AUTHD_ACCOUNT",
                "AUTHD_PASSWORD",
                "AUTHD_LOCAL_IP",
                "AUTHD_LOCAL_PORT",
                "AUTHD_REMOTE_IP",
                "AUTHD_ENCRYPTED"
            ]
        );
        assert_eq!(env[1].1, "p:w");
        assert_eq!(environment(b"account:x\n"), None);
    }

    #[test]
    fn replies_follow_pure_ftpds_rules() {
        let ok = parse_reply(
            b"auth_ok:1\nuid:42\ngid:43\ndir:/srv/./joe\nthrottling_bandwidth_dl:1000\n\
              user_quota_files:-5\nper_user_max:3\nend\n",
        );
        let Reply::Accepted(account) = ok else {
            panic!("accepted expected, got {ok:?}")
        };
        assert_eq!((account.uid, account.gid), (42, 43));
        assert_eq!(account.dir, b"/srv/./joe");
        assert_eq!(account.download_bandwidth, Some(1000));
        assert_eq!(account.quota_files, None);
        assert_eq!(account.max_sessions, Some(3));
        assert_eq!(parse_reply(b"auth_ok:0\nend\n"), Reply::NotFound);
        assert_eq!(parse_reply(b"garbage\nend\n"), Reply::NotFound);
        for refused in [
            &b"auth_ok:-1\nend\n"[..],
            b"auth_ok:2\nend\n",
            b"auth_ok:1\nuid:42\ngid:43\ndir:/x\n",
            b"auth_ok:1\nuid:0\ngid:43\ndir:/x\nend\n",
            b"auth_ok:1\nuid:42\ngid:43\ndir:relative\nend\n",
            b"auth_ok:yes\nend\n",
            b"",
        ] {
            assert!(
                matches!(parse_reply(refused), Reply::Refused(_)),
                "{:?}",
                String::from_utf8_lossy(refused)
            );
        }
    }
}
