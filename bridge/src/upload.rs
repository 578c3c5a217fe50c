//! The upload pipe between the server (`-o`) and `pure-uploadscript` (spec §8): a FIFO,
//! mode 0600, owned by the server's user, carrying one record per upload,
//! `0x02 <login> 0x01 <absolute path> 0x00`, written under a lock file beside it.
//!
//! Where: `/var/run/pure-ftpd.upload.pipe` (and `.lock`) as root, as Pure-FTPd; else
//! `$XDG_RUNTIME_DIR/pure-ftpd.upload.pipe` or `$HOME/.local/state/pure-ftpd.upload.pipe`
//! (never a shared directory such as `/tmp`, where another user could plant it);
//! `PURE_FTPD_UPLOAD_PIPE` names another pipe (the lock is the same path ending in
//! `.lock` instead of `.pipe`).

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;

/// Longest login in a record (Pure-FTPd's MAX_USER_LENGTH).
pub const MAX_LOGIN: usize = 128;
/// Longest record: what the kernel writes to a pipe in one piece (PIPE_BUF), so that
/// records of concurrent sessions never mix.
pub const MAX_RECORD: usize = 4096;

/// The pipe's path.
#[must_use]
pub fn pipe_path() -> PathBuf {
    if let Some(path) = std::env::var_os("PURE_FTPD_UPLOAD_PIPE").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return PathBuf::from("/var/run/pure-ftpd.upload.pipe");
    }
    let private = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".local/state")));
    private
        .unwrap_or_else(|| PathBuf::from("/var/run"))
        .join("pure-ftpd.upload.pipe")
}

/// Checks the opened lock file: a regular file of ours that only we can write (not a
/// FIFO or another user's file planted under its name).
///
/// # Errors
/// It is something else.
pub fn check_lock(lock: &File, path: &Path) -> Result<(), String> {
    let meta = lock.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() || meta.uid() != nix::unistd::geteuid().as_raw() || meta.mode() & 0o022 != 0
    {
        return Err(format!(
            "{} is not a lock file of ours (a regular file, mode 0600)",
            path.display()
        ));
    }
    Ok(())
}

/// The lock file beside `pipe`.
#[must_use]
pub fn lock_path(pipe: &Path) -> PathBuf {
    let name = pipe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lock = match name.strip_suffix(".pipe") {
        Some(stem) => format!("{stem}.lock"),
        None => format!("{name}.lock"),
    };
    pipe.with_file_name(lock)
}

/// Whether `meta` is a FIFO only its owner (us) can use.
fn is_private_fifo(meta: &std::fs::Metadata) -> bool {
    meta.file_type().is_fifo()
        && meta.mode() & 0o777 == 0o600
        && meta.uid() == nix::unistd::geteuid().as_raw()
}

/// Makes sure `path` is a FIFO, mode 0600, ours: created if missing; anything else
/// there (another type, other permissions or owner, a symbolic link) is replaced, as
/// Pure-FTPd's server does.
///
/// # Errors
/// It cannot be created.
pub fn prepare_pipe(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if is_private_fifo(&meta) => return Ok(()),
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // A private default place ($HOME/.local/state) may not exist yet.
    if let Some(parent) = path.parent().filter(|p| !p.exists()) {
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(parent)?;
    }
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o600)).map_err(io::Error::from)?;
    // mkfifo applied the umask: set the mode exactly.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
}

/// Reader's check of the opened pipe (fstat, so no race with the path).
///
/// # Errors
/// Pure-FTPd's message: `Insecure permissions on <path>`.
pub fn check_opened(file: &File, path: &Path) -> Result<(), String> {
    match file.metadata() {
        Ok(meta) if is_private_fifo(&meta) => Ok(()),
        _ => Err(format!("Insecure permissions on {}", path.display())),
    }
}

/// A record, or `None` when it cannot be one: a login or path with a control
/// character (the reader would drop it; worse, a 0x02 could start a forged record),
/// a login over [`MAX_LOGIN`] bytes, a record over [`MAX_RECORD`].
#[must_use]
pub fn encode(login: &[u8], path: &[u8]) -> Option<Vec<u8>> {
    let clean = |value: &[u8]| !value.is_empty() && !value.iter().any(|&b| b < 0x20 || b == 0x7f);
    if !clean(login) || !clean(path) || login.len() > MAX_LOGIN {
        return None;
    }
    let record = [&[2u8][..], login, &[1], path, &[0]].concat();
    (record.len() <= MAX_RECORD).then_some(record)
}

/// One upload, as read from the pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The FTP login.
    pub login: Vec<u8>,
    /// The file's absolute path (or `ip:/path` for Pure-FTPd's virtual hosts).
    pub path: Vec<u8>,
}

/// Splits the byte stream into records, as Pure-FTPd's reader does: bytes before a
/// 0x02 are skipped; a control character inside a login or path drops that record
/// (and a 0x02 starts the next one).
#[derive(Debug, Default)]
pub struct Decoder {
    state: Field,
    login: Vec<u8>,
    path: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Field {
    #[default]
    Seeking,
    Login,
    Path,
}

impl Decoder {
    /// Feeds bytes; returns the records they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Record> {
        let mut done = Vec::new();
        for &b in bytes {
            match (self.state, b) {
                (_, 2) => {
                    self.state = Field::Login;
                    self.login.clear();
                    self.path.clear();
                }
                (Field::Login, 1) => self.state = Field::Path,
                (Field::Path, 0) => {
                    self.state = Field::Seeking;
                    if !self.login.is_empty() && !self.path.is_empty() {
                        done.push(Record {
                            login: std::mem::take(&mut self.login),
                            path: std::mem::take(&mut self.path),
                        });
                    }
                }
                (Field::Seeking, _) => {}
                (_, b) if b < 0x20 || b == 0x7f => self.state = Field::Seeking,
                (Field::Login, b) if self.login.len() < MAX_LOGIN => self.login.push(b),
                (Field::Path, b) if self.path.len() < MAX_RECORD => self.path.push(b),
                // Too long: not a record.
                _ => self.state = Field::Seeking,
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_garbage_is_skipped() {
        let mut stream = b"junk".to_vec();
        stream.extend(encode(b"alice", b"/srv/ftp/alice/up 1.bin").unwrap());
        stream.extend(b"\x02bob\x01/x\x03y\x00"); // a control character: dropped
        stream.extend(encode(b"carol", b"/c").unwrap());
        let mut decoder = Decoder::default();
        let (first, second) = stream.split_at(10);
        let mut records = decoder.push(first);
        records.extend(decoder.push(second));
        assert_eq!(
            records,
            [
                Record {
                    login: b"alice".to_vec(),
                    path: b"/srv/ftp/alice/up 1.bin".to_vec()
                },
                Record {
                    login: b"carol".to_vec(),
                    path: b"/c".to_vec()
                }
            ]
        );
    }

    #[test]
    fn names_that_could_forge_records_are_not_sent() {
        assert_eq!(encode(b"alice", b"/a\x02mallory\x01/etc/passwd"), None);
        assert_eq!(encode(b"alice", b"/a\nb"), None);
        assert_eq!(encode(&[b'a'; 129], b"/x"), None);
        assert_eq!(encode(b"alice", &vec![b'x'; 5000]), None);
        assert!(encode(b"alice", b"/ok").is_some());
    }

    #[test]
    fn the_lock_sits_beside_the_pipe() {
        assert_eq!(
            lock_path(Path::new("/var/run/pure-ftpd.upload.pipe")),
            PathBuf::from("/var/run/pure-ftpd.upload.lock")
        );
    }
}
