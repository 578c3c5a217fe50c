//! Password hashes: verify every format Pure-FTPd's server accepts, create argon2id.
//!
//! Accepted stored formats, tried by prefix:
//!
//! | prefix | scheme | crate |
//! |---|---|---|
//! | `$argon2id$`, `$argon2i$` | Argon2 (libsodium's `crypto_pwhash_str`) | argon2 |
//! | `$7$` | scrypt (libsodium's `crypto_pwhash_scryptsalsa208sha256_str`) | scrypt |
//! | `$2a$`, `$2b$`, `$2x$`, `$2y$` | bcrypt | bcrypt |
//! | `$y$` | yescrypt (Debian's default `/etc/shadow` hash) | yescrypt |
//! | `$6$`, `$5$` | SHA-512-crypt, SHA-256-crypt | sha-crypt |
//! | `$1$` | MD5-crypt | pwhash |
//! | 13 characters of `./0-9A-Za-z` | traditional DES crypt | pwhash |
//!
//! Before any work, a stored hash's cost parameters are checked against [`limits`]: a
//! hostile `.pdb` cannot make a login allocate gigabytes or spin for minutes.

mod create;
mod crypt64;
pub mod limits;
mod scheme;
mod verify;

use std::fmt;

pub use create::{HashPolicy, create};
pub use scheme::Scheme;
pub use verify::verify;

/// Why a stored hash could not be checked. The password never appears in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashError {
    /// Not a format Pure-FTPd accepts (`*`, `!`, clear text, hex digests, ...).
    UnknownFormat,
    /// A known format, but not a well-formed hash of it.
    Malformed(Scheme),
    /// The hash asks for more work or memory than [`limits`] allow.
    TooCostly(String),
    /// The system could not provide randomness or memory for a new hash.
    System(String),
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFormat => {
                f.write_str("the stored password is not a supported hash format")
            }
            Self::Malformed(scheme) => write!(f, "the stored {scheme} hash is malformed"),
            Self::TooCostly(what) => write!(
                f,
                "the stored hash asks for {what}, beyond the safety limit; set a new password with pure-pw passwd"
            ),
            Self::System(what) => write!(f, "cannot hash the password: {what}"),
        }
    }
}

impl std::error::Error for HashError {}
