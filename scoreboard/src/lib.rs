//! The scoreboard: one file per session, `session-<pid>`, in the scoreboard directory
//! (`/var/run/pure-ftpd` as root, else `$XDG_RUNTIME_DIR/pure-ftpd` or
//! `$HOME/.local/state/pure-ftpd`, never a name in a shared directory such as `/tmp`
//! that another user could create first; `PURE_FTPD_SCOREBOARD` overrides it). The server writes its
//! session's [`Record`]; `pure-ftpwho` reads them all ([`read_all`]). Files named
//! `spare-*` ([`SPARE_PREFIX`]) are ended sessions' files a master keeps for the next
//! sessions, and are not records.
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
//! | `protocol` | `ftp` or `sftp` (`pure-sftpd`); absent in older records, read as `ftp` |
//!
//! Escaping: bytes outside printable ASCII, `%` and `=` are written `%XX`, so no value
//! can forge a line. The writer takes an exclusive lock (`flock`) for each update and
//! rewrites the whole record with one `pwrite`; readers take a shared lock. Unlike
//! Pure-FTPd's binary entry, the format has no platform-dependent layout and says
//! which version it is; a reader skips a record it cannot parse, with the reason.
//!
//! Reading trusts nothing it did not make: the directory must belong to us (or root)
//! and be writable by nobody else, and each record is opened without following links
//! and without blocking, and used only if it is a regular file of ours (a FIFO planted
//! there cannot hang a login).

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Size of a record file.
pub const RECORD_LEN: usize = 4096;
/// First line of a record.
pub const MAGIC: &str = "pureftpd-rs-scoreboard 1";
/// Longest account kept (Pure-FTPd keeps 128 bytes).
pub const MAX_ACCOUNT: usize = 128;
/// Longest file name kept, its tail (Pure-FTPd keeps 1024 bytes). With every byte
/// escaped to three, the record still fits in [`RECORD_LEN`].
pub const MAX_FILE: usize = 900;
/// Prefix of record file names.
pub const FILE_PREFIX: &str = "session-";
/// Prefix of spare record files: a master keeps the files of ended sessions as
/// `spare-<master's pid>-<n>` and gives them to the next ones, which write their record
/// into one and rename it to theirs. Readers skip them.
pub const SPARE_PREFIX: &str = "spare-";

/// The directory scoreboard files live in.
#[must_use]
pub fn directory() -> PathBuf {
    if let Some(dir) = std::env::var_os("PURE_FTPD_SCOREBOARD").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/run/pure-ftpd");
    }
    let private = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".local/state")));
    // Without either, the root's directory: unusable by others, so no scoreboard.
    private.map_or_else(
        || PathBuf::from("/var/run/pure-ftpd"),
        |d| d.join("pure-ftpd"),
    )
}

