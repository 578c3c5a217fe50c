//! Reading and safely rewriting `pureftpd.passwd`.
//!
//! Every rewrite holds an exclusive lock (`flock`) on the directory that holds the file
//! (waiting for it, so concurrent pure-pw runs queue instead of failing; a lock on the
//! directory leaves no lock file behind), writes `<file>.tmp` (created with O_EXCL and
//! O_NOFOLLOW, mode 0600, the name Pure-FTPd's own pure-pw uses, so the two tools also
//! exclude each other), flushes it to disk and renames it over the file. A reader sees
//! the old file or the new one; a killed pure-pw leaves the file untouched.
//!
//! A `<file>.tmp` found while the lock is held is not one of ours at work: either
//! Pure-FTPd's pure-pw is writing it (a matter of milliseconds) or a killed edit left
//! it. Once it has not changed for [`FOREIGN_TMP_WAIT`] it is stale and is removed,
//! where Pure-FTPd's tool refuses every edit until someone removes it by hand.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::ops::Range;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use pureftpd_account::{LineError, Record};

/// How long to wait for a `<file>.tmp` left by Pure-FTPd's pure-pw to go away.
const FOREIGN_TMP_WAIT: Duration = Duration::from_secs(3);

/// `<path><suffix>`.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// A held lock on a passwd file (on its directory); released when dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    _dir: File,
}

impl Lock {
    /// Waits for the exclusive lock that serializes edits and database builds.
    pub(crate) fn exclusive(path: &Path) -> io::Result<Self> {
        let dir = File::open(lock_target(path))?;
        dir.lock()?;
        Ok(Self { _dir: dir })
    }
}

/// The directory whose lock guards `path`.
pub(crate) fn lock_target(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// One line of the file, as read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// The bytes of the line without its line feed, exactly as in the file.
    pub(crate) raw: &'a [u8],
    /// 1-based line number.
    pub(crate) number: usize,
}

impl<'a> Line<'a> {
    /// Comments and blank lines are not accounts.
    pub(crate) fn is_account(&self) -> bool {
        !(self.raw.is_empty() || self.raw.starts_with(b"#"))
    }

    /// The text pure-pw parses: the line cut at its first carriage return.
    pub(crate) fn text(&self) -> &'a [u8] {
        let end = self
            .raw
            .iter()
            .position(|&b| b == b'\r')
            .unwrap_or(self.raw.len());
        &self.raw[..end]
    }

    /// Whether the line belongs to `login` the way Pure-FTPd decides it: it starts with
    /// `login:`.
    pub(crate) fn belongs_to(&self, login: &[u8]) -> bool {
        self.raw.len() > login.len() && self.raw.starts_with(login) && self.raw[login.len()] == b':'
    }
}

/// A malformed line, with where it is.
#[derive(Debug, Clone)]
pub(crate) struct BadLine {
    pub(crate) path: PathBuf,
    pub(crate) number: usize,
    pub(crate) error: LineError,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, line {}: {}",
            self.path.display(),
            self.number,
            self.error
        )
    }
}

/// The contents of a passwd file: its bytes, and where each line is.
#[derive(Debug, Clone, Default)]
pub(crate) struct Contents {
    bytes: Vec<u8>,
    lines: Vec<Range<usize>>,
}

