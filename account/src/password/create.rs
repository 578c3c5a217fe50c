use argon2::{Algorithm, Argon2, Params, Version};
use password_hash::PasswordHasher;

use super::{HashError, limits};
use crate::Password;

/// Cost of the argon2id hashes `pure-pw` creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPolicy {
    /// Memory per hash, KiB.
    pub memory_kib: u32,
    /// Passes over that memory.
    pub passes: u32,
}

impl HashPolicy {
    /// OWASP's minimum for argon2id (19 MiB, 2 passes): tens of milliseconds per login
    /// on a small server, where Pure-FTPd's calibration costs about a second.
    pub const DEFAULT: Self = Self {
        memory_kib: 19 * 1024,
        passes: 2,
    };

    /// The policy for pure-pw's `-M <MB>` (memory reserved for hashing, default 64) and
    /// `-C <n>` (concurrent logins expected, default 8): each login may use M/C, but
    /// never less than [`HashPolicy::DEFAULT`] nor more than [`limits::MAX_MEMORY_BYTES`].
    #[must_use]
    pub fn for_budget(memory_mb: u64, concurrent_logins: u64) -> Self {
        let share_kib = memory_mb.saturating_mul(1024) / concurrent_logins.max(1);
        let cap_kib = limits::MAX_MEMORY_BYTES / 1024;
        let memory_kib = share_kib.clamp(u64::from(Self::DEFAULT.memory_kib), cap_kib);
        Self {
            memory_kib: u32::try_from(memory_kib).unwrap_or(Self::DEFAULT.memory_kib),
            ..Self::DEFAULT
        }
    }
}

impl Default for HashPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A new argon2id hash of `password` with a random 16-byte salt, in the string form
/// libsodium writes (`$argon2id$v=19$m=...,t=...,p=1$salt$hash`), which Pure-FTPd's
/// server verifies.
///
/// # Errors
/// No randomness available, or parameters the argon2 crate refuses.
pub fn create(password: &Password, policy: &HashPolicy) -> Result<String, HashError> {
    let params = Params::new(policy.memory_kib, policy.passes, 1, Some(32))
        .map_err(|e| HashError::System(e.to_string()))?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError::System(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_with_salt(password.expose(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError::System(e.to_string()))
}