/// Whether `dir` may be trusted: a directory (not a link) owned by us or by root that
/// nobody else can write to.
///
/// # Errors
/// It is missing, or not such a directory (the message says why).
pub fn check_directory(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(dir)?;
    let euid = nix::unistd::geteuid().as_raw();
    if !meta.is_dir() || (meta.uid() != euid && meta.uid() != 0) || meta.mode() & 0o022 != 0 {
        return Err(std::io::Error::other(format!(
            "{} is not a private directory of this user's (owner {}, mode {:o})",
            dir.display(),
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// The file name of a session's record.
#[must_use]
pub fn file_name(pid: u32) -> String {
    format!("{FILE_PREFIX}{pid}")
}

/// The file name of spare number `n` of the master `master`.
#[must_use]
pub fn spare_name(master: u32, n: u32) -> String {
    format!("{SPARE_PREFIX}{master}-{n}")
}

/// The master's pid in a spare's file name.
#[must_use]
pub fn spare_master(name: &str) -> Option<u32> {
    name.strip_prefix(SPARE_PREFIX)?
        .split_once('-')?
        .0
        .parse()
        .ok()
}

/// What a session is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Between transfers.
    Idle,
    /// Sending a file to the client.
    Download,
    /// Receiving a file.
    Upload,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "IDLE",
            Self::Download => "DOWNLOAD",
            Self::Upload => "UPLOAD",
        }
    }

    fn parse(text: &[u8]) -> Option<Self> {
        match text {
            b"IDLE" => Some(Self::Idle),
            b"DOWNLOAD" => Some(Self::Download),
            b"UPLOAD" => Some(Self::Upload),
            _ => None,
        }
    }
}

/// One session's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The session's process.
    pub pid: u32,
    /// What it is doing.
    pub state: State,
    /// The login (`?` before login).
    pub account: Vec<u8>,
    /// The client's address.
    pub peer: IpAddr,
    /// The client's port.
    pub peer_port: u16,
    /// The server address the client connected to.
    pub local: IpAddr,
    /// The server port.
    pub local_port: u16,
    /// Session start, seconds since 1970.
    pub connected: u64,
    /// Start of the current transfer (or of the session).
    pub transfer_started: u64,
    /// The file being transferred, as the client named it.
    pub file: Vec<u8>,
    /// REST offset of the transfer.
    pub restart: u64,
    /// File size (downloads; 0 for uploads).
    pub size: u64,
    /// Bytes done so far, from the start of the file.
    pub current: u64,
    /// Whether the control connection uses TLS.
    pub encrypted: bool,
    /// An SFTP session of `pure-sftpd` (else FTP).
    pub sftp: bool,
}

impl Record {
    /// A fresh session's record (idle, not logged in).
    #[must_use]
    pub fn new(
        pid: u32,
        peer: std::net::SocketAddr,
        local: std::net::SocketAddr,
        now: u64,
    ) -> Self {
        Self {
            pid,
            state: State::Idle,
            account: b"?".to_vec(),
            peer: peer.ip(),
            peer_port: peer.port(),
            local: local.ip(),
            local_port: local.port(),
            connected: now,
            transfer_started: now,
            file: Vec::new(),
            restart: 0,
            size: 0,
            current: 0,
            encrypted: false,
            sftp: false,
        }
    }

    /// The file's bytes: the text, NUL-padded to [`RECORD_LEN`].
    #[must_use]
    pub fn render(&self) -> Vec<u8> {
        let mut text = format!("{MAGIC}\n").into_bytes();
        let mut field = |key: &str, value: &[u8]| {
            text.extend_from_slice(key.as_bytes());
            text.push(b'=');
            text.extend_from_slice(&escape(value));
            text.push(b'\n');
        };
        let number = |n: u64| n.to_string().into_bytes();
        field("pid", &number(self.pid.into()));
        field("state", self.state.as_str().as_bytes());
        field(
            "account",
            &self.account[..self.account.len().min(MAX_ACCOUNT)],
        );
        field("peer", self.peer.to_string().as_bytes());
        field("peer_port", &number(self.peer_port.into()));
        field("local", self.local.to_string().as_bytes());
        field("local_port", &number(self.local_port.into()));
        field("connected", &number(self.connected));
        field("transfer_started", &number(self.transfer_started));
        field(
            "file",
            &self.file[self.file.len().saturating_sub(MAX_FILE)..],
        );
        field("restart", &number(self.restart));
        field("size", &number(self.size));
        field("current", &number(self.current));
        field("encrypted", if self.encrypted { b"1" } else { b"0" });
        field("protocol", if self.sftp { b"sftp" } else { b"ftp" });
        text.resize(RECORD_LEN, 0);
        text
    }

    /// Reads a record's bytes.
    ///
    /// # Errors
    /// What is wrong with it (another format, a missing or malformed field).
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let mut lines = bytes[..end].split(|&b| b == b'\n');
        if lines.next() != Some(MAGIC.as_bytes()) {
            return Err("not a version 1 scoreboard record".into());
        }
        let fields: Vec<(&[u8], Vec<u8>)> = lines
            .filter(|l| !l.is_empty())
            .map(|line| {
                let eq = line
                    .iter()
                    .position(|&b| b == b'=')
                    .ok_or("a line without '='")?;
                Ok((
                    &line[..eq],
                    unescape(&line[eq + 1..]).ok_or("a bad %XX escape")?,
                ))
            })
            .collect::<Result<_, &str>>()?;
        let get = |key: &str| -> Result<&[u8], String> {
            fields
                .iter()
                .find(|(k, _)| *k == key.as_bytes())
                .map(|(_, v)| v.as_slice())
                .ok_or_else(|| format!("no {key}"))
        };
        fn parsed<T: std::str::FromStr>(value: &[u8], key: &str) -> Result<T, String> {
            std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("a bad {key}"))
        }
        let number = |key: &str| -> Result<u64, String> { parsed(get(key)?, key) };
        let port = |key: &str| -> Result<u16, String> { parsed(get(key)?, key) };
        let ip = |key: &str| -> Result<IpAddr, String> { parsed(get(key)?, key) };
        Ok(Self {
            pid: parsed(get("pid")?, "pid")?,
            state: State::parse(get("state")?).ok_or("a bad state")?,
            account: get("account")?.to_vec(),
            peer: ip("peer")?,
            peer_port: port("peer_port")?,
            local: ip("local")?,
            local_port: port("local_port")?,
            connected: number("connected")?,
            transfer_started: number("transfer_started")?,
            file: get("file")?.to_vec(),
            restart: number("restart")?,
            size: number("size")?,
            current: number("current")?,
            encrypted: get("encrypted")? == b"1",
            sftp: get("protocol").is_ok_and(|p| p == b"sftp"),
        })
    }
}

impl Default for Record {
    fn default() -> Self {
        let any = std::net::SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        Self::new(0, any, any, 0)
    }
}

