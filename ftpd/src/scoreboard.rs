//! The scoreboard: one file per session, `session-<pid>`, in the scoreboard directory
//! (`/var/run/pure-ftpd` as root, else `$XDG_RUNTIME_DIR/pure-ftpd` or
//! `/tmp/pure-ftpd-<uid>`; `PURE_FTPD_SCOREBOARD` overrides it), read by `pure-ftpwho`.
//!
//! # Format (version 1)
//!
//! A file of exactly [`RECORD_LEN`] bytes, mode 0600: UTF-8 text lines `key=value`,
//! then NUL padding. The first line is `pureftpd-rs-scoreboard 1`. Keys, in order:
//!
//! | key | value |
//! |---|---|
//! | `pid` | the session's process id |
//! | `state` | `IDLE`, `DOWNLOAD` or `UPLOAD` |
//! | `account` | the login (`?` before login, `ftp` for anonymous), escaped |
//! | `peer`, `peer_port` | the client's address and port |
//! | `local`, `local_port` | the server address and port it connected to |
//! | `connected` | session start, seconds since 1970 |
//! | `transfer_started` | start of the current transfer (or of the session) |
//! | `file` | the file being transferred, as the client named it, escaped |
//! | `restart` | REST offset of the transfer |
//! | `size` | file size (downloads; 0 for uploads) |
//! | `current` | bytes done so far, counting from the start of the file |
//! | `encrypted` | `1` if the control connection uses TLS |
//!
//! Escaping: bytes outside printable ASCII, `%` and `=` are written `%XX`, so no value
//! can forge a line. The writer takes an exclusive lock (`flock`) for each update and
//! rewrites the whole record with one `pwrite`; readers take a shared lock. The listener
//! removes the file when the session's process ends.

use std::fs::{File, OpenOptions};
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Size of a record.
pub const RECORD_LEN: usize = 4096;
/// First line of a record.
pub const MAGIC: &str = "pureftpd-rs-scoreboard 1";
/// Shortest interval between two progress updates.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// The directory scoreboard files live in.
#[must_use]
pub fn directory() -> PathBuf {
    if let Some(dir) = std::env::var_os("PURE_FTPD_SCOREBOARD").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/run/pure-ftpd");
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(runtime) => Path::new(&runtime).join("pure-ftpd"),
        None => PathBuf::from(format!("/tmp/pure-ftpd-{}", nix::unistd::geteuid())),
    }
}

/// Creates the directory (mode 0700) if needed.
///
/// # Errors
/// It cannot be created, or is not a directory owned by us.
pub fn prepare_directory(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
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
    Ok(())
}

/// The file name of a session's record.
#[must_use]
pub fn file_name(pid: u32) -> String {
    format!("session-{pid}")
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
    pid: u32,
    state: &'static str,
    account: Vec<u8>,
    peer: SocketAddr,
    local: SocketAddr,
    connected: u64,
    transfer_started: u64,
    name: Vec<u8>,
    restart: u64,
    size: u64,
    current: u64,
    encrypted: bool,
    last_progress: Instant,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Scoreboard {
    /// Creates the record of the current process.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(dir: &Path, peer: SocketAddr, local: SocketAddr) -> io::Result<Self> {
        let pid = std::process::id();
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(dir.join(file_name(pid)))?;
        let started = now();
        let mut board = Self {
            file,
            pid,
            state: "IDLE",
            account: b"?".to_vec(),
            peer,
            local,
            connected: started,
            transfer_started: started,
            name: Vec::new(),
            restart: 0,
            size: 0,
            current: 0,
            encrypted: false,
            last_progress: Instant::now(),
        };
        board.write();
        Ok(board)
    }

    /// After login.
    pub fn set_account(&mut self, account: &[u8]) {
        self.account = account.to_vec();
        self.write();
    }

    /// The control connection switched to TLS or back.
    pub fn set_encrypted(&mut self, encrypted: bool) {
        self.encrypted = encrypted;
        self.write();
    }

    /// A transfer starts or ends.
    pub fn set_activity(&mut self, activity: Activity<'_>) {
        match activity {
            Activity::Idle => {
                self.state = "IDLE";
                self.name.clear();
                (self.restart, self.size, self.current) = (0, 0, 0);
            }
            Activity::Download { file, size, offset } => {
                self.state = "DOWNLOAD";
                self.name = file.to_vec();
                (self.restart, self.size, self.current) = (offset, size, offset);
                self.transfer_started = now();
            }
            Activity::Upload { file } => {
                self.state = "UPLOAD";
                self.name = file.to_vec();
                (self.restart, self.size, self.current) = (0, 0, 0);
                self.transfer_started = now();
            }
        }
        self.write();
    }

    /// Bytes done; written at most twice a second.
    pub fn progress(&mut self, current: u64) {
        self.current = current;
        if self.last_progress.elapsed() >= PROGRESS_INTERVAL {
            self.last_progress = Instant::now();
            self.write();
        }
    }

    /// The record's text.
    #[must_use]
    pub fn render(&self) -> Vec<u8> {
        let mut text = format!("{MAGIC}\n").into_bytes();
        let mut field = |key: &str, value: &[u8]| {
            text.extend_from_slice(key.as_bytes());
            text.push(b'=');
            text.extend_from_slice(&escape(value));
            text.push(b'\n');
        };
        field("pid", self.pid.to_string().as_bytes());
        field("state", self.state.as_bytes());
        field("account", &self.account);
        field("peer", self.peer.ip().to_string().as_bytes());
        field("peer_port", self.peer.port().to_string().as_bytes());
        field("local", self.local.ip().to_string().as_bytes());
        field("local_port", self.local.port().to_string().as_bytes());
        field("connected", self.connected.to_string().as_bytes());
        field(
            "transfer_started",
            self.transfer_started.to_string().as_bytes(),
        );
        field("file", &self.name);
        field("restart", self.restart.to_string().as_bytes());
        field("size", self.size.to_string().as_bytes());
        field("current", self.current.to_string().as_bytes());
        field("encrypted", if self.encrypted { b"1" } else { b"0" });
        text.truncate(RECORD_LEN);
        text.resize(RECORD_LEN, 0);
        text
    }

    fn write(&mut self) {
        let record = self.render();
        // A scoreboard failure must never disturb the session: it is only monitoring.
        if self.file.lock().is_ok() {
            let _ = self.file.write_all_at(&record, 0);
            let _ = self.file.unlock();
        }
    }
}

