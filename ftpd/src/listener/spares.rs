//! The master's spare scoreboard files: when a session's process ends, its record file
//! is renamed `spare-<master's pid>-<n>` instead of removed, and the next session forked
//! is told that name; it writes its own record into the file and renames it to its own
//! (`Scoreboard::create`). Files are made only while no spare is free, so there are never
//! more than the most sessions that ran at once, and the master removes its spares when
//! it stops (a new master removes those of one that is gone).
//!
//! Why: Pure-FTPd creates a scoreboard file per session and removes it at the end. On a
//! scoreboard directory on disk (ext4), that is an inode and a block allocated and freed
//! per session, and ext4 skips the inodes freed in the last seconds when it allocates,
//! so a burst of logins spent about a third of its CPU there; a rename costs little.

use std::path::Path;

use crate::scoreboard;

/// The spares not given to a session, by number.
pub(super) struct Spares {
    master: u32,
    free: Vec<u32>,
    /// The next number for a new spare.
    next: u32,
}

impl Spares {
    pub(super) fn new() -> Self {
        Self {
            master: std::process::id(),
            free: Vec::new(),
            next: 0,
        }
    }

    /// The file name of spare `n`.
    pub(super) fn name(&self, n: u32) -> String {
        scoreboard::spare_name(self.master, n)
    }

    /// A free spare for the session about to be forked, if any.
    pub(super) fn take(&mut self) -> Option<u32> {
        self.free.pop()
    }

    /// The fork failed: `n` was not used.
    pub(super) fn give_back(&mut self, n: u32) {
        self.free.push(n);
    }

    /// Session `pid` has ended; `given` is the spare it was given at its fork. Its
    /// record becomes a spare; when it has none (it ended before it made one), the
    /// spare it was given is still free.
    pub(super) fn keep(&mut self, dir: &Path, pid: u32, given: Option<u32>) {
        let n = given.unwrap_or_else(|| {
            self.next += 1;
            self.next - 1
        });
        let spare = dir.join(self.name(n));
        let kept = std::fs::rename(dir.join(scoreboard::file_name(pid)), &spare).is_ok()
            || (given.is_some()
                && std::fs::symlink_metadata(&spare).is_ok_and(|meta| meta.is_file()));
        if kept {
            self.free.push(n);
        }
    }

    /// The master stops: its spares go.
    pub(super) fn remove_all(&mut self, dir: &Path) {
        for n in std::mem::take(&mut self.free) {
            let _ = std::fs::remove_file(dir.join(self.name(n)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ended_sessions_file_is_given_to_the_next_and_removed_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut spares = Spares::new();
        assert_eq!(spares.take(), None, "none before a session ended");
        std::fs::write(dir.path().join(scoreboard::file_name(7)), b"x").unwrap();
        spares.keep(dir.path(), 7, None);
        assert!(!dir.path().join(scoreboard::file_name(7)).exists());
        let n = spares.take().expect("a spare");
        assert!(dir.path().join(spares.name(n)).exists());
        assert_eq!(spares.take(), None, "given once");
        // The session ended before it made the spare its own: the spare is free again.
        spares.keep(dir.path(), 8, Some(n));
        assert_eq!(spares.take(), Some(n));
        // A session that had no record and no spare adds nothing.
        spares.keep(dir.path(), 9, None);
        assert_eq!(spares.take(), None);
        spares.give_back(n);
        spares.remove_all(dir.path());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
