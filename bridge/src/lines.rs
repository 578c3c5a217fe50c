//! The block format shared by requests and replies: lines `keyword:value\n`, then
//! `end\n`. Keywords are matched as Pure-FTPd matches them, by prefix and case-blind
//! (`strncasecmp`), so `auth_ok:1` and `AUTH_OK:1` mean the same; unknown lines are
//! skipped; nothing after `end` counts.

/// The lines of a block up to `end`, as `(keyword, value)`; `None` when `end` never
/// comes (a truncated or cut-off message, which both sides must refuse).
#[must_use]
pub fn parse(block: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut fields = Vec::new();
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.eq_ignore_ascii_case(b"end") {
            return Some(fields);
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            fields.push((&line[..colon], &line[colon + 1..]));
        }
    }
    None
}

/// The value of `keyword` (case-blind); the last one wins, as in Pure-FTPd, where
/// each line overwrites what an earlier one set.
#[must_use]
pub fn value<'a>(fields: &[(&[u8], &'a [u8])], keyword: &str) -> Option<&'a [u8]> {
    fields
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(keyword.as_bytes()))
        .map(|(_, v)| *v)
}

/// Appends `keyword:value\n`. A value cannot hold a newline (it would start a line of
/// its own and could forge a field): newlines and NULs are dropped.
pub fn push(block: &mut Vec<u8>, keyword: &str, value: &[u8]) {
    block.extend_from_slice(keyword.as_bytes());
    block.push(b':');
    block.extend(
        value
            .iter()
            .filter(|&&b| b != b'\n' && b != b'\r' && b != 0),
    );
    block.push(b'\n');
}

/// Appends the terminator.
pub fn finish(block: &mut Vec<u8>) {
    block.extend_from_slice(b"end\n");
}

/// A decimal number, as the server reads one (`strtoll`-like, but strict: leading
/// and trailing blanks allowed, nothing else).
#[must_use]
pub fn number(value: &[u8]) -> Option<i64> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_without_end_is_refused() {
        assert_eq!(parse(b"auth_ok:1\nuid:42\n"), None);
        assert_eq!(parse(b""), None);
    }

    #[test]
    fn fields_stop_at_end_and_values_keep_colons() {
        let fields = parse(b"password:a:b\r\nend\nauth_ok:1\n").expect("ends");
        assert_eq!(fields, vec![(&b"password"[..], &b"a:b"[..])]);
        assert_eq!(value(&fields, "PASSWORD"), Some(&b"a:b"[..]));
        assert_eq!(value(&fields, "auth_ok"), None);
    }

    #[test]
    fn pushed_values_cannot_forge_lines() {
        let mut block = Vec::new();
        push(&mut block, "account", b"joe\nauth_ok:1");
        finish(&mut block);
        assert_eq!(block, b"account:joeauth_ok:1\nend\n");
    }
}
