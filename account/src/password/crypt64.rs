//! Reading the cost parameters that scrypt (`$7$`) and yescrypt (`$y$`) hashes encode in
//! crypt's `./0-9A-Za-z` alphabet, so that limits can be checked before any hashing.
//! (The crates parse these too, but do not expose the values.)

/// The value of one character of the crypt alphabet.
fn digit(c: u8) -> Option<u32> {
    let value = match c {
        b'.' => 0,
        b'/' => 1,
        b'0'..=b'9' => c - b'0' + 2,
        b'A'..=b'Z' => c - b'A' + 12,
        b'a'..=b'z' => c - b'a' + 38,
        _ => return None,
    };
    Some(u32::from(value))
}

/// scrypt `$7$` parameters: one character of log2(N), then r and p as 30-bit
/// little-endian numbers of five characters each.
pub(crate) fn scrypt_params(params: &[u8]) -> Option<(u32, u64, u64)> {
    let log2_n = digit(*params.first()?)?;
    let number = |chars: &[u8]| -> Option<u64> {
        chars.iter().enumerate().try_fold(0u64, |acc, (i, &c)| {
            Some(acc | u64::from(digit(c)?) << (6 * i))
        })
    };
    let r = number(params.get(1..6)?)?;
    let p = number(params.get(6..11)?)?;
    Some((log2_n, r, p))
}

/// yescrypt `$y$` parameters: flags, log2(N), r, then optionally p, in yescrypt's
/// variable-width encoding. Returns (log2 N, r, p).
pub(crate) fn yescrypt_params(params: &[u8]) -> Option<(u32, u64, u64)> {
    let mut pos = 0;
    let _flags = variable_width(params, &mut pos, 0)?;
    let log2_n = variable_width(params, &mut pos, 1)?;
    let r = variable_width(params, &mut pos, 1)?;
    let mut p = 1;
    if pos < params.len() {
        let have = variable_width(params, &mut pos, 1)?;
        if have & 1 != 0 {
            p = variable_width(params, &mut pos, 2)?;
        }
    }
    Some((log2_n, u64::from(r), u64::from(p)))
}

/// yescrypt's variable-width number: the first character says how many follow.
fn variable_width(src: &[u8], pos: &mut usize, min: u32) -> Option<u32> {
    let first = digit(*src.get(*pos)?)?;
    *pos += 1;
    let (mut start, mut end, mut chars, mut bits) = (0u32, 47u32, 1u32, 0u32);
    let mut value = min;
    while first > end {
        value = value.checked_add((end + 1 - start).checked_shl(bits)?)?;
        start = end + 1;
        end = start + (62 - end) / 2;
        chars += 1;
        bits += 6;
    }
    value = value.checked_add((first - start).checked_shl(bits)?)?;
    while chars > 1 {
        chars -= 1;
        let c = digit(*src.get(*pos)?)?;
        *pos += 1;
        bits -= 6;
        value = value.checked_add(c.checked_shl(bits)?)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_libsodium_and_libxcrypt_scrypt() {
        assert_eq!(scrypt_params(b"86..../...."), Some((10, 8, 1)));
        assert_eq!(scrypt_params(b"CU..../...."), Some((14, 32, 1)));
        assert_eq!(scrypt_params(b"C"), None);
    }

    #[test]
    fn decodes_debian_yescrypt_defaults() {
        // `$y$j9T$`: N = 2^12, r = 32, as libxcrypt writes by default.
        assert_eq!(yescrypt_params(b"j9T"), Some((12, 32, 1)));
        assert_eq!(yescrypt_params(b"j"), None);
        assert_eq!(yescrypt_params(b"j9T!"), None);
    }
}
