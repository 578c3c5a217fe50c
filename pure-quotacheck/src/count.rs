//! The count, as Pure-FTPd's pure-quotacheck makes it: every directory it can enter
//! below the start is one file, every regular file one file plus its size (symbolic
//! links followed), `.ftpquota` files skipped, each directory counted and walked once
//! however many links lead to it.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use pureftpd_quota::{Entry, Usage};

/// Counts the tree at `root` (see [`pureftpd_quota::count_tree`]).
///
/// # Errors
/// The root itself cannot be read.
pub(crate) fn tree(root: &Path) -> io::Result<Usage> {
    let path = |bytes: &[u8]| Path::new(OsStr::from_bytes(bytes)).to_path_buf();
    let stat = |bytes: &[u8]| {
        let meta = std::fs::metadata(path(bytes)).ok()?;
        Some(if meta.is_dir() {
            Entry::Directory {
                dev: meta.dev(),
                ino: meta.ino(),
            }
        } else if meta.is_file() {
            Entry::File(meta.len())
        } else {
            Entry::Other
        })
    };
    let list = |bytes: &[u8]| {
        let entries = std::fs::read_dir(path(bytes)).ok()?;
        Some(
            entries
                .flatten()
                .map(|e| e.file_name().as_bytes().to_vec())
                .collect(),
        )
    };
    pureftpd_quota::count_tree(root.as_os_str().as_bytes(), stat, list)
        .ok_or_else(|| io::Error::other("the directory cannot be listed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_as_pure_quotacheck() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub/deep")).unwrap();
        std::fs::write(root.join("a"), "hello\n").unwrap();
        std::fs::write(root.join("sub/.ftpquota"), "x\n").unwrap();
        std::fs::write(root.join("sub/deep/b"), [0u8; 1000]).unwrap();
        std::os::unix::fs::symlink("sub/deep/b", root.join("link")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("loop")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", root.join("dangling")).unwrap();
        let usage = tree(root).unwrap();
        assert_eq!(
            usage,
            Usage {
                files: 5,
                size: 2006
            }
        );
    }
}
