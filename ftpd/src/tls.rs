//! TLS for FTPS, with rustls: the server configuration, built once at start-up (and
//! again on SIGHUP), so that a missing, unreadable or mismatched certificate or key is
//! an error before the first client, not at it.
//!
//! * Certificates: `-2 cert[,key]` (PEM; one file may hold both), by default
//!   `/etc/ssl/private/pure-ftpd.pem`, as Pure-FTPd.
//! * Versions: TLS 1.2 and 1.3 only; the server's cipher preference wins; every suite
//!   has forward secrecy (ECDHE) and an AEAD cipher.
//! * `-J`: OpenSSL cipher strings, mapped to what rustls offers (`cipher_suites`).
//!   `-J -C:...` requires a client certificate, verified against the server's
//!   certificate file used as the CA file (as Pure-FTPd does); `-S:` is accepted.
//! * Sessions: tickets (TLS 1.3, and TLS 1.2 clients that ask for them) are sealed with
//!   keys the master shares with every session ([`crate::tls_tickets`]), so a client
//!   resumes across control connections and its data connections resume the control
//!   connection's session. TLS 1.2 session IDs stay in each session process's cache,
//!   for its data connections (under inetd, where there is no master, that cache serves
//!   TLS 1.3 too).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::ring::cipher_suite as suite;
use rustls::server::{StoresServerSessions, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Config;
use crate::config::args::ConfigError;
use crate::tls_tickets::SharedTickets;

/// Pure-FTPd's default certificate and key file.
pub const DEFAULT_CERT_FILE: &str = "/etc/ssl/private/pure-ftpd.pem";
/// TLS sessions each session process remembers (control plus data connections).
const SESSION_CACHE: usize = 32;

fn bad(message: impl Into<String>) -> ConfigError {
    ConfigError::new(message)
}

/// The certificate and key files `-2` names.
#[must_use]
pub fn cert_and_key(config: &Config) -> (PathBuf, PathBuf) {
    match config.cert_file.as_deref() {
        None => (
            PathBuf::from(DEFAULT_CERT_FILE),
            PathBuf::from(DEFAULT_CERT_FILE),
        ),
        Some(spec) => match spec.split_once(',') {
            Some((cert, key)) if !key.is_empty() => (PathBuf::from(cert), PathBuf::from(key)),
            _ => (
                PathBuf::from(spec.trim_end_matches(',')),
                PathBuf::from(spec.trim_end_matches(',')),
            ),
        },
    }
}

/// The server configuration, or `None` when TLS is off (`-Y 0` and no implicit TLS).
///
/// # Errors
/// Unreadable or mismatched certificate and key, or a `-J` that cannot be honoured.
pub fn server_config(config: &Config) -> Result<Option<Arc<ServerConfig>>, ConfigError> {
    if config.tls == 0 && !config.implicit_tls {
        return Ok(None);
    }
    let (cert_path, key_path) = cert_and_key(config);
    let certs = load_certificates(&cert_path)?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        bad(format!(
            "Unable to load the private key from {}: {e}",
            key_path.display()
        ))
    })?;
    let ciphers = CipherString::parse(config.tls_ciphers.as_deref())?;
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = ciphers.suites;
    let provider = Arc::new(provider);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| bad(format!("TLS: {e}")))?;
    let builder = if ciphers.require_client_certificate {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(certs.iter().cloned());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| {
                bad(format!(
                    "TLS: cannot verify client certificates with {}: {e}",
                    cert_path.display()
                ))
            })?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut server = builder.with_single_cert(certs, key).map_err(|e| {
        bad(format!(
            "The private key in {} does not match the certificate in {}: {e}",
            key_path.display(),
            cert_path.display()
        ))
    })?;
    server.ignore_client_order = true;
    server.session_storage = Arc::new(ReusableSessions::default());
    // Tickets come from the master's shared keys (`with_tickets`); a server under inetd
    // has none and resumes from this cache, within its one session.
    Ok(Some(Arc::new(server)))
}

/// `config` sealing its tickets with `tickets`.
#[must_use]
pub fn with_tickets(config: &ServerConfig, tickets: &Arc<SharedTickets>) -> Arc<ServerConfig> {
    let mut shared = config.clone();
    shared.ticketer = Arc::clone(tickets) as Arc<dyn rustls::server::ProducesTickets>;
    Arc::new(shared)
}

/// The configuration for data connections: the control connection's, without TLS 1.3
/// session tickets. Clients resume the control connection's session and never read a
/// ticket sent on an upload's connection; closing a socket with unread bytes makes the
/// kernel reset it, which would throw away the end of the upload still in the client's
/// send queue (curl does exactly this).
#[must_use]
pub fn for_data_connections(config: &ServerConfig) -> Arc<ServerConfig> {
    let mut data = config.clone();
    data.send_tls13_tickets = 0;
    Arc::new(data)
}

