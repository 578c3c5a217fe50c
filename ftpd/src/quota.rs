//! Quotas (spec §7): at most so many files and bytes in an account's tree, counted in
//! `/.ftpquota` at the root of its jail (`<files> <bytes>\n`, mode 0600), the file
//! `pure-quotacheck` writes. Directories count as files.
//!
//! As in Pure-FTPd the counters are adjusted by each operation (uploads, deletions,
//! directories, renames over a file), under an fcntl write lock, so concurrent
//! sessions of one account keep them exact; unlike Pure-FTPd, a counter file that is
//! missing or unreadable is rebuilt from the tree rather than taken as zero.

use std::fs::File;
use std::io;

use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;
use pureftpd_quota::Entry;
pub use pureftpd_quota::{FILE_NAME, Limits, Usage};
use pureftpd_quota::{locked, read_usage, write_usage};

use crate::vfs::Vfs;

/// Pure-FTPd's two status lines.
#[must_use]
pub fn status_lines(usage: Usage, limits: Limits) -> Vec<String> {
    let percent = |used: u64, max: u64| used.saturating_mul(100).checked_div(max).unwrap_or(0);
    let mut lines = Vec::with_capacity(2);
    let max_files = limits.files.unwrap_or(0);
    lines.push(format!(
        "{} files used ({}%) - authorized: {} files",
        usage.files,
        percent(usage.files, max_files),
        max_files
    ));
    let max_size = limits.size.unwrap_or(0);
    lines.push(format!(
        "{} Kbytes used ({}%) - authorized: {} Kb",
        usage.size / 1024,
        percent(usage.size, max_size),
        max_size / 1024
    ));
    lines
}

/// A session's quota: its limits and its jail's counter file.
#[derive(Debug)]
pub struct Quota {
    /// The limits.
    pub limits: Limits,
    file: File,
}

impl Quota {
    /// Opens (creating it, mode 0600) the counter file at the root of `vfs`; a missing,
    /// empty or malformed one is rebuilt by counting the tree.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(vfs: &Vfs, limits: Limits) -> io::Result<Self> {
        let fd = openat(
            vfs.root_fd(),
            FILE_NAME,
            OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(io::Error::from)?;
        let quota = Self {
            limits,
            file: File::from(fd),
        };
        locked(&quota.file, |file| {
            if read_usage(file)?.is_none() {
                write_usage(file, count_tree(vfs))?;
            }
            Ok(())
        })?;
        Ok(quota)
    }

    /// The usage now (other sessions of the account may have changed it).
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn usage(&self) -> io::Result<Usage> {
        locked(&self.file, |file| Ok(read_usage(file)?.unwrap_or_default()))
    }

    /// Adds `files` and `bytes` (negative to remove) to the counters; returns the new
    /// usage. A counter that would go below zero means the file no longer matches the
    /// tree (edited by hand, an old bug, a crash): the tree is counted again instead,
    /// rather than clamping at zero and handing out room that is not there.
    ///
    /// # Errors
    /// The file cannot be read or written.
    pub fn adjust(&self, vfs: &Vfs, files: i64, bytes: i64) -> io::Result<Usage> {
        locked(&self.file, |file| {
            let old = read_usage(file)?.unwrap_or_default();
            let new = match (
                old.files.checked_add_signed(files),
                old.size.checked_add_signed(bytes),
            ) {
                (Some(files), Some(size)) => Usage { files, size },
                _ => count_tree(vfs),
            };
            if new != old {
                write_usage(file, new)?;
            }
            Ok(new)
        })
    }

    /// Before an upload into a file the counters hold `counted` bytes of (0 for a new
    /// one, `creates`): the bytes the upload may write, `Some(None)` for no size limit,
    /// or `None` when the quota is used up and the upload is refused. Replacing a file
    /// (`replaces_whole`) frees its bytes; appending or writing inside it keeps them.
    /// FTP's and SFTP's uploads share this rule.
    #[must_use]
    pub fn room_for_upload(
        &self,
        creates: bool,
        counted: u64,
        replaces_whole: bool,
    ) -> Option<Option<u64>> {
        let usage = self.usage().unwrap_or_default();
        let limit = usage.room(self.limits).map(|room| {
            if replaces_whole {
                room.saturating_add(counted)
            } else {
                room
            }
        });
        let refused = (creates && usage.files_full(self.limits)) || limit == Some(0);
        (!refused).then_some(limit)
    }

