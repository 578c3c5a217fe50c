//! `-3 /socket` (`--extcert`): the certificate for a TLS server name comes from
//! pure-certd. Asked during the control connection's handshake, once the ClientHello
//! is in, for a name of 1 to 255 `[a-zA-Z0-9._-]` characters, before login. The answer:
//!
//! * `deny`: the handshake is refused and the session ends;
//! * `default`: the `-2` certificate;
//! * `strict`: the named certificate, or the session ends if it is unusable;
//! * `fallback`: the named certificate, or the `-2` one if it is unusable.
//!
//! The session then keeps that configuration for its data connections. Parsed
//! certificates are cached by file (path, inode, size, modification time): the master
//! loads each one the first time a session reports it ([`Hints`]), so sessions forked
//! afterwards inherit it parsed and only `stat` the files; a replaced file is read
//! again.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pureftpd_bridge::cert::{self, CertFiles, Reply};
use pureftpd_bridge::client::{self, PURE_FTPD_RETRY};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

/// How long the handler may take to answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(90);

/// Why the session must end.
#[derive(Debug)]
pub struct Refusal(pub String);

/// The configuration for a handshake that asked for `server_name`.
///
/// # Errors
/// [`Refusal`]: deny, an invalid reply, an unreachable handler, an unusable strict
/// certificate.
pub fn choose(
    socket: &Path,
    server_name: &str,
    base: &Arc<ServerConfig>,
) -> Result<Arc<ServerConfig>, Refusal> {
    if !cert::is_askable(server_name) {
        return Ok(base.clone());
    }
    let reply = client::exchange(
        socket,
        &cert::request(server_name),
        PURE_FTPD_RETRY,
        REPLY_TIMEOUT,
    )
    .map_err(|e| Refusal(format!("Cert handler not ready: {e}")))?;
    match cert::parse_reply(&reply) {
        Reply::Deny => Err(Refusal(format!("The cert handler denied [{server_name}]"))),
        Reply::Default => Ok(base.clone()),
        Reply::Strict(files) => with_certificate(base, &files)
            .map_err(|e| Refusal(format!("Invalid certificate for [{server_name}]: {e}"))),
        Reply::Fallback(files) => {
            Ok(with_certificate(base, &files).unwrap_or_else(|_| base.clone()))
        }
        Reply::Invalid(reason) => Err(Refusal(format!("Cert handler not ready: {reason}"))),
    }
}

/// `base` presenting the certificate in `files`.
fn with_certificate(
    base: &Arc<ServerConfig>,
    files: &CertFiles,
) -> Result<Arc<ServerConfig>, String> {
    let key = certified_key(files, base.crypto_provider())?;
    let mut config = (**base).clone();
    config.cert_resolver = Arc::new(Always(key));
    Ok(Arc::new(config))
}

#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesServerCert for Always {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// What identifies a file's content without reading it.
type Stamp = (u64, u64, u64, i64, i64);

fn stamp(path: &Path) -> Result<Stamp, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
    ))
}

type Cache = HashMap<CertFiles, ((Stamp, Stamp), Arc<CertifiedKey>)>;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: std::sync::OnceLock<Mutex<Cache>> = std::sync::OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The parsed certificate and key, from the cache while the files are unchanged.
fn certified_key(
    files: &CertFiles,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let stamps = (stamp(&files.cert)?, stamp(&files.key)?);
    let mut cache = cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((cached, key)) = cache.get(files)
        && *cached == stamps
    {
        return Ok(key.clone());
    }
    let certs = crate::tls::load_certificates(&files.cert).map_err(|e| e.0)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("no private key in {}: {e}", files.key.display()))?;
    let certified = Arc::new(
        CertifiedKey::from_der(certs, key, provider)
            .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))?,
    );
    cache.insert(files.clone(), (stamps, certified.clone()));
    Ok(certified)
}

/// Whether `files` are cached and unchanged (for tests and the master's hints).
#[must_use]
pub fn is_cached(files: &CertFiles) -> bool {
    let Ok(stamps) = stamp(&files.cert).and_then(|c| Ok((c, stamp(&files.key)?))) else {
        return false;
    };
    cache().lock().is_ok_and(|cache| {
        cache
            .get(files)
            .is_some_and(|(cached, _)| *cached == stamps)
    })
}

/// Loads `files` into this process's cache (the master does, for its future sessions).
///
/// # Errors
/// The files are unusable.
pub fn preload(files: &CertFiles, base: &ServerConfig) -> Result<(), String> {
    certified_key(files, base.crypto_provider()).map(|_| ())
}