/// The TLS sessions of one FTP session's process (its control connection and its data
/// connections). Unlike rustls' own cache, a session is not consumed when resumed: FTP
/// clients resume the control connection's session for every data connection, with
/// TLS 1.3 too. (Early data stays off, so reusing a session allows no replay.)
#[derive(Debug, Default)]
struct ReusableSessions {
    entries: std::sync::Mutex<std::collections::VecDeque<(Vec<u8>, Vec<u8>)>>,
}

impl StoresServerSessions for ReusableSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        entries.retain(|(k, _)| *k != key);
        if entries.len() >= SESSION_CACHE {
            entries.pop_front();
        }
        entries.push_back((key, value));
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get(key)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

pub(crate) fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| {
        bad(format!(
            "Unable to read the certificate file {}: {e}",
            path.display()
        ))
    })?;
    let certs: Vec<_> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("Bad certificate in {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(bad(format!("No certificate in {}", path.display())));
    }
    Ok(certs)
}

/// A `-J` cipher string, understood.
#[derive(Debug)]
pub struct CipherString {
    /// TLS 1.3 suites (always all three) and the TLS 1.2 suites the string allows.
    pub suites: Vec<SupportedCipherSuite>,
    /// `-C:` prefix.
    pub require_client_certificate: bool,
}

