//! How a transfer is reported once its bytes have moved: the final reply and the
//! session's counters, the syslog line, the `-O` transfer log, the upload pipe (`-o`)
//! and the scoreboard's activity.

use std::time::Duration;

use pureftpd_proto::Reply;

use super::super::Session;
use super::engine::Ended;
use crate::messages as msg;
use crate::metrics::{self, Count};
use crate::scoreboard::Activity;
use crate::session::LoggedIn;

impl Session<'_> {
    /// The final reply of a transfer, and the session's byte counters. False when the
    /// session must end.
    pub(super) fn finish(
        &mut self,
        ended: Ended,
        done: Option<Reply>,
        upload: bool,
        elapsed: Duration,
        quota_lines: Vec<String>,
    ) -> bool {
        let seconds = elapsed.as_secs_f64();
        match ended {
            Ended::Complete(_) if done.is_some() => {
                done.is_some_and(|done| self.send_reply(&done).is_ok())
            }
            Ended::Complete(bytes) => {
                self.count(upload, bytes);
                let mut reply = Reply::empty(226);
                for line in quota_lines {
                    reply.push(line);
                }
                if !self.binary {
                    reply.push(msg::ASCII_WARNING);
                }
                reply.push(msg::TRANSFER_OK);
                if let Some(rate) = msg::rate(bytes, seconds) {
                    reply.push(rate);
                }
                self.send_reply(&reply).is_ok()
            }
            Ended::Aborted { bytes, quit } => self.report_abort(upload, bytes, seconds, quit),
            Ended::Failed { bytes, mut reply } => {
                self.count(upload, bytes);
                if upload {
                    // As Pure-FTPd: what failed, then "Transfer aborted" and the rate.
                    reply.push(msg::TRANSFER_ABORTED);
                    if let Some(rate) = msg::rate(bytes, seconds) {
                        reply.push(rate);
                    }
                }
                self.send_reply(&reply).is_ok()
            }
            Ended::TimedOut => {
                let _ = self.send_reply(&Reply::new(421, msg::TIMEOUT_DATA));
                false
            }
            Ended::ControlLost => false,
            // Settled (and answered) before.
            Ended::OverQuota => true,
        }
    }

    fn count(&mut self, upload: bool, bytes: u64) {
        if upload {
            self.uploaded += bytes;
        } else {
            self.downloaded += bytes;
        }
    }

    /// ABOR: 426, then the abort's own reply (Pure-FTPd's codes differ for uploads);
    /// QUIT during a transfer says goodbye too, and ends the session.
    fn report_abort(&mut self, upload: bool, bytes: u64, seconds: f64, quit: bool) -> bool {
        let (first, code) = if upload {
            (msg::TRANSFER_ABORTED, 451)
        } else {
            (msg::ABORT, 226)
        };
        let mut reply = Reply::new(code, msg::TRANSFER_ABORTED);
        if let Some(rate) = msg::rate(bytes, seconds) {
            reply.push(rate);
        }
        let ok =
            self.send_reply(&Reply::new(426, first)).is_ok() && self.send_reply(&reply).is_ok();
        if quit {
            self.log_logout();
            let _ = self.send_reply(
                &Reply::new(221, msg::goodbye(self.uploaded, self.downloaded)).line(msg::LOGOUT),
            );
            return false;
        }
        ok
    }

    /// The syslog line and the `-O` line of a transfer that moved bytes (complete, or
    /// cut short), naming the file as it is on the server.
    pub(super) fn record_transfer(
        &self,
        logged: &LoggedIn,
        path: &[u8],
        upload: bool,
        bytes: u64,
        elapsed: Duration,
    ) {
        let real = logged.logged_path(path);
        crate::transfer_record::Recorder {
            log: &self.log,
            alt_log: self.alt_log.as_ref(),
            upload_script: self.config.upload_script,
            session_start: self.connected_at,
            ascii: !self.binary,
        }
        .record(&real, upload, bytes, elapsed);
    }

    pub(super) fn board(&mut self, activity: Activity<'_>) {
        metrics::session_state(match activity {
            Activity::Idle => metrics::SessionState::Idle,
            Activity::Download { .. } => metrics::SessionState::Download,
            Activity::Upload { .. } => metrics::SessionState::Upload,
        });
        if let Some(board) = &mut self.scoreboard {
            board.set_activity(activity);
        }
    }
}

/// A file transfer's end in the server's metrics (`--metrics`): bytes moved whatever
/// the end, then a file, an abort or an error.
pub(super) fn count_in_metrics(upload: bool, ended: &Ended) {
    let (bytes, files, errors, aborts) = if upload {
        (
            Count::BytesUploaded,
            Count::FilesUploaded,
            Count::UploadErrors,
            Count::UploadsAborted,
        )
    } else {
        (
            Count::BytesDownloaded,
            Count::FilesDownloaded,
            Count::DownloadErrors,
            Count::DownloadsAborted,
        )
    };
    if let Some(moved) = ended.bytes() {
        metrics::add(bytes, moved);
    }
    match ended {
        Ended::Complete(_) => metrics::count(files),
        Ended::Aborted { .. } => metrics::count(aborts),
        Ended::Failed { .. } | Ended::TimedOut | Ended::ControlLost => metrics::count(errors),
        // Counted as a quota refusal when it was answered.
        Ended::OverQuota => {}
    }
}
