use password_hash::PasswordVerifier;
use password_hash::phc::PasswordHash;

use super::{HashError, Scheme, crypt64, limits};
use crate::Password;

/// Checks `password` against a stored hash; `Ok(false)` for a wrong password.
///
/// # Errors
/// A stored hash in an unknown format, malformed, or asking for more work than
/// [`limits`] allow; none of these ever counts as a match.
pub fn verify(password: &Password, stored: &[u8]) -> Result<bool, HashError> {
    let stored = std::str::from_utf8(stored).map_err(|_| HashError::UnknownFormat)?;
    let scheme = Scheme::detect(stored).ok_or(HashError::UnknownFormat)?;
    let pw = password.expose();
    let malformed = HashError::Malformed(scheme);
    match scheme {
        Scheme::Argon2 => argon2(pw, stored),
        Scheme::Scrypt => {
            let (log2_n, r, p) = params_after(stored, 3)
                .and_then(crypt64::scrypt_params)
                .ok_or(malformed.clone())?;
            limits::scrypt_like(log2_n, r, p)?;
            let hash = scrypt::mcf::PasswordHashRef::new(stored).map_err(|_| malformed.clone())?;
            outcome(
                scrypt::Scrypt::default().verify_password(pw, hash),
                malformed,
            )
        }
        Scheme::Yescrypt => {
            let (log2_n, r, p) = params_after(stored, 3)
                .and_then(crypt64::yescrypt_params)
                .ok_or(malformed.clone())?;
            limits::scrypt_like(log2_n, r, p)?;
            let hash = yescrypt::PasswordHash::new(stored).map_err(|_| malformed.clone())?;
            outcome(
                yescrypt::Yescrypt::default().verify_password(pw, &hash),
                malformed,
            )
        }
        Scheme::Bcrypt => {
            let cost = stored
                .get(4..6)
                .and_then(|c| c.parse().ok())
                .ok_or(malformed.clone())?;
            limits::bcrypt(cost)?;
            bcrypt::verify(pw, stored).map_err(|_| malformed)
        }
        Scheme::Sha256Crypt | Scheme::Sha512Crypt => {
            limits::sha_crypt(sha_crypt_rounds(stored).ok_or(malformed.clone())?)?;
            outcome(
                sha_crypt::ShaCrypt::default().verify_password(pw, stored),
                malformed,
            )
        }
        Scheme::Md5Crypt => Ok(pwhash::md5_crypt::verify(pw, stored)),
        Scheme::DesCrypt => Ok(pwhash::unix_crypt::verify(pw, stored)),
    }
}

fn argon2(pw: &[u8], stored: &str) -> Result<bool, HashError> {
    let malformed = HashError::Malformed(Scheme::Argon2);
    let hash = PasswordHash::new(stored).map_err(|_| malformed.clone())?;
    let param = |name: &str| -> Result<u64, HashError> {
        let value = hash.params.get_decimal(name).ok_or(malformed.clone())?;
        Ok(u64::from(value))
    };
    limits::argon2(param("m")?, param("t")?, param("p")?)?;
    outcome(
        argon2::Argon2::default().verify_password(pw, &hash),
        malformed,
    )
}

/// The `$`-delimited field that starts at byte `start`.
fn params_after(stored: &str, start: usize) -> Option<&[u8]> {
    let rest = stored.get(start..)?;
    Some(rest.split('$').next()?.as_bytes())
}

/// SHA-crypt's `rounds=N$` (5000 when absent).
fn sha_crypt_rounds(stored: &str) -> Option<u64> {
    match stored.get(3..)?.strip_prefix("rounds=") {
        Some(rest) => rest.split('$').next()?.parse().ok(),
        None => Some(5000),
    }
}

fn outcome(result: password_hash::Result<()>, malformed: HashError) -> Result<bool, HashError> {
    match result {
        Ok(()) => Ok(true),
        Err(password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(malformed),
    }
}
