//! The most work and memory a stored hash may ask of one login.
//!
//! Pure-FTPd's own `pure-pw` calibrates argon2id to about a second with 1–64 MiB
//! (`m=8192,t=511` by default, `m=1024,t=2047` with `-C 64`), libsodium's scrypt
//! "interactive" preset is N=2^14, r=8 (16 MiB), Debian's yescrypt default is 16 MiB.
//! The caps below leave an order of magnitude above those, and stop a hash that asks for
//! gigabytes of memory or minutes of CPU.

use super::HashError;

/// Most memory any hash may use: 256 MiB.
pub const MAX_MEMORY_BYTES: u64 = 256 << 20;
/// Argon2: most passes × KiB (pure-pw's default is 511 × 8192 ≈ 2^22).
pub const MAX_ARGON2_WORK: u64 = 1 << 26;
/// Argon2: most lanes.
pub const MAX_ARGON2_LANES: u32 = 16;
/// scrypt and yescrypt: most N × r × p (libsodium's sensitive preset is 2^23).
pub const MAX_SCRYPT_WORK: u64 = 1 << 25;
/// bcrypt: highest cost (2^16 rounds is several seconds).
pub const MAX_BCRYPT_COST: u32 = 16;
/// SHA-crypt: most rounds (the default is 5000).
pub const MAX_SHA_CRYPT_ROUNDS: u64 = 10_000_000;

pub(crate) fn argon2(memory_kib: u64, passes: u64, lanes: u64) -> Result<(), HashError> {
    if memory_kib * 1024 > MAX_MEMORY_BYTES {
        return Err(too_costly(format!("{} MiB of memory", memory_kib / 1024)));
    }
    if memory_kib.saturating_mul(passes) > MAX_ARGON2_WORK {
        return Err(too_costly(format!("{passes} passes over {memory_kib} KiB")));
    }
    if lanes > u64::from(MAX_ARGON2_LANES) {
        return Err(too_costly(format!("{lanes} lanes")));
    }
    Ok(())
}

pub(crate) fn scrypt_like(log2_n: u32, r: u64, p: u64) -> Result<(), HashError> {
    if log2_n >= 40 {
        return Err(too_costly(format!("N = 2^{log2_n}")));
    }
    let n = 1u64 << log2_n;
    let memory = 128u64.saturating_mul(r).saturating_mul(n);
    if memory > MAX_MEMORY_BYTES {
        return Err(too_costly(format!("{} MiB of memory", memory >> 20)));
    }
    if n.saturating_mul(r).saturating_mul(p) > MAX_SCRYPT_WORK {
        return Err(too_costly(format!("N = 2^{log2_n}, r = {r}, p = {p}")));
    }
    Ok(())
}

pub(crate) fn bcrypt(cost: u32) -> Result<(), HashError> {
    if cost > MAX_BCRYPT_COST {
        return Err(too_costly(format!("bcrypt cost {cost}")));
    }
    Ok(())
}

pub(crate) fn sha_crypt(rounds: u64) -> Result<(), HashError> {
    if rounds > MAX_SHA_CRYPT_ROUNDS {
        return Err(too_costly(format!("{rounds} rounds")));
    }
    Ok(())
}

fn too_costly(what: String) -> HashError {
    HashError::TooCostly(what)
}