impl Contents {
    /// Splits a file into lines.
    pub(crate) fn parse(bytes: Vec<u8>) -> Self {
        let mut lines = Vec::new();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                lines.push(start..i);
                start = i + 1;
            }
        }
        if start < bytes.len() {
            lines.push(start..bytes.len());
        }
        Self { bytes, lines }
    }

    /// Reads a file; `Ok(None)` if it does not exist.
    pub(crate) fn read(path: &Path) -> io::Result<Option<Self>> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(Self::parse(bytes))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every line, in order.
    pub(crate) fn lines(&self) -> impl Iterator<Item = Line<'_>> {
        self.lines.iter().enumerate().map(|(i, range)| Line {
            raw: &self.bytes[range.clone()],
            number: i + 1,
        })
    }

    /// The account lines.
    pub(crate) fn accounts(&self) -> impl Iterator<Item = Line<'_>> {
        self.lines().filter(Line::is_account)
    }

    /// Checks every account line; the first malformed one is the error.
    pub(crate) fn validate(&self, path: &Path) -> Result<(), BadLine> {
        for line in self.accounts() {
            Record::check(line.text()).map_err(|error| BadLine {
                path: path.to_path_buf(),
                number: line.number,
                error,
            })?;
        }
        Ok(())
    }

    /// The first valid record of `login`. Malformed lines met on the way are reported
    /// to `warn` and skipped, as read-only commands should still work on a damaged file.
    pub(crate) fn find(
        &self,
        path: &Path,
        login: &[u8],
        warn: &mut dyn FnMut(BadLine),
    ) -> Option<Record> {
        self.records_lenient(path, warn).find(|r| r.login == login)
    }

    /// Each valid record; malformed lines are reported to `warn` and skipped.
    pub(crate) fn records_lenient<'a>(
        &'a self,
        path: &'a Path,
        warn: &'a mut dyn FnMut(BadLine),
    ) -> impl Iterator<Item = Record> + 'a {
        self.accounts()
            .filter_map(move |line| match Record::parse(line.text()) {
                Ok(record) => Some(record),
                Err(error) => {
                    warn(BadLine {
                        path: path.to_path_buf(),
                        number: line.number,
                        error,
                    });
                    None
                }
            })
    }

    /// The file's bytes, with every line but `login`'s, then `replacement` (if any) at
    /// the end, as Pure-FTPd's pure-pw does.
    pub(crate) fn rewritten(&self, login: &[u8], replacement: Option<&Record>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + 256);
        for line in self.lines().filter(|l| !l.belongs_to(login)) {
            out.extend_from_slice(line.raw);
            out.push(b'\n');
        }
        if let Some(record) = replacement {
            out.extend_from_slice(&record.to_line());
            out.push(b'\n');
        }
        out
    }

    /// Whether some line belongs to `login`.
    pub(crate) fn has(&self, login: &[u8]) -> bool {
        self.lines().any(|l| l.belongs_to(login))
    }
}

/// Why a rewrite failed; the file is unchanged in every case.
#[derive(Debug)]
pub(crate) enum ReplaceError {
    /// `<file>.tmp` exists: another pure-pw (Pure-FTPd's) is editing, or one crashed.
    TempExists(PathBuf),
    /// Creating, writing or renaming failed.
    Io(PathBuf, io::Error),
}

/// Replaces the file's contents atomically. Call with the exclusive [`Lock`] held.
pub(crate) fn replace(path: &Path, contents: &[u8]) -> Result<(), ReplaceError> {
    let tmp = sibling(path, ".tmp");
    let mut file = create_exclusive(&tmp)?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(ReplaceError::Io(tmp, e));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The rename is done; a failed directory sync only weakens durability.
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

/// Creates `<file>.tmp`. One that exists is Pure-FTPd's pure-pw at work, which is
/// waited for, or stale (unchanged for [`FOREIGN_TMP_WAIT`]), which is removed.
fn create_exclusive(tmp: &Path) -> Result<File, ReplaceError> {
    let started = Instant::now();
    let mut removed_stale = false;
    loop {
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(tmp);
        match opened {
            Ok(file) => return Ok(file),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let unchanged_for = fs::symlink_metadata(tmp)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .unwrap_or_default();
                if unchanged_for >= FOREIGN_TMP_WAIT && !removed_stale {
                    removed_stale = true;
                    let _ = fs::remove_file(tmp);
                } else if started.elapsed() < FOREIGN_TMP_WAIT * 2 {
                    sleep(Duration::from_millis(20));
                } else {
                    return Err(ReplaceError::TempExists(tmp.to_path_buf()));
                }
            }
            Err(e) => return Err(ReplaceError::Io(tmp.to_path_buf(), e)),
        }
    }
}
