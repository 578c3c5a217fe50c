//! Shell patterns for LIST and STAT (`*`, `?`, `[...]`, `[!...]`, and `\\` making the
//! next byte literal, as Pure-FTPd's glob reads them: `\\[1\\].txt` names `[1].txt`),
//! and the budget a whole expansion runs under.
//!
//! Pure-FTPd (its `bsd-glob.c`) refuses a pattern with more than three `*` or as long
//! as a path, and stops an expansion that reads more directory entries or checks more
//! paths than `-L`'s file count (plus two), expands more wildcard components than twice
//! `-L`'s depth, or gathers 64 KiB of paths; the
//! client then reads `Out of memory during globbing of <pattern>`. Ours keeps those
//! limits and replies, and differs on purpose in two ways:
//!
//! * the matcher is the two-pointer algorithm with one `*` to fall back to, so a match
//!   costs at most (pattern length × name length) steps, never exponential time;
//! * `.` and `..` are never followed after a component with wildcards (`*/../*/..`
//!   would walk the same directories again and again): such a path matches nothing.
//!   Before the first wildcard they are plain path steps (`../*` works).

/// Pure-FTPd's `GLOB_MAX_STARS`.
pub const MAX_STARS: usize = 3;
/// A pattern this long is refused (PATH_MAX).
pub const MAX_PATTERN: usize = 4096;
/// Pure-FTPd's `GLOB_LIMIT_MALLOC`: bytes of matched paths one expansion may gather.
pub const MAX_PATH_BYTES: usize = 65_536;

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    Byte(u8),
    AnyByte,
    AnyRun,
    Class { set: &'a [u8], negated: bool },
}

impl Token<'_> {
    fn accepts(&self, b: u8) -> bool {
        match self {
            Self::Byte(c) => *c == b,
            Self::AnyByte => true,
            Self::AnyRun => false,
            Self::Class { set, negated } => set_contains(set, b) != *negated,
        }
    }
}

fn tokens(pattern: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'*' => {
                // `**` is one `*`.
                if out.last() != Some(&Token::AnyRun) {
                    out.push(Token::AnyRun);
                }
            }
            b'?' => out.push(Token::AnyByte),
            // An escaped byte is itself (a `\` at the very end too).
            b'\\' if i + 1 < pattern.len() => {
                out.push(Token::Byte(pattern[i + 1]));
                i += 2;
                continue;
            }
            b'[' => {
                if let Some((set, negated, used)) = class(&pattern[i + 1..]) {
                    out.push(Token::Class { set, negated });
                    i += used + 1;
                    continue;
                }
                // An unclosed `[` is itself.
                out.push(Token::Byte(b'['));
            }
            b => out.push(Token::Byte(b)),
        }
        i += 1;
    }
    out
}

/// Whether `name` matches a shell pattern. A leading dot must be matched literally, as
/// in the shell.
#[must_use]
pub fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let tokens = tokens(pattern);
    if name.starts_with(b".") && tokens.first() != Some(&Token::Byte(b'.')) {
        return false;
    }
    matches(&tokens, name)
}