/// How many other sessions (live processes) are logged in as `account`
/// (case-insensitive), for the per-user limits of `-y` and the `.pdb`.
#[must_use]
pub fn sessions_of(dir: &Path, account: &[u8], except_pid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let wanted = [&b"account="[..], &escape(account)].concat();
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("session-"))
        .filter_map(|e| read_record(&e.path()))
        .filter(|record| {
            let pid = field(record, b"pid")
                .and_then(|p| std::str::from_utf8(p).ok()?.parse::<i32>().ok());
            pid.is_some_and(|pid| u32::try_from(pid).ok() != Some(except_pid) && process_alive(pid))
        })
        .filter(|record| {
            record
                .split(|&b| b == b'\n')
                .any(|line| line.eq_ignore_ascii_case(&wanted))
        })
        .count()
}

fn read_record(path: &Path) -> Option<Vec<u8>> {
    let file = File::open(path).ok()?;
    file.lock_shared().ok()?;
    let mut record = vec![0u8; RECORD_LEN];
    let read = file.read_at(&mut record, 0).ok()?;
    record.truncate(read);
    Some(record)
}

fn field<'a>(record: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    record.split(|&b| b == b'\n').find_map(|line| {
        let (k, v) = line.split_at(line.iter().position(|&b| b == b'=')?);
        (k == key).then(|| &v[1..])
    })
}

fn process_alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// `%XX` for every byte that is not printable ASCII, and for `%` and `=`.
#[must_use]
pub fn escape(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        if b.is_ascii_graphic() && b != b'%' && b != b'=' || b == b' ' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_lines_whole() {
        assert_eq!(escape(b"a b\nc%d=e\xff"), b"a b%0Ac%25d%3De%FF");
    }

    #[test]
    fn records_have_a_fixed_size_and_the_documented_keys() {
        let dir = tempfile::tempdir().unwrap();
        let peer = "127.0.0.1:5000".parse().unwrap();
        let local = "127.0.0.1:21".parse().unwrap();
        let mut board = Scoreboard::create(dir.path(), peer, local).unwrap();
        board.set_account(b"alice");
        board.set_activity(Activity::Download {
            file: b"big file.bin",
            size: 100,
            offset: 10,
        });
        let bytes = std::fs::read(dir.path().join(file_name(std::process::id()))).unwrap();
        assert_eq!(bytes.len(), RECORD_LEN);
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end_matches('\0');
        assert!(text.starts_with("pureftpd-rs-scoreboard 1\npid="));
        for line in [
            "state=DOWNLOAD",
            "account=alice",
            "peer=127.0.0.1",
            "local_port=21",
            "file=big file.bin",
            "restart=10",
            "size=100",
            "current=10",
            "encrypted=0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
