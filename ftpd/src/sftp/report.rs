//! What an SFTP session tells the logs, as a pure-ftpd session does (`transfer_record`):
//! a syslog line and a `-O` line per file that moved bytes, recorded when its handle is
//! closed (or the session ends with it open), the upload pipe for `-o`, and `Logout.`;
//! and the scoreboard, for `pure-ftpwho`: the file last read or written and how far,
//! until it is closed. Progress is written at most twice a second while requests come,
//! and by [`flush_while_idle`] when they stop, so that a transfer that stalls after a
//! burst shows where it stands (as an FTP session's does). That task sleeps until
//! progress is pending: an idle session never wakes for it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::altlog::AltLog;
use crate::log::Logger;
use crate::scoreboard::{Activity, Scoreboard};
use crate::transfer_record::Recorder;

/// A logged-in session's logs.
pub(crate) struct Reporter {
    pub(crate) log: Logger,
    pub(crate) alt_log: Option<AltLog>,
    /// The real directory the session's `/` is.
    pub(crate) base: PathBuf,
    /// `-o`.
    pub(crate) upload_script: bool,
    /// Seconds since 1970.
    pub(crate) connected_at: i64,
    /// Shared with [`flush_while_idle`] (russh-sftp runs the requests in a task).
    pub(crate) board: Option<Arc<SharedBoard>>,
    /// The handle the scoreboard shows.
    pub(crate) showing: Option<String>,
}

impl Reporter {
    /// A path inside the session's root as it is on the server (for the logs).
    pub(crate) fn real_path(&self, path: &[u8]) -> Vec<u8> {
        crate::transfer_record::real_path(&self.base, path)
    }

    /// Bytes of `handle` (the client's `name`) moved up to `position`: the scoreboard
    /// shows this transfer from now on.
    pub(crate) fn progress(
        &mut self,
        handle: &str,
        name: &[u8],
        upload: bool,
        size: u64,
        position: u64,
    ) {
        let Some(shared) = &self.board else {
            return;
        };
        let mut board = locked(&shared.board);
        if self.showing.as_deref() != Some(handle) {
            board.set_activity(if upload {
                Activity::Upload { file: name }
            } else {
                Activity::Download {
                    file: name,
                    size,
                    offset: 0,
                }
            });
            self.showing = Some(handle.to_string());
        }
        board.progress(position);
        if board.flush_due_in().is_some() {
            shared.pending.notify_one();
        }
    }

    /// `handle` is closed: if the scoreboard shows it, the session is idle now.
    pub(crate) fn closed(&mut self, handle: &str) {
        if self.showing.as_deref() == Some(handle) {
            self.showing = None;
            if let Some(board) = &self.board {
                locked(&board.board).set_activity(Activity::Idle);
            }
        }
    }

    pub(crate) fn recorder(&self) -> Recorder<'_> {
        Recorder {
            log: &self.log,
            alt_log: self.alt_log.as_ref(),
            upload_script: self.upload_script,
            session_start: self.connected_at,
            ascii: false,
        }
    }
}

/// The scoreboard (a panic elsewhere leaves it usable: it holds no invariant a
/// half-done update could break).
fn locked(board: &Mutex<Scoreboard>) -> MutexGuard<'_, Scoreboard> {
    board.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The scoreboard of a session, and a signal that progress waits to be written.
pub(crate) struct SharedBoard {
    board: Mutex<Scoreboard>,
    pending: tokio::sync::Notify,
}

impl SharedBoard {
    pub(crate) fn new(board: Scoreboard) -> Arc<Self> {
        Arc::new(Self {
            board: Mutex::new(board),
            pending: tokio::sync::Notify::new(),
        })
    }
}

/// Writes the progress a burst left pending once it is due, for as long as the session
/// runs (a task of its runtime). With nothing pending it waits for [`Reporter::progress`]
/// to say there is (a signal given meanwhile is kept, so none is missed).
pub(crate) async fn flush_while_idle(shared: Arc<SharedBoard>) {
    loop {
        let due = locked(&shared.board).flush_due_in();
        match due {
            Some(wait) if wait.is_zero() => locked(&shared.board).flush(),
            Some(wait) => tokio::time::sleep(wait).await,
            None => shared.pending.notified().await,
        }
    }
}