/// Reads one record file under a shared lock.
///
/// # Errors
/// It cannot be read, or is not a record.
pub fn read(path: &Path) -> Result<Record, String> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOFOLLOW).bits())
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    let euid = nix::unistd::geteuid().as_raw();
    if !meta.is_file() || (meta.uid() != euid && meta.uid() != 0) {
        return Err("not a regular file of this user's".to_string());
    }
    file.lock_shared().map_err(|e| e.to_string())?;
    let mut bytes = vec![0u8; RECORD_LEN];
    let read = file.read_at(&mut bytes, 0).map_err(|e| e.to_string())?;
    bytes.truncate(read);
    Record::parse(&bytes)
}

/// What a scan of the directory found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Records of live sessions, by pid.
    pub records: Vec<Record>,
    /// Files that could not be used, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Records whose process is gone (left by a server that died).
    pub stale: Vec<PathBuf>,
}

/// Every record in `dir`, live ones sorted by pid.
///
/// # Errors
/// The directory cannot be read, or is not to be trusted ([`check_directory`]).
pub fn read_all(dir: &Path) -> std::io::Result<Scan> {
    check_directory(dir)?;
    let mut scan = Scan::default();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(FILE_PREFIX) {
            continue;
        }
        let path = entry.path();
        match read(&path) {
            Ok(record) if !alive(record.pid) => scan.stale.push(path),
            Ok(record) => scan.records.push(record),
            Err(reason) => scan.skipped.push((path, reason)),
        }
    }
    scan.records.sort_by_key(|r| r.pid);
    Ok(scan)
}

/// Whether process `pid` exists.
#[must_use]
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    pid > 0
        && !matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        )
}

/// `%XX` for every byte that is not printable ASCII or a space, and for `%` and `=`.
#[must_use]
pub fn escape(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        if (b.is_ascii_graphic() && b != b'%' && b != b'=') || b == b' ' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

/// The inverse of [`escape`]; `None` for a malformed escape.
#[must_use]
pub fn unescape(value: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            out.push(b);
            rest = tail;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Record {
        let mut record = Record::new(
            4242,
            "127.0.0.1:5000".parse().unwrap(),
            "[::1]:21".parse().unwrap(),
            1_700_000_000,
        );
        record.account = b"alice".to_vec();
        record.state = State::Download;
        record.file = b"big file\n=%.bin".to_vec();
        (record.restart, record.size, record.current) = (10, 100, 50);
        record
    }

    #[test]
    fn escaping_keeps_lines_whole() {
        assert_eq!(escape(b"a b\nc%d=e\xff"), b"a b%0Ac%25d%3De%FF");
        assert_eq!(unescape(b"a b%0Ac%25d%3De%FF").unwrap(), b"a b\nc%d=e\xff");
        assert_eq!(unescape(b"%4"), None);
        assert_eq!(unescape(b"%zz"), None);
    }

    #[test]
    fn records_round_trip_at_a_fixed_size() {
        let bytes = sample().render();
        assert_eq!(bytes.len(), RECORD_LEN);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("pureftpd-rs-scoreboard 1\npid=4242\nstate=DOWNLOAD\n"));
        assert!(text.contains("\nfile=big file%0A%3D%25.bin\n"));
        assert_eq!(Record::parse(&bytes).unwrap(), sample());
    }

    #[test]
    fn the_protocol_round_trips_and_older_records_are_ftp() {
        let mut sftp = sample();
        sftp.sftp = true;
        let bytes = sftp.render();
        assert!(String::from_utf8_lossy(&bytes).contains("\nprotocol=sftp\n"));
        assert_eq!(Record::parse(&bytes).unwrap(), sftp);
        let older = String::from_utf8_lossy(&sample().render()).replace("protocol=ftp\n", "");
        assert_eq!(Record::parse(older.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn corrupt_records_are_errors() {
        let good = sample().render();
        assert!(Record::parse(&good[..40]).is_err());
        assert!(Record::parse(b"garbage").is_err());
        let text = String::from_utf8_lossy(&good).replace("state=DOWNLOAD", "state=DANCING");
        assert_eq!(Record::parse(text.as_bytes()).unwrap_err(), "a bad state");
    }

    #[test]
    fn a_huge_name_keeps_its_tail_and_the_record_its_size() {
        let mut record = sample();
        record.file = vec![0xff; 10_000];
        record.file.extend_from_slice(b"tail.bin");
        let bytes = record.render();
        assert_eq!(bytes.len(), RECORD_LEN);
        let back = Record::parse(&bytes).unwrap();
        assert!(back.file.ends_with(b"tail.bin"));
        assert_eq!(back.current, 50);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Record::parse(&bytes);
        }

        #[test]
        fn any_names_round_trip(account in proptest::collection::vec(any::<u8>(), 0..100),
                                file in proptest::collection::vec(any::<u8>(), 0..=MAX_FILE)) {
            let mut record = sample();
            record.account = account;
            record.file = file;
            prop_assert_eq!(Record::parse(&record.render()).unwrap(), record);
        }
    }
}