/// Greedy matching that remembers only the last `*`: when a later part fails, the last
/// `*` takes one more byte. Earlier `*` never need to be revisited (whatever they could
/// take, the last one can take instead), so this is at most |tokens| × |name| steps.
fn matches(tokens: &[Token<'_>], name: &[u8]) -> bool {
    let (mut t, mut n) = (0, 0);
    let mut fallback: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(t) {
            Some(Token::AnyRun) => {
                fallback = Some((t, n));
                t += 1;
            }
            Some(token) if token.accepts(name[n]) => {
                t += 1;
                n += 1;
            }
            _ => match fallback {
                Some((star, taken)) => {
                    t = star + 1;
                    n = taken + 1;
                    fallback = Some((star, taken + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|token| *token == Token::AnyRun)
}

/// The contents of a `[...]` class (the bytes after `[`), whether it is negated, and
/// how many bytes it used including the `]`.
fn class(pattern: &[u8]) -> Option<(&[u8], bool, usize)> {
    let (negated, skip) = match pattern.first() {
        Some(b'!' | b'^') => (true, 1),
        _ => (false, 0),
    };
    let body = &pattern[skip..];
    // A `]` right after `[` or `[!` is part of the set.
    let close = body.iter().skip(1).position(|&b| b == b']')? + 1;
    Some((&body[..close], negated, skip + close + 1))
}

fn set_contains(set: &[u8], c: u8) -> bool {
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            if (set[i]..=set[i + 2]).contains(&c) {
                return true;
            }
            i += 3;
        } else {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

/// Whether a pattern has wildcards.
#[must_use]
pub fn has_wildcards(pattern: &[u8]) -> bool {
    let mut escaped = false;
    for &b in pattern {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
    }
    false
}

/// What a pattern without wildcards names: each `\\x` is `x` (a `\\` at the very end
/// stays).
#[must_use]
pub fn unescape(pattern: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut bytes = pattern.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match (b, bytes.peek()) {
            (b'\\', Some(&next)) => {
                out.push(next);
                bytes.next();
            }
            _ => out.push(b),
        }
    }
    out
}

/// An expansion went over a limit: the client is told `Out of memory during globbing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// What one expansion may still do.
#[derive(Debug, Clone)]
pub struct Budget {
    entries_left: usize,
    matches_left: usize,
    bytes_left: usize,
    depth_left: u32,
}

impl Budget {
    /// The budget for a pattern under `-L max_files:max_depth`, or `OverBudget` at once
    /// for a pattern Pure-FTPd refuses outright (too many stars, too long).
    ///
    /// # Errors
    /// The pattern itself is over the limits.
    pub fn for_pattern(
        pattern: &[u8],
        max_files: usize,
        max_depth: u32,
    ) -> Result<Self, OverBudget> {
        let stars = pattern.iter().filter(|&&b| b == b'*').count();
        if stars > MAX_STARS || pattern.len() >= MAX_PATTERN {
            return Err(OverBudget);
        }
        Ok(Self {
            entries_left: max_files.saturating_add(2),
            matches_left: max_files.saturating_add(2),
            bytes_left: MAX_PATH_BYTES,
            depth_left: max_depth.saturating_mul(2),
        })
    }

    /// `count` more directory entries are read.
    ///
    /// # Errors
    /// Too many entries read.
    pub fn read_entries(&mut self, count: usize) -> Result<(), OverBudget> {
        take(&mut self.entries_left, count)
    }

    /// One more wildcard component is expanded.
    ///
    /// # Errors
    /// The pattern goes too deep.
    pub fn descend(&mut self) -> Result<(), OverBudget> {
        self.depth_left = self.depth_left.checked_sub(1).ok_or(OverBudget)?;
        Ok(())
    }

    /// One more path matched, of `len` bytes.
    ///
    /// # Errors
    /// Too many paths, or too many bytes of them.
    pub fn matched(&mut self, len: usize) -> Result<(), OverBudget> {
        take(&mut self.matches_left, 1)?;
        take(&mut self.bytes_left, len)
    }
}

fn take(left: &mut usize, amount: usize) -> Result<(), OverBudget> {
    *left = left.checked_sub(amount).ok_or(OverBudget)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn globs_match_like_the_shell() {
        assert!(glob_match(b"*.txt", b"a.txt"));
        assert!(!glob_match(b"*.txt", b".hidden.txt"));
        assert!(glob_match(b".*", b".hidden"));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(glob_match(b"[a-c]x", b"bx"));
        assert!(!glob_match(b"[!a-c]x", b"bx"));
        assert!(glob_match(b"[]]", b"]"));
        assert!(glob_match(b"*", b"anything"));
        assert!(glob_match(b"*", b""));
        assert!(!glob_match(b"a*", b"b"));
        assert!(glob_match(b"a*b*c", b"aXbYc"));
        assert!(glob_match(b"a*b*c", b"abcbc"));
        assert!(!glob_match(b"a*b*c", b"abcb"));
        assert!(glob_match(b"*[", b"x["));
        assert!(glob_match(b"a[", b"a["));
        assert!(!glob_match(b"a[", b"a"));
        assert!(glob_match(b"[!]]x", b"ax"));
        assert!(glob_match(b"**a", b"bba"));
        assert!(glob_match(b"?*?", b"ab"));
        assert!(!glob_match(b"?*?", b"a"));
        // Escapes: the next byte is itself.
        assert!(glob_match(b"\\[1\\]*", b"[1].txt"));
        assert!(!glob_match(b"\\[1\\]*", b"1.txt"));
        assert!(glob_match(b"\\*star", b"*star"));
        assert!(!glob_match(b"\\*star", b"a-star"));
        assert!(glob_match(b"a\\?", b"a?"));
        assert!(!glob_match(b"a\\?", b"ab"));
        assert!(glob_match(b"\\.h*", b".hid"));
        assert!(glob_match(b"a\\", b"a\\"));
        assert!(!has_wildcards(b"\\[br\\]"));
        assert!(!has_wildcards(b"\\*\\?"));
        assert!(has_wildcards(b"\\\\*"));
        assert_eq!(unescape(b"\\[br\\]"), b"[br]");
        assert_eq!(unescape(b"a\\.txt\\"), b"a.txt\\");
    }

    /// The patterns that took seconds or never ended with the recursive matcher.
    #[test]
    fn hostile_patterns_take_microseconds() {
        let name = [b'a'; 40];
        let patterns: Vec<Vec<u8>> = vec![
            b"*a*a*a*a*a*a*a*a*a*a*ab".to_vec(),
            b"*a".repeat(12).iter().copied().chain(*b"b").collect(),
            b"*?".repeat(16),
            b"*".repeat(4000),
            b"*[a-z]".repeat(600),
        ];
        for pattern in patterns {
            let started = Instant::now();
            let _ = glob_match(&pattern, &name);
            assert!(
                started.elapsed() < Duration::from_millis(200),
                "{}",
                String::from_utf8_lossy(&pattern)
            );
        }
    }

    /// The matcher agrees with a plain recursive one (exponential, fine on short input).
    #[test]
    fn agrees_with_a_reference_matcher() {
        fn reference(p: &[u8], n: &[u8]) -> bool {
            match p.split_first() {
                None => n.is_empty(),
                Some((b'*', rest)) => (0..=n.len()).any(|i| reference(rest, &n[i..])),
                Some((b'?', rest)) => !n.is_empty() && reference(rest, &n[1..]),
                Some((b'\\', [c, rest @ ..])) => n.first() == Some(c) && reference(rest, &n[1..]),
                Some((&c, rest)) => n.first() == Some(&c) && reference(rest, &n[1..]),
            }
        }
        let alphabet = [b'a', b'b', b'*', b'?', b'\\'];
        let mut seed = 12_345u32;
        let mut next = |m: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) % m
        };
        for _ in 0..20_000 {
            let p: Vec<u8> = (0..next(7)).map(|_| alphabet[next(5) as usize]).collect();
            let n: Vec<u8> = (0..next(7)).map(|_| alphabet[next(2) as usize]).collect();
            assert_eq!(
                matches(&tokens(&p), &n),
                reference(&p, &n),
                "{} vs {}",
                String::from_utf8_lossy(&p),
                String::from_utf8_lossy(&n)
            );
        }
    }

    #[test]
    fn budgets_refuse_what_pure_ftpd_refuses() {
        assert!(Budget::for_pattern(b"*a*b*", 10, 5).is_ok());
        assert_eq!(
            Budget::for_pattern(b"*a*b*c*", 10, 5).unwrap_err(),
            OverBudget
        );
        assert!(Budget::for_pattern(&[b'x'; MAX_PATTERN], 10, 5).is_err());
        let mut budget = Budget::for_pattern(b"*", 1, 1).unwrap();
        assert!(budget.read_entries(2).is_ok() && budget.read_entries(1).is_ok());
        assert!(budget.read_entries(1).is_err());
        assert!(budget.descend().is_ok() && budget.descend().is_ok());
        assert!(budget.descend().is_err());
        let mut budget = Budget::for_pattern(b"*", 1_000_000, 1).unwrap();
        assert!(budget.matched(MAX_PATH_BYTES).is_ok());
        assert!(budget.matched(1).is_err());
    }
}
