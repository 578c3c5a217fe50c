//! The rustls client configuration of the account directories' TLS connections
//! (PostgreSQL, LDAP): the server's certificate is checked against a PEM file of
//! certificate authorities, else the Mozilla roots.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A client configuration trusting the authorities in the PEM file `ca` (the Mozilla
/// roots when `None`).
///
/// # Errors
/// The file cannot be read or holds no usable certificate; the message names it.
pub(super) fn config(ca: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("the certificate authorities in {path}: {e}"))?;
            for certificate in certificates {
                let certificate = certificate
                    .map_err(|e| format!("the certificate authorities in {path}: {e}"))?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("the certificate authorities in {path}: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("no certificate in {path}"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
