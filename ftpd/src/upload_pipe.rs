//! `-o`: each upload is reported on the upload pipe, for `pure-uploadscript`
//! (`pureftpd_bridge::upload` has the format and the paths).
//!
//! Unlike Pure-FTPd, the server never waits for a reader: the master opens the FIFO
//! read-write (which does not block on Linux) and non-blocking before the first
//! session. Records written while no reader runs wait in the pipe's buffer and reach
//! `pure-uploadscript` when it starts; if the buffer is full, the record is dropped
//! and logged, and the upload's session goes on.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

use nix::fcntl::OFlag;
use pureftpd_bridge::upload;

/// The pipe and its lock file, opened by the master and inherited by sessions.
#[derive(Debug)]
pub struct UploadPipe {
    pipe: File,
    lock: File,
}

static PIPE: Mutex<Option<UploadPipe>> = Mutex::new(None);

fn pipe() -> std::sync::MutexGuard<'static, Option<UploadPipe>> {
    PIPE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Closes this process's copy (a pre-login process must not be able to report uploads,
/// which `pure-uploadscript` acts on).
pub fn close() {
    *pipe() = None;
}

/// Opens (creating it if needed) the pipe for the sessions to come. Called once,
/// before any session is forked.
///
/// # Errors
/// The pipe or the lock file cannot be made or opened.
pub fn open() -> io::Result<()> {
    if pipe().is_some() {
        return Ok(());
    }
    let path = upload::pipe_path();
    upload::prepare_pipe(&path)?;
    let pipe = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW).bits())
        .open(&path)?;
    upload::check_opened(&pipe, &path).map_err(io::Error::other)?;
    let lock_path = upload::lock_path(&path);
    // Not blocking: a FIFO planted under the lock's name must not hang the start.
    let lock = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(&lock_path)
        .map_err(|e| io::Error::other(format!("{}: {e}", lock_path.display())))?;
    upload::check_lock(&lock, &lock_path).map_err(io::Error::other)?;
    *self::pipe() = Some(UploadPipe { pipe, lock });
    Ok(())
}

/// Reports an upload of `path` (absolute, on the server) by `login`.
///
/// # Errors
/// Why nothing was sent: no pipe, a name that cannot go in a record, a full pipe.
pub fn report(login: &[u8], path: &[u8]) -> Result<(), String> {
    let guard = pipe();
    let Some(pipe) = guard.as_ref() else {
        return Err("the upload pipe is not open".into());
    };
    let record = upload::encode(login, path)
        .ok_or("the name cannot be passed to the upload script (control characters or too long)")?;
    pipe.lock.lock().map_err(|e| e.to_string())?;
    let written = (&pipe.pipe).write(&record);
    let _ = pipe.lock.unlock();
    match written {
        Ok(n) if n == record.len() => Ok(()),
        Ok(_) => Err("the upload pipe took part of a record".into()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            Err("the upload pipe is full: is pure-uploadscript running?".into())
        }
        Err(e) => Err(e.to_string()),
    }
}