/// The TLS 1.2 suites rustls offers, with their OpenSSL names. Every one is ECDHE (forward
/// secrecy) with AES-GCM or ChaCha20-Poly1305.
fn tls12_suites() -> [(&'static str, SupportedCipherSuite); 6] {
    [
        (
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "ECDHE-RSA-CHACHA20-POLY1305",
            suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "ECDHE-RSA-AES128-GCM-SHA256",
            suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "ECDHE-RSA-AES256-GCM-SHA384",
            suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ),
    ]
}

/// How Pure-FTPd (OpenSSL) logs a session: `TLSv1.3 with TLS_AES_256_GCM_SHA384, 256
/// secret bits cipher`.
#[must_use]
pub fn describe(version: rustls::ProtocolVersion, suite: SupportedCipherSuite) -> String {
    let version = match version {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
        other => format!("{other:?}"),
    };
    let id = suite.suite();
    let name = match id {
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        _ => tls12_suites()
            .into_iter()
            .find(|(_, s)| s.suite() == id)
            .map_or("unknown", |(name, _)| name),
    };
    let bits = if name.contains("AES128") || name.contains("AES_128") {
        128
    } else {
        256
    };
    format!("{version} with {name}, {bits} secret bits cipher")
}

const TLS13: [SupportedCipherSuite; 3] = [
    suite::TLS13_AES_256_GCM_SHA384,
    suite::TLS13_AES_128_GCM_SHA256,
    suite::TLS13_CHACHA20_POLY1305_SHA256,
];

/// OpenSSL names of suites rustls cannot offer (CBC, DHE, RSA key exchange, RC4, 3DES,
/// anonymous, NULL): allowed in a list, never chosen.
fn unavailable(token: &str) -> bool {
    let known_families = [
        "DHE-", "EDH-", "ECDHE-", "AES", "DES-", "RC4", "CAMELLIA", "SEED", "IDEA", "PSK-", "SRP-",
        "ADH-", "AECDH-", "NULL", "EXP-", "ARIA", "GOST", "DH-", "ECDH-",
    ];
    known_families.iter().any(|f| token.starts_with(f))
}

impl CipherString {
    /// Understands a cipher string (`None`: Pure-FTPd's default, which maps to every
    /// suite rustls has).
    ///
    /// # Errors
    /// A name that is not an OpenSSL cipher or keyword, or a list that allows no TLS 1.2
    /// suite rustls can offer (the admin asked for something this server cannot do).
    pub fn parse(spec: Option<&str>) -> Result<Self, ConfigError> {
        let mut spec = spec.unwrap_or("HIGH").trim();
        let mut require_client_certificate = false;
        loop {
            if let Some(rest) = spec.strip_prefix("-C:") {
                require_client_certificate = true;
                spec = rest;
            } else if let Some(rest) = spec.strip_prefix("-S:") {
                spec = rest;
            } else {
                break;
            }
        }
        let table = tls12_suites();
        let mut allowed: Vec<&str> = Vec::new();
        for token in spec.split([':', ',', ' ']).filter(|t| !t.is_empty()) {
            if let Some(excluded) = token.strip_prefix(['!', '-']) {
                allowed.retain(|name| !name.contains(excluded));
                continue;
            }
            let token = token.trim_start_matches('+');
            let group: Vec<&str> = match token {
                "HIGH"
                | "DEFAULT"
                | "ALL"
                | "COMPLEMENTOFDEFAULT"
                | "SECURE"
                | "ECDHE"
                | "EECDH"
                | "kECDHE"
                | "AEAD"
                | "FIPS"
                | "@STRENGTH"
                | "@SECLEVEL=1"
                | "@SECLEVEL=2" => table.iter().map(|e| e.0).collect(),
                "AESGCM" | "AES" => table
                    .iter()
                    .map(|e| e.0)
                    .filter(|n| n.contains("AES"))
                    .collect(),
                "CHACHA20" => table
                    .iter()
                    .map(|e| e.0)
                    .filter(|n| n.contains("CHACHA20"))
                    .collect(),
                "AES128" => table
                    .iter()
                    .map(|e| e.0)
                    .filter(|n| n.contains("AES128"))
                    .collect(),
                "AES256" => table
                    .iter()
                    .map(|e| e.0)
                    .filter(|n| n.contains("AES256"))
                    .collect(),
                "aRSA" | "RSA" => table
                    .iter()
                    .map(|e| e.0)
                    .filter(|n| n.contains("-RSA-"))
                    .collect(),
                "aECDSA" | "ECDSA" => table
                    .iter()
                    .map(|e| e.0)
                    .filter(|n| n.contains("ECDSA"))
                    .collect(),
                "MEDIUM" | "LOW" | "EXPORT" | "eNULL" | "aNULL" | "DSS" | "SHA1" | "MD5"
                | "RC4" | "3DES" => Vec::new(),
                name if table.iter().any(|e| e.0 == name) => vec![name],
                name if name.starts_with('@') => Vec::new(),
                name if name.starts_with("TLS_") => Vec::new(),
                name if unavailable(name) => Vec::new(),
                name => return Err(bad(format!("Unknown cipher in -J: {name}"))),
            };
            for name in group {
                if !allowed.contains(&name) {
                    allowed.push(name);
                }
            }
        }
        if allowed.is_empty() {
            return Err(bad(format!(
                "No cipher allowed by -J \"{spec}\" can be offered: this server speaks TLS 1.2 only with \
                 ECDHE and AES-GCM or ChaCha20-Poly1305 (and TLS 1.3)"
            )));
        }
        let mut suites = TLS13.to_vec();
        suites.extend(
            allowed
                .iter()
                .filter_map(|name| table.iter().find(|e| e.0 == *name).map(|e| e.1)),
        );
        Ok(Self {
            suites,
            require_client_certificate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(spec: Option<&str>) -> Vec<String> {
        CipherString::parse(spec)
            .unwrap()
            .suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect()
    }

    #[test]
    fn sessions_are_described_with_openssl_names() {
        assert_eq!(
            describe(
                rustls::ProtocolVersion::TLSv1_3,
                suite::TLS13_AES_256_GCM_SHA384
            ),
            "TLSv1.3 with TLS_AES_256_GCM_SHA384, 256 secret bits cipher"
        );
        assert_eq!(
            describe(
                rustls::ProtocolVersion::TLSv1_2,
                suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
            ),
            "TLSv1.2 with ECDHE-RSA-AES128-GCM-SHA256, 128 secret bits cipher"
        );
    }

    #[test]
    fn pure_ftpd_defaults_map_to_every_aead_suite() {
        let default = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:!DSS";
        assert_eq!(names(Some(default)).len(), 3 + 6);
        assert_eq!(names(None).len(), 3 + 6);
        assert_eq!(names(Some("HIGH")).len(), 3 + 6);
    }

    #[test]
    fn lists_narrow_and_exclusions_apply() {
        let only = names(Some("ECDHE-RSA-AES256-GCM-SHA384"));
        assert_eq!(only.len(), 4);
        assert!(only[3].contains("ECDHE_RSA_WITH_AES_256_GCM"));
        assert_eq!(names(Some("HIGH:!CHACHA20")).len(), 3 + 4);
    }

    #[test]
    fn what_cannot_be_honoured_is_refused() {
        assert!(CipherString::parse(Some("DHE-RSA-AES128-SHA:AES128-SHA")).is_err());
        assert!(CipherString::parse(Some("RC4-MD5")).is_err());
        assert!(CipherString::parse(Some("NOSUCHCIPHER")).is_err());
    }

    #[test]
    fn prefixes_ask_for_client_certificates() {
        let c = CipherString::parse(Some("-C:HIGH")).unwrap();
        assert!(c.require_client_certificate);
        assert!(
            !CipherString::parse(Some("-S:HIGH"))
                .unwrap()
                .require_client_certificate
        );
    }
}
