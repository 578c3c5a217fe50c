//! The master's spare scoreboard files: when a session's process ends, its record file
//! is renamed `spare-<master's pid>-<n>` instead of removed, and the next session forked
//! is told that name; it writes its own record into the file and renames it to its own
//! (`Scoreboard::create`). Files are made only while no spare is free, so there are never
//! more than the most sessions that ran at once, and the master removes its spares when
//! it stops (a new master removes those of one that is gone).
//!
//! A file is given on only when no process holds it open for writing (a write lease can
//! be taken): the ended session ran as the account and may have left a process behind
//! with its record's descriptor, which must not reach the next session's record. Such a
//! file, or one where leases are not available, is removed as Pure-FTPd removes them.
//! The lease is taken on the spare's name, which readers of the scoreboard never open
//! (an open would break the lease with SIGIO, which the master catches anyway).
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
    /// spare it was given is still free. A file that another process still holds open
    /// for writing is removed, never given on: a process the session left behind (it
    /// ran as the account) could otherwise write into the next session's record.
    pub(super) fn keep(&mut self, dir: &Path, pid: u32, given: Option<u32>) {
        let record = dir.join(scoreboard::file_name(pid));
        let n = given.unwrap_or(self.next);
        let spare = dir.join(self.name(n));
        // Renamed before the check: readers (pure-ftpwho, the -y and -C counts) open
        // only `session-*` names, and an open by anyone of a file under a lease would
        // break the lease with a signal to the master. No one but this master and,
        // once given, the next session opens a spare.
        let renamed = std::fs::rename(&record, &spare).is_ok();
        if !renamed {
            let _ = std::fs::remove_file(&record);
        }
        let exists = renamed || given.is_some();
        if exists && only_ours(&spare) {
            if given.is_none() {
                self.next += 1;
            }
            self.free.push(n);
        } else if exists {
            let _ = std::fs::remove_file(&spare);
        }
    }

    /// The master stops: its spares go.
    pub(super) fn remove_all(&mut self, dir: &Path) {
        for n in std::mem::take(&mut self.free) {
            let _ = std::fs::remove_file(dir.join(self.name(n)));
        }
    }
}

/// Whether `path` is a regular file (not a link) that no process holds open for writing.
fn only_ours(path: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits())
        .open(path)
        .is_ok_and(|file| {
            file.metadata().is_ok_and(|meta| meta.is_file()) && pureftpd_os::no_other_writer(&file)
        })
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

    #[test]
    fn a_file_still_open_for_writing_elsewhere_is_removed_not_given_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut spares = Spares::new();
        let record = dir.path().join(scoreboard::file_name(7));
        // What a process the session left behind would hold.
        let left_behind = std::fs::File::create(&record).unwrap();
        spares.keep(dir.path(), 7, None);
        assert_eq!(spares.take(), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "removed");
        // A spare given to a session that never made it its own, held open elsewhere.
        std::fs::write(&record, b"x").unwrap();
        spares.keep(dir.path(), 7, None);
        let n = spares.take().unwrap();
        let holder = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join(spares.name(n)))
            .unwrap();
        spares.keep(dir.path(), 8, Some(n));
        assert_eq!(spares.take(), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "removed");
        drop((left_behind, holder));
    }
}
