//! The session's own scoreboard record (format and reading: `pureftpd_scoreboard`),
//! kept current while it runs, for `pure-ftpwho` and the per-user session limits.
//!
//! When the session's process ends, the listener keeps its file as a spare for the next
//! session, which writes its record into it and renames it to its own name (where Pure-FTPd
//! removes the file; why, and when a file is not kept: `listener/spares.rs`).

use std::fs::{File, OpenOptions};
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use pureftpd_scoreboard::{
    RECORD_LEN, Record, State, directory, escape, file_name, spare_master, spare_name,
};

/// Shortest interval between two progress updates.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// Creates the directory (mode 0700) if needed, and checks that it is ours.
///
/// # Errors
/// It cannot be created, or is not a private directory of ours.
pub fn prepare_directory(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    match std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() || meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(io::Error::other(format!(
            "{} is not a directory of ours",
            dir.display()
        )));
    }
    if meta.mode() & 0o777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    pureftpd_scoreboard::check_directory(dir)
}

/// Removes the records whose process is gone, and the spares of masters that are
/// gone (or of an earlier master whose pid this one now has).
pub fn remove_stale(dir: &Path) {
    if let Ok(scan) = pureftpd_scoreboard::read_all(dir) {
        for path in scan.stale {
            let _ = std::fs::remove_file(path);
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(master) = name.to_str().and_then(spare_master) else {
            continue;
        };
        if master == std::process::id() || !pureftpd_scoreboard::alive(master) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// What a session is doing.
#[derive(Debug, Clone, Copy)]
pub enum Activity<'a> {
    /// Between transfers.
    Idle,
    /// Sending `file` (`size` bytes) from `offset`.
    Download {
        file: &'a [u8],
        size: u64,
        offset: u64,
    },
    /// Receiving `file`.
    Upload { file: &'a [u8] },
}

/// A session's own record.
#[derive(Debug)]
pub struct Scoreboard {
    file: File,
    record: Record,
    last_progress: Instant,
    /// Progress not yet written (it came sooner than the interval allows).
    pending: bool,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Scoreboard {
    /// Creates the record of the current process, in the spare file `spare` when the
    /// master gave one (and it is still a record-sized file of ours), else in a new file.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(
        dir: &Path,
        peer: SocketAddr,
        local: SocketAddr,
        spare: Option<&str>,
    ) -> io::Result<Self> {
        let pid = std::process::id();
        let record = Record::new(pid, peer, local, now());
        let bytes = record.render();
        let name = file_name(pid);
        let file = match spare.and_then(|spare| take_spare(dir, spare, &name, &bytes).ok()) {
            Some(file) => file,
            None => {
                let file = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
                    .open(dir.join(&name))?;
                write_locked(&file, &bytes);
                file
            }
        };
        Ok(Self {
            file,
            record,
            last_progress: Instant::now(),
            pending: false,
        })
    }

    /// After login.
    pub fn set_account(&mut self, account: &[u8]) {
        self.record.account = account.to_vec();
        self.write();
    }

    /// The session speaks SFTP (`pure-sftpd`), encrypted by SSH.
    pub fn set_sftp(&mut self) {
        self.record.sftp = true;
        self.record.encrypted = true;
        self.write();
    }

    /// The control connection switched to TLS or back.
    pub fn set_encrypted(&mut self, encrypted: bool) {
        self.record.encrypted = encrypted;
        self.write();
    }

    /// A transfer starts or ends.
    pub fn set_activity(&mut self, activity: Activity<'_>) {
        let record = &mut self.record;
        match activity {
            Activity::Idle => {
                record.state = State::Idle;
                record.file.clear();
                (record.restart, record.size, record.current) = (0, 0, 0);
            }
            Activity::Download { file, size, offset } => {
                record.state = State::Download;
                record.file = file.to_vec();
                (record.restart, record.size, record.current) = (offset, size, offset);
                record.transfer_started = now();
            }
            Activity::Upload { file } => {
                record.state = State::Upload;
                record.file = file.to_vec();
                (record.restart, record.size, record.current) = (0, 0, 0);
                record.transfer_started = now();
            }
        }
        self.last_progress = Instant::now();
        self.pending = false;
        self.write();
    }

    /// Bytes done; written at most twice a second (see [`Scoreboard::flush_due_in`]).
    pub fn progress(&mut self, current: u64) {
        self.record.current = current;
        self.pending = true;
        if self.last_progress.elapsed() >= PROGRESS_INTERVAL {
            self.flush();
        }
    }

    /// When progress is waiting to be written: how soon it may be. A session that
    /// waits for data calls [`Scoreboard::flush`] then, so that a transfer that
    /// stalls after a burst shows where it stands.
    #[must_use]
    pub fn flush_due_in(&self) -> Option<Duration> {
        self.pending
            .then(|| PROGRESS_INTERVAL.saturating_sub(self.last_progress.elapsed()))
    }

    /// Writes pending progress.
    pub fn flush(&mut self) {
        self.last_progress = Instant::now();
        self.pending = false;
        self.write();
    }

    /// The record as it stands.
    #[must_use]
    pub fn record(&self) -> &Record {
        &self.record
    }

    fn write(&mut self) {
        write_locked(&self.file, &self.record.render());
    }
}

/// Writes a whole record at the start of its file, under the lock readers take.
fn write_locked(file: &File, bytes: &[u8]) {
    // A scoreboard failure must never disturb the session: it is only monitoring.
    if file.lock().is_ok() {
        let _ = file.write_all_at(bytes, 0);
        let _ = file.unlock();
    }
}

/// The spare `spare` with this session's record written into it, renamed to `name`:
/// written first, so that no reader ever finds the ended session's record under a live
/// session's name. Only a regular file of this user's, of a record's size, is taken;
/// any other is left to the master, which made it.
fn take_spare(dir: &Path, spare: &str, name: &str, bytes: &[u8]) -> io::Result<File> {
    use std::os::unix::fs::MetadataExt;
    let path = dir.join(spare);
    let file = OpenOptions::new()
        .write(true)
        .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits())
        .open(&path)?;
    let meta = file.metadata()?;
    if !meta.is_file()
        || meta.uid() != nix::unistd::geteuid().as_raw()
        || meta.len() != RECORD_LEN as u64
    {
        return Err(io::Error::other("not a spare record file"));
    }
    file.lock()?;
    let written = file.write_all_at(bytes, 0);
    let _ = file.unlock();
    written?;
    std::fs::rename(&path, dir.join(name))?;
    Ok(file)
}

/// How many other sessions (live processes) are logged in as `account`
/// (case-insensitive), for the per-user limits of `-y` and the `.pdb`.
#[must_use]
pub fn sessions_of(dir: &Path, account: &[u8], except_pid: u32) -> usize {
    let Ok(scan) = pureftpd_scoreboard::read_all(dir) else {
        return 0;
    };
    scan.records
        .iter()
        .filter(|r| r.pid != except_pid && r.account.eq_ignore_ascii_case(account))
        .count()
}

/// How many sessions other than `except_pid` serve a client at `ip`.
#[must_use]
pub fn sessions_from(dir: &Path, ip: std::net::IpAddr, except_pid: u32) -> usize {
    let Ok(scan) = pureftpd_scoreboard::read_all(dir) else {
        return 0;
    };
    scan.records
        .iter()
        .filter(|r| r.pid != except_pid && crate::session::canonical_ip(r.peer) == ip)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_follows_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let peer = "127.0.0.1:5000".parse().unwrap();
        let local = "127.0.0.1:21".parse().unwrap();
        let mut board = Scoreboard::create(dir.path(), peer, local, None).unwrap();
        board.set_account(b"alice");
        board.set_activity(Activity::Download {
            file: b"big file.bin",
            size: 100,
            offset: 10,
        });
        let path = dir.path().join(file_name(std::process::id()));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), RECORD_LEN as u64);
        let record = pureftpd_scoreboard::read(&path).unwrap();
        assert_eq!(&record, board.record());
        assert_eq!(record.state, State::Download);
        assert_eq!((record.restart, record.size, record.current), (10, 100, 10));
        assert_eq!(sessions_of(dir.path(), b"ALICE", 0), 1);
        assert_eq!(sessions_of(dir.path(), b"alice", std::process::id()), 0);
    }

    #[test]
    fn a_spare_becomes_the_sessions_record_and_a_foreign_file_is_not_taken() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let peer = "127.0.0.1:5000".parse().unwrap();
        let local = "127.0.0.1:21".parse().unwrap();
        // An ended session's record, kept as a spare.
        let spare = spare_name(1, 0);
        let mut ended = Record::new(1, peer, local, 0);
        ended.account = b"mallory".to_vec();
        std::fs::write(dir.path().join(&spare), ended.render()).unwrap();
        let inode = std::fs::metadata(dir.path().join(&spare)).unwrap().ino();
        let board = Scoreboard::create(dir.path(), peer, local, Some(&spare)).unwrap();
        let path = dir.path().join(file_name(std::process::id()));
        assert_eq!(
            std::fs::metadata(&path).unwrap().ino(),
            inode,
            "the same file"
        );
        assert!(!dir.path().join(&spare).exists());
        let record = pureftpd_scoreboard::read(&path).unwrap();
        assert_eq!(&record, board.record());
        assert_ne!(
            record.account, b"mallory",
            "nothing of the ended session is left"
        );
        drop(board);
        std::fs::remove_file(&path).unwrap();
        // Not a record-sized regular file: a new record is made, the spare left alone.
        let target = dir.path().join("target");
        std::fs::write(&target, vec![b'x'; RECORD_LEN]).unwrap();
        std::fs::write(dir.path().join("spare-1-1"), b"short").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("spare-1-2")).unwrap();
        for name in ["spare-1-1", "spare-1-2"] {
            let board = Scoreboard::create(dir.path(), peer, local, Some(name)).unwrap();
            assert!(std::fs::symlink_metadata(dir.path().join(name)).is_ok());
            assert_eq!(&pureftpd_scoreboard::read(&path).unwrap(), board.record());
            std::fs::remove_file(&path).unwrap();
        }
        assert_eq!(
            std::fs::read(&target).unwrap(),
            vec![b'x'; RECORD_LEN],
            "not written through a link"
        );
    }
}
