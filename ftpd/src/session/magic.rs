//! Texts an admin drops in place (spec §10.3): `-F` fortunes (one, chosen at random,
//! is the whole greeting), `.banner` in the starting directory (added to the login
//! reply) and `.message` in a directory (added to the reply of a CWD into it).
//!
//! At most 100 lines of 511 bytes are shown; carriage returns and line feeds end
//! lines, and every other control character becomes `_`, so a file can neither forge a
//! reply line nor send terminal escapes.

use std::io::Read;
use std::path::Path;

use crate::vfs::Vfs;

/// Most lines shown from one file.
const MAX_LINES: usize = 100;
/// Longest line kept.
const MAX_LINE: usize = 511;
/// Most bytes read from a fortune file.
const MAX_FORTUNES: u64 = 1 << 20;

/// The first `max` bytes of the file at `path`; `None` when it cannot be read.
pub(super) fn read_at_most(path: &Path, max: u64) -> Option<Vec<u8>> {
    let mut text = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(max)
        .read_to_end(&mut text)
        .ok()?;
    Some(text)
}

/// The lines of `text`, cleaned and bounded.
fn clean_lines(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take(MAX_LINES)
        .map(|line| {
            line.iter()
                .take(MAX_LINE)
                .map(|&b| if b < 0x20 || b == 0x7f { b'_' } else { b })
                .collect()
        })
        .collect()
}

/// The lines of `dir/name` inside the session's root; empty when it is missing.
#[must_use]
pub(crate) fn file_lines(vfs: &Vfs, dir: &[u8], name: &str) -> Vec<Vec<u8>> {
    let path = [dir.strip_suffix(b"/").unwrap_or(dir), b"/", name.as_bytes()].concat();
    let Ok(file) = vfs.open_read(&path) else {
        return Vec::new();
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Vec::new();
    }
    let mut text = Vec::new();
    let limit = (MAX_LINES * (MAX_LINE + 2)) as u64;
    if file.take(limit).read_to_end(&mut text).is_err() {
        return Vec::new();
    }
    let text = text.strip_suffix(b"\n").unwrap_or(&text);
    clean_lines(text)
}

/// One fortune from a `%`-separated fortune file, chosen with `pick` (an index into
/// the fortunes); `None` when the file is missing or empty.
#[must_use]
pub(crate) fn fortune(path: &Path, pick: u32) -> Option<Vec<Vec<u8>>> {
    let text = read_at_most(path, MAX_FORTUNES)?;
    let mut fortunes: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\r").unwrap_or(line);
        if bare == b"%" {
            fortunes.push(std::mem::take(&mut current));
        } else {
            current.extend_from_slice(bare);
            current.push(b'\n');
        }
    }
    fortunes.push(current);
    fortunes.retain(|f| f.iter().any(|b| !b.is_ascii_whitespace()));
    let chosen = fortunes.get(usize::try_from(pick).ok()? % fortunes.len().max(1))?;
    let end = chosen
        .iter()
        .rposition(|&b| b != b'\n')
        .map_or(0, |i| i + 1);
    Some(clean_lines(&chosen[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cleaned_and_bounded() {
        assert_eq!(
            clean_lines(b"one\r\ntwo\tthree\x1b[31m"),
            [b"one".to_vec(), b"two_three_[31m".to_vec()]
        );
        let many = vec![b'x'; 1000];
        assert_eq!(clean_lines(&many)[0].len(), MAX_LINE);
        let lines = "l\n".repeat(500);
        assert_eq!(clean_lines(lines.as_bytes()).len(), MAX_LINES);
    }

    #[test]
    fn fortunes_are_split_on_percent_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fortunes");
        std::fs::write(&path, "one\n%\ntwo\nlines\n%\n\n%\n").unwrap();
        assert_eq!(fortune(&path, 0).unwrap(), [b"one".to_vec()]);
        assert_eq!(
            fortune(&path, 1).unwrap(),
            [b"two".to_vec(), b"lines".to_vec()]
        );
        assert_eq!(fortune(&path, 2).unwrap(), [b"one".to_vec()]);
        assert_eq!(fortune(&dir.path().join("none"), 0), None);
    }
}
