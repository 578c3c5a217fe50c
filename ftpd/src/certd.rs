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
//! loads each one the first time a session reports it ([`take_hints`]), so sessions forked
//! afterwards inherit it parsed and only `stat` the files; a replaced file is read
//! again.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
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

/// The handler's choice.
#[derive(Debug)]
pub struct Choice {
    /// The configuration to go on with.
    pub config: Arc<ServerConfig>,
    /// For the log: which certificate, and whether it had to be read.
    pub note: Option<String>,
    /// The files of the certificate chosen, unless it is the default one.
    pub files: Option<CertFiles>,
}

/// The configuration for a handshake that asked for `server_name`.
///
/// # Errors
/// [`Refusal`]: deny, an invalid reply, an unreachable handler, an unusable strict
/// certificate.
pub fn choose(
    socket: &Path,
    server_name: &str,
    base: &Arc<ServerConfig>,
) -> Result<Choice, Refusal> {
    let default = || Choice {
        config: base.clone(),
        note: None,
        files: None,
    };
    if !cert::is_askable(server_name) {
        return Ok(default());
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
        Reply::Default => Ok(default()),
        Reply::Strict(files) => with_certificate(base, &files, server_name)
            .map_err(|e| Refusal(format!("Invalid certificate for [{server_name}]: {e}"))),
        Reply::Fallback(files) => Ok(with_certificate(base, &files, server_name).unwrap_or_else(
            |e| Choice {
                config: base.clone(),
                note: Some(format!("Default certificate for [{server_name}]: {e}")),
                files: None,
            },
        )),
        Reply::Invalid(reason) => Err(Refusal(format!("Cert handler not ready: {reason}"))),
    }
}

/// `base` presenting the certificate in `files`.
fn with_certificate(
    base: &Arc<ServerConfig>,
    files: &CertFiles,
    server_name: &str,
) -> Result<Choice, String> {
    let (key, cached) = certified_key(files, base.crypto_provider())?;
    let mut config = (**base).clone();
    config.cert_resolver = Arc::new(Always(key));
    Ok(Choice {
        config: Arc::new(config),
        note: Some(format!(
            "Certificate for [{server_name}]: {} ({})",
            files.cert.display(),
            if cached { "already loaded" } else { "read now" }
        )),
        files: Some(files.clone()),
    })
}

/// `base` presenting the chain and key given in PEM (by a session's monitor to its
/// pre-login process, which cannot read the files).
///
/// # Errors
/// The PEM holds no usable chain or key.
pub fn config_from_pem(
    base: &Arc<ServerConfig>,
    chain: &[u8],
    key: &[u8],
) -> Result<Arc<ServerConfig>, String> {
    use rustls_pki_types::CertificateDer;
    let certs = CertificateDer::pem_slice_iter(chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate chain: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the chain".to_string());
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("the key: {e}"))?;
    let certified =
        CertifiedKey::from_der(certs, key, base.crypto_provider()).map_err(|e| e.to_string())?;
    let mut config = (**base).clone();
    config.cert_resolver = Arc::new(Always(Arc::new(certified)));
    Ok(Arc::new(config))
}

/// The chain and key files of a chosen certificate, for the pre-login process: regular
/// files of at most `limit` bytes each.
///
/// # Errors
/// A file cannot be read or is larger.
pub fn read_pem_files(files: &CertFiles, limit: usize) -> Result<(Vec<u8>, Vec<u8>), String> {
    let read = |path: &Path| -> Result<Vec<u8>, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !meta.is_file() || meta.len() > limit as u64 {
            return Err(format!(
                "{}: not a regular file of at most {limit} bytes",
                path.display()
            ));
        }
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    Ok((read(&files.cert)?, read(&files.key)?))
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

/// The parsed certificate and key, from the cache while the files are unchanged; and
/// whether it came from the cache.
fn certified_key(
    files: &CertFiles,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<(Arc<CertifiedKey>, bool), String> {
    let stamps = (stamp(&files.cert)?, stamp(&files.key)?);
    let mut cache = cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((cached, key)) = cache.get(files)
        && *cached == stamps
    {
        return Ok((key.clone(), true));
    }
    let certs = crate::tls::load_certificates(&files.cert).map_err(|e| e.message)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("no private key in {}: {e}", files.key.display()))?;
    let certified = Arc::new(
        CertifiedKey::from_der(certs, key, provider)
            .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))?,
    );
    cache.insert(files.clone(), (stamps, certified.clone()));
    drop(cache);
    hint(files);
    Ok((certified, false))
}

/// Whether `files` are cached and unchanged.
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

/// The session's end of the hint channel; `None` in the master, in inetd mode, and
/// once the session has logged in (its process no longer speaks for the server).
static HINTS: Mutex<Option<UnixDatagram>> = Mutex::new(None);

/// Largest certificate or key file the master reads on a hint.
const MAX_PEM: u64 = 1 << 20;

/// Master: opens the channel on which sessions report certificate files they had to
/// read; returns the master's end (non-blocking), to poll.
///
/// # Errors
/// The socket pair cannot be made.
pub fn open_hints() -> io::Result<UnixDatagram> {
    let (master, sessions) = UnixDatagram::pair()?;
    master.set_nonblocking(true)?;
    sessions.set_nonblocking(true)?;
    *HINTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sessions);
    Ok(master)
}

/// Session: no more hints (called at login).
pub fn stop_hinting() {
    *HINTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
}

/// Session: tells the master which files it read, `cert\0key`.
fn hint(files: &CertFiles) {
    let hints = HINTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(socket) = hints.as_ref() {
        let message = [
            files.cert.as_os_str().as_bytes(),
            b"\0",
            files.key.as_os_str().as_bytes(),
        ]
        .concat();
        // The master may be busy: a lost hint only costs a later session a read.
        let _ = socket.send(&message);
    }
}

/// Master: loads the files the sessions reported, so that sessions forked from now on
/// inherit them parsed. Only regular files of at most 1 MiB are read (a hint comes
/// from a session process, which must not make the master block on a FIFO or device).
pub fn take_hints(master: &UnixDatagram, base: &ServerConfig) {
    let mut message = [0u8; 8192];
    while let Ok(n) = master.recv(&mut message) {
        let Some(zero) = message[..n].iter().position(|&b| b == 0) else {
            continue;
        };
        let path = |bytes: &[u8]| PathBuf::from(OsString::from_vec(bytes.to_vec()));
        let files = CertFiles {
            cert: path(&message[..zero]),
            key: path(&message[zero + 1..n]),
        };
        let plain = |p: &Path| {
            p.is_absolute() && std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_PEM)
        };
        if plain(&files.cert) && plain(&files.key) && !is_cached(&files) {
            let _ = certified_key(&files, base.crypto_provider());
        }
    }
}
