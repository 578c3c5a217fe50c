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

use crate::secret::Password;

/// One stored hash of each scheme whose crate detects CPU features on first use, at the
/// lowest cost each accepts. The checksums are arbitrary: checking a password against
/// them runs the whole hash and answers `false`.
const CPU_FEATURE_PROBES: [&str; 3] = [
    "$argon2id$v=19$m=8,t=1,p=1$cHJvYmVwcm9iZQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "$6$rounds=1000$probe$......................................................................................",
    "$5$rounds=1000$probe$...........................................",
];

/// Runs each hash once, cheaply (well under a millisecond in all), so that the crates
/// detect the CPU's features now.
///
/// For a server that forks its sessions: argon2 and sha2 keep the answer in a static,
/// and a static first written in a forked process copies its 4 KiB page (shared with
/// other crates' statics) into that process for good. Called by the master before any
/// fork, every session only reads the answer.
pub fn detect_cpu_features() {
    for stored in CPU_FEATURE_PROBES {
        let _ = verify(&Password::new(b"probe".to_vec()), stored.as_bytes());
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cpu_feature_probe_is_a_hash_that_runs_and_fails() {
        // A probe its crate refused to parse would never reach the hash function, and
        // detect_cpu_features would silently detect nothing.
        for stored in CPU_FEATURE_PROBES {
            let scheme = Scheme::detect(stored);
            assert!(scheme.is_some(), "{stored}");
            assert_eq!(
                verify(&Password::new(b"probe".to_vec()), stored.as_bytes()),
                Ok(false),
                "{stored}"
            );
        }
        detect_cpu_features();
    }
}
