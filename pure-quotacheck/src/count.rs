//! The count, as Pure-FTPd's pure-quotacheck makes it: every directory it can enter
//! below the start is one file, every regular file one file plus its size (symbolic
//! links followed), `.ftpquota` files skipped, each directory counted and walked once
//! however many links lead to it.

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use pureftpd_quota::{FILE_NAME, Usage};

/// Counts the tree at `root`.
///
/// # Errors
/// The root itself cannot be read.
pub(crate) fn tree(root: &Path) -> io::Result<Usage> {
    let mut usage = Usage::default();
    let mut seen = HashSet::new();
    let top = std::fs::metadata(root)?;
    seen.insert((top.dev(), top.ino()));
    let mut pending: Vec<PathBuf> = Vec::new();
    walk(root, &mut usage, &mut pending, &mut seen, true)?;
    while let Some(dir) = pending.pop() {
        let _ = walk(&dir, &mut usage, &mut pending, &mut seen, false);
    }
    Ok(usage)
}

fn walk(
    dir: &Path,
    usage: &mut Usage,
    pending: &mut Vec<PathBuf>,
    seen: &mut HashSet<(u64, u64)>,
    top: bool,
) -> io::Result<()> {
    let entries = std::fs::read_dir(dir)?;
    if !top {
        usage.files += 1;
    }
    for entry in entries.flatten() {
        if entry.file_name() == FILE_NAME {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if seen.insert((meta.dev(), meta.ino())) {
                pending.push(path);
            }
        } else if meta.is_file() {
            usage.files += 1;
            usage.size += meta.len();
        }
    }
    Ok(())
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