    /// After an upload that took a file from `counted` to `size` bytes (a new file when
    /// `creates`): counts it, under the lock, and returns the new usage; or, when that
    /// goes over the quota (another session of the account got there first), takes the
    /// count back and returns `None`: the caller undoes the upload.
    #[must_use]
    pub fn count_upload(&self, vfs: &Vfs, creates: bool, counted: u64, size: u64) -> Option<Usage> {
        let files = i64::from(creates);
        let bytes =
            i64::try_from(size).unwrap_or(i64::MAX) - i64::try_from(counted).unwrap_or(i64::MAX);
        let usage = self.adjust(vfs, files, bytes).unwrap_or_default();
        if usage.over(self.limits) {
            let _ = self.adjust(vfs, -files, -bytes);
            return None;
        }
        Some(usage)
    }

    /// Status lines for the usage now.
    #[must_use]
    pub fn status(&self) -> Vec<String> {
        self.usage()
            .map(|usage| status_lines(usage, self.limits))
            .unwrap_or_default()
    }
}

/// Counts the tree inside the session's root, as pure-quotacheck does (see
/// [`pureftpd_quota::count_tree`]).
#[must_use]
pub fn count_tree(vfs: &Vfs) -> Usage {
    let stat = |path: &[u8]| {
        let st = vfs.stat(path).ok()?;
        Some(match st.st_mode & 0o170_000 {
            0o040_000 => Entry::Directory {
                dev: st.st_dev,
                ino: st.st_ino,
            },
            0o100_000 => Entry::File(u64::try_from(st.st_size).unwrap_or(0)),
            _ => Entry::Other,
        })
    };
    let list = |dir: &[u8]| vfs.read_dir(dir).ok().map(|(_, names)| names);
    pureftpd_quota::count_tree(b"/", stat, list).unwrap_or_default()
}

/// Names refused while quotas apply: anything containing `.ftpquota`, anything
/// starting with `.pureftpd-` (as Pure-FTPd).
#[must_use]
pub fn is_reserved(path: &[u8]) -> bool {
    path.windows(FILE_NAME.len())
        .any(|w| w == FILE_NAME.as_bytes())
        || path
            .split(|&b| b == b'/')
            .any(|component| component.starts_with(b".pureftpd-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_as_pure_ftpd_words_them() {
        let limits = Limits {
            files: Some(3),
            size: Some(1 << 20),
        };
        let usage = Usage {
            files: 1,
            size: 500_000,
        };
        assert_eq!(
            status_lines(usage, limits),
            [
                "1 files used (33%) - authorized: 3 files",
                "488 Kbytes used (47%) - authorized: 1024 Kb"
            ]
        );
        assert!(!usage.files_full(limits));
        assert_eq!(usage.room(limits), Some((1 << 20) - 500_000));
    }

    #[test]
    fn reserved_names() {
        assert!(is_reserved(b"/.ftpquota"));
        assert!(is_reserved(b"/a/x.ftpquota.bak"));
        assert!(is_reserved(b"/.pureftpd-upload.1"));
        assert!(!is_reserved(b"/pureftpd-notes"));
    }

    #[test]
    fn a_missing_or_broken_counter_is_rebuilt_from_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 100]).unwrap();
        std::fs::write(dir.path().join("sub/b"), [0u8; 20]).unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "garbage").unwrap();
        let vfs = Vfs::new(dir.path(), b"/").unwrap();
        let limits = Limits {
            files: Some(10),
            size: None,
        };
        let quota = Quota::open(&vfs, limits).unwrap();
        assert_eq!(
            quota.usage().unwrap(),
            Usage {
                files: 3,
                size: 120
            }
        );
        assert_eq!(
            quota.adjust(&vfs, -1, -100).unwrap(),
            Usage { files: 2, size: 20 }
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap(),
            "2 20\n"
        );
        // Below zero: the tree is counted again (3 entries, 120 bytes).
        assert_eq!(
            quota.adjust(&vfs, 0, -1_000_000).unwrap(),
            Usage {
                files: 3,
                size: 120
            }
        );
    }
}
