//! The quota counter file, `.ftpquota`, shared by the server and `pure-quotacheck`
//! (spec §7): `<files> <bytes>\n` in ASCII, mode 0600, at the root of an account's
//! jail, read and rewritten under an fcntl write lock on the whole file (the lock
//! Pure-FTPd's tools take, so ours and theirs can share a tree).

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsFd;

use nix::fcntl::{FcntlArg, fcntl};

/// The counter file's name.
pub const FILE_NAME: &str = ".ftpquota";

/// What an account may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Files and directories.
    pub files: Option<u64>,
    /// Bytes.
    pub size: Option<u64>,
}

/// What an account holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Files and directories.
    pub files: u64,
    /// Bytes.
    pub size: u64,
}

impl Usage {
    /// Reads `<files> <bytes>` (a trailing newline allowed); `None` for anything else.
    #[must_use]
    pub fn parse(text: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(text).ok()?;
        let (files, size) = text.trim_end_matches('\n').split_once(' ')?;
        Some(Self {
            files: files.parse().ok()?,
            size: size.parse().ok()?,
        })
    }

    /// `<files> <bytes>\n`.
    #[must_use]
    pub fn render(self) -> String {
        format!("{} {}\n", self.files, self.size)
    }

    /// Whether one more file would be over the limit.
    #[must_use]
    pub fn files_full(self, limits: Limits) -> bool {
        limits.files.is_some_and(|max| self.files >= max)
    }

    /// Bytes that may still be stored (`None`: no size limit).
    #[must_use]
    pub fn room(self, limits: Limits) -> Option<u64> {
        limits.size.map(|max| max.saturating_sub(self.size))
    }

    /// Whether the usage is beyond a limit.
    #[must_use]
    pub fn over(self, limits: Limits) -> bool {
        limits.files.is_some_and(|max| self.files > max)
            || limits.size.is_some_and(|max| self.size > max)
    }
}

/// Takes (`F_WRLCK`, waiting) or releases (`F_UNLCK`) an fcntl lock on the whole file.
///
/// # Errors
/// The system refused the lock.
pub fn lock(file: &File, kind: i32) -> io::Result<()> {
    let request = nix::libc::flock {
        l_type: i16::try_from(kind).unwrap_or(0),
        l_whence: i16::try_from(nix::libc::SEEK_SET).unwrap_or(0),
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    loop {
        let arg = if kind == nix::libc::F_UNLCK {
            FcntlArg::F_SETLK(&request)
        } else {
            FcntlArg::F_SETLKW(&request)
        };
        match fcntl(file.as_fd(), arg) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs `work` on `file` under its write lock (other sessions and pure-quotacheck wait).
///
/// # Errors
/// The lock cannot be taken, or `work`'s error.
pub fn locked<T>(file: &File, work: impl FnOnce(&File) -> io::Result<T>) -> io::Result<T> {
    lock(file, nix::libc::F_WRLCK)?;
    let result = work(file);
    let _ = lock(file, nix::libc::F_UNLCK);
    result
}

/// The usage the file holds; `None` when it is empty or malformed.
///
/// # Errors
/// The file cannot be read.
pub fn read_usage(mut file: &File) -> io::Result<Option<Usage>> {
    let mut text = Vec::with_capacity(64);
    file.rewind()?;
    file.take(64).read_to_end(&mut text)?;
    Ok(Usage::parse(&text))
}

/// Replaces the file's content with `usage`.
///
/// # Errors
/// The file cannot be written.
pub fn write_usage(mut file: &File, usage: Usage) -> io::Result<()> {
    // Written over the old text, then cut to length: a reader that skips the lock
    // never finds the file empty.
    let text = usage.render();
    file.rewind()?;
    file.write_all(text.as_bytes())?;
    file.set_len(text.len() as u64)
}

/// What the count needs to know of a path (symbolic links followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A directory, identified by device and inode.
    Directory {
        /// Device.
        dev: u64,
        /// Inode.
        ino: u64,
    },
    /// A regular file and its size.
    File(u64),
    /// Anything else (FIFO, device, socket): not counted.
    Other,
}

/// Counts a tree as Pure-FTPd's pure-quotacheck does: every directory below `root`
/// that can be listed is one file, every regular file one file plus its size,
/// `.ftpquota` files skipped, each directory counted and walked once however many links
/// lead to it. `stat` describes a path, `list` names a directory's entries (without `.`
/// and `..`); both say `None` for what cannot be read. `None` when `root` itself cannot
/// be listed.
pub fn count_tree(
    root: &[u8],
    stat: impl Fn(&[u8]) -> Option<Entry>,
    list: impl Fn(&[u8]) -> Option<Vec<Vec<u8>>>,
) -> Option<Usage> {
    let mut usage = Usage::default();
    let mut seen = std::collections::HashSet::new();
    if let Some(Entry::Directory { dev, ino }) = stat(root) {
        seen.insert((dev, ino));
    }
    let mut pending = vec![root.to_vec()];
    let mut first = true;
    while let Some(dir) = pending.pop() {
        let names = match list(&dir) {
            Some(names) => names,
            None if first => return None,
            None => continue,
        };
        if !first {
            usage.files += 1;
        }
        first = false;
        for name in names {
            if name == b"." || name == b".." || name == FILE_NAME.as_bytes() {
                continue;
            }
            let mut path = dir.clone();
            if !path.ends_with(b"/") {
                path.push(b'/');
            }
            path.extend_from_slice(&name);
            match stat(&path) {
                Some(Entry::Directory { dev, ino }) if seen.insert((dev, ino)) => {
                    pending.push(path);
                }
                Some(Entry::File(size)) => {
                    usage.files += 1;
                    usage.size += size;
                }
                _ => {}
            }
        }
    }
    Some(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_file_format() {
        assert_eq!(
            Usage::parse(b"3 500011\n"),
            Some(Usage {
                files: 3,
                size: 500_011
            })
        );
        assert_eq!(Usage::parse(b"3"), None);
        assert_eq!(Usage::parse(b""), None);
        assert_eq!(Usage::parse(b"-1 5\n"), None);
        assert_eq!(Usage { files: 1, size: 7 }.render(), "1 7\n");
    }
}
