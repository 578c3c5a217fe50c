//! `-3 /socket`: which certificate to present for a TLS server name (spec §5).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use crate::lines;

/// Longest server name sent to the daemon.
pub const MAX_SNI_NAME: usize = 255;

/// Whether Pure-FTPd would ask about `name`: 1 to 255 characters of
/// `[a-zA-Z0-9._-]`. Anything else never reaches a script.
#[must_use]
pub fn is_askable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SNI_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The request for `sni_name`.
#[must_use]
pub fn request(sni_name: &str) -> Vec<u8> {
    let mut block = Vec::with_capacity(32 + sni_name.len());
    lines::push(&mut block, "sni_name", sni_name.as_bytes());
    lines::finish(&mut block);
    block
}

/// The script's environment: `CERTD_SNI_NAME`; `None` without `end`.
#[must_use]
pub fn environment(request: &[u8]) -> Option<crate::Variables> {
    let fields = lines::parse(request)?;
    Some(
        lines::value(&fields, "sni_name")
            .filter(|v| !v.is_empty())
            .map(|v| ("CERTD_SNI_NAME", OsString::from_vec(v.to_vec())))
            .into_iter()
            .collect(),
    )
}

/// Every variable pure-certd may set (cleared from the inherited environment first).
pub const VARIABLES: [&str; 1] = ["CERTD_SNI_NAME"];

/// What the handler decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `action:deny`: end the session.
    Deny,
    /// `action:default`: keep the server's certificate.
    Default,
    /// `action:strict`: this certificate, or the session ends.
    Strict(CertFiles),
    /// `action:fallback`: this certificate, or the server's if it is unusable.
    Fallback(CertFiles),
    /// No `end`, an unknown action, or strict/fallback without `cert_file`: the
    /// session ends (Pure-FTPd: `400 Cert handler not ready`, `421 Cert action`).
    Invalid(String),
}

/// A certificate chain and its key (the same file when `key_file` is not given).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Reads the handler's reply.
#[must_use]
pub fn parse_reply(reply: &[u8]) -> Reply {
    let Some(fields) = lines::parse(reply) else {
        return Reply::Invalid(
            "the reply has no \"end\" line (cut off, or the script failed)".into(),
        );
    };
    let path = |keyword| {
        lines::value(&fields, keyword)
            .filter(|v| v.starts_with(b"/"))
            .map(|v| PathBuf::from(OsString::from_vec(v.to_vec())))
    };
    let files = path("cert_file").map(|cert| CertFiles {
        key: path("key_file").unwrap_or_else(|| cert.clone()),
        cert,
    });
    let action = lines::value(&fields, "action").unwrap_or_default();
    let wants_files = |make: fn(CertFiles) -> Reply| match files.clone() {
        Some(files) => make(files),
        None => Reply::Invalid("no absolute cert_file for a strict or fallback action".into()),
    };
    match action.to_ascii_lowercase().as_slice() {
        b"deny" => Reply::Deny,
        b"default" => Reply::Default,
        b"strict" => wants_files(Reply::Strict),
        b"fallback" => wants_files(Reply::Fallback),
        other => Reply::Invalid(format!(
            "unknown action \"{}\"",
            String::from_utf8_lossy(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_host_names_are_asked_about() {
        assert!(is_askable("ftp.example-1.com"));
        assert!(!is_askable(""));
        assert!(!is_askable("a b"));
        assert!(!is_askable("x\nend"));
        assert!(!is_askable(&"a".repeat(256)));
        assert_eq!(
            request("ftp.example.com"),
            b"sni_name:ftp.example.com\nend\n"
        );
    }

    #[test]
    fn actions_and_files() {
        let files = CertFiles {
            cert: "/c.pem".into(),
            key: "/c.pem".into(),
        };
        assert_eq!(parse_reply(b"action:deny\nend\n"), Reply::Deny);
        assert_eq!(parse_reply(b"action:default\nend\n"), Reply::Default);
        assert_eq!(
            parse_reply(b"action:strict\ncert_file:/c.pem\nend\n"),
            Reply::Strict(files)
        );
        assert_eq!(
            parse_reply(b"action:fallback\ncert_file:/c.pem\nkey_file:/k.pem\nend\n"),
            Reply::Fallback(CertFiles {
                cert: "/c.pem".into(),
                key: "/k.pem".into()
            })
        );
        for invalid in [
            &b"action:strict\nend\n"[..],
            b"action:strict\ncert_file:relative.pem\nend\n",
            b"action:maybe\nend\n",
            b"action:deny\n",
        ] {
            assert!(matches!(parse_reply(invalid), Reply::Invalid(_)));
        }
    }
}
