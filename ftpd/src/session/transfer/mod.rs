//! RETR, STOR, APPE, STOU and the transfer they share with listings, in three parts:
//! the commands check and open the file and make a [`Job`] (`commands.rs`); the engine
//! moves the bytes while watching the control connection, the idle time and the
//! bandwidth limit (`engine.rs`, unit-tested over real sockets); the report gives the
//! final reply and writes the logs (`report.rs`). This file opens the data connection,
//! runs the job through the engine and settles an upload's quota.
//!
//! Uploads are written as they arrive; a broken connection leaves what arrived.

mod commands;
mod engine;
mod intake;
mod preallocation;
mod report;

use crate::metrics;
use std::fs::File;
use std::io;
use std::time::Instant;

use pureftpd_proto::Reply;

use super::Session;
use super::data::{DataSetup, DataStream};
use super::upload_plan::{Settled, UploadEnd, UploadPlan};
use crate::messages as msg;
use crate::scoreboard::Activity;
use crate::session::LoggedIn;
use engine::{Ended, Engine};

/// What moving a job's bytes left for the report.
struct Moved {
    ended: Ended,
    /// A listing's final reply.
    done: Option<Reply>,
    upload: bool,
    /// An upload under quotas: its plan and its name, to settle.
    upload_quota: Option<(UploadPlan, Vec<u8>)>,
}

impl Moved {
    fn new(ended: Ended, done: Option<Reply>, upload: bool) -> Self {
        Self {
            ended,
            done,
            upload,
            upload_quota: None,
        }
    }
}

/// A transfer to run on the data connection.
pub(crate) enum Job {
    /// RETR.
    Download {
        file: File,
        /// As the client named it.
        name: Vec<u8>,
        /// Where it is in the session's file system.
        path: Vec<u8>,
        /// Where to start.
        offset: u64,
        /// File size.
        size: u64,
    },
    /// STOR, APPE, STOU.
    Upload {
        file: File,
        name: Vec<u8>,
        /// Where it is in the session's file system.
        path: Vec<u8>,
        /// What quotas require (none without quotas).
        quota: Option<UploadPlan>,
        /// STOU's generated name, announced in the 150 reply.
        unique: Option<String>,
        /// REST's offset, for a resume: the old tail after what arrives is cut when the
        /// upload ends.
        resumed_at: Option<u64>,
    },
    /// LIST, NLST, MLSD: the listing is ready; `done` is the final reply.
    Listing { bytes: Vec<u8>, done: Reply },
}

impl Session<'_> {
    /// Opens the data connection, says 150, transfers, gives the final reply.
    /// Returns false when the session must end.
    pub(super) fn run_transfer(&mut self, logged: &mut LoggedIn, job: Job) -> bool {
        let mut stream = match self.connect_data(logged, &job) {
            Ok(stream) => stream,
            Err(carry_on) => return carry_on,
        };
        let started = Instant::now();
        let logged_path = match &job {
            Job::Download { path, .. } | Job::Upload { path, .. } => Some(path.clone()),
            Job::Listing { .. } => None,
        };
        let moved = self.move_bytes(logged, job, &mut stream);
        // A finished transfer closes gracefully (the client may still be sending its
        // close_notify); an aborted, failed or stalled one is closed at once, as
        // Pure-FTPd does: ABOR gets its reply without waiting for the client.
        if matches!(moved.ended, Ended::Complete(_)) {
            stream.finish();
        }
        drop(stream);
        self.board(Activity::Idle);
        let Moved {
            ended,
            done,
            upload,
            upload_quota,
        } = moved;
        let mut quota_lines = Vec::new();
        let ended = match upload_quota {
            Some((plan, name)) => match self.settle_quota(logged, &plan, ended) {
                Some((ended, lines)) => {
                    quota_lines = lines;
                    ended
                }
                None => {
                    let reply = self.quota_exceeded(logged, &name, Some(msg::QUOTA_ABORTED), true);
                    return self.send_reply(&reply).is_ok();
                }
            },
            None => ended,
        };
        let elapsed = started.elapsed();
        if logged_path.is_some() {
            report::count_in_metrics(upload, &ended);
        }
        if let (Some(path), Some(bytes)) = (&logged_path, ended.bytes()) {
            self.record_transfer(logged, path, upload, bytes, elapsed);
        }
        self.finish(ended, done, upload, elapsed, quota_lines)
    }

    /// Says 150 (before connecting in active mode, after in passive mode, as Pure-FTPd)
    /// and opens the data connection, with TLS under PROT P. `Err(carry_on)`: it could
    /// not be opened (the job is abandoned and the client told); false ends the session.
    fn connect_data(&mut self, logged: &mut LoggedIn, job: &Job) -> Result<DataStream, bool> {
        let mut opening = Reply::empty(150);
        if let Job::Upload {
            unique: Some(unique),
            ..
        } = job
        {
            opening.push(msg::stou_file(unique));
        }
        opening.push(self.opening_text());
        if let Job::Download { offset, size, .. } = job
            && size - offset > 4096
        {
            opening.push(msg::kbytes_to_download(size - offset));
        }
        let active = matches!(self.data, DataSetup::Active(_));
        if active && self.send_reply(&opening).is_err() {
            return Err(false);
        }
        let tcp = match self.open_tcp_data(logged) {
            Ok(stream) => stream,
            Err(outcome) => {
                self.abandon(logged, job);
                return Err(self.perform(outcome));
            }
        };
        if !active && self.send_reply(&opening).is_err() {
            self.abandon(logged, job);
            return Err(false);
        }
        let upload = matches!(job, Job::Upload { .. });
        self.secure_data(tcp, upload).map_err(|outcome| {
            self.abandon(logged, job);
            self.perform(outcome)
        })
    }

    /// Runs the job through the engine, the scoreboard showing what moves.
    fn move_bytes(&mut self, logged: &mut LoggedIn, job: Job, stream: &mut DataStream) -> Moved {
        let policies = logged.policies;
        match job {
            Job::Download {
                file,
                name,
                offset,
                size,
                ..
            } => {
                self.board(Activity::Download {
                    file: &name,
                    size,
                    offset,
                });
                let ended = self.engine(policies.download_rate).send_file(
                    &file,
                    stream,
                    offset,
                    size - offset,
                );
                Moved::new(ended, None, false)
            }
            Job::Upload {
                mut file,
                name,
                quota,
                resumed_at,
                ..
            } => {
                self.board(Activity::Upload { file: &name });
                let limit = quota.as_ref().and_then(|q| q.limit);
                let ended = self
                    .engine(policies.upload_rate)
                    .receive_file(&mut file, stream, limit);
                if resumed_at.is_some() && !matches!(ended, Ended::OverQuota) {
                    // A resume replaces the file from its start on: the old tail goes,
                    // whether all of it came or not (what came is kept, as ever). One
                    // over the quota is put back as it was instead (upload_plan.rs).
                    if let Ok(end) = io::Seek::stream_position(&mut file) {
                        let _ = file.set_len(end);
                    }
                }
                drop(file);
                Moved {
                    upload_quota: quota.map(|q| (q, name)),
                    ..Moved::new(ended, None, true)
                }
            }
            Job::Listing { bytes, done } => {
                let ended = self.engine(None).send_bytes(stream, &bytes);
                Moved::new(ended, Some(done), false)
            }
        }
    }

    /// Counts an upload under quotas, or undoes it. `None`: it went over the quota and
    /// is undone.
    fn settle_quota(
        &mut self,
        logged: &mut LoggedIn,
        plan: &UploadPlan,
        ended: Ended,
    ) -> Option<(Ended, Vec<String>)> {
        let end = match ended {
            Ended::OverQuota => UploadEnd::OverQuota,
            Ended::Complete(_) => UploadEnd::Complete,
            _ => UploadEnd::Incomplete,
        };
        // Pure-FTPd shows the counters after an upload that created a file or brought
        // bytes; replacing a file with an empty one changes them silently.
        let changed = plan.creates || ended.bytes().is_some_and(|bytes| bytes > 0);
        match self.settle_upload(logged, plan, end) {
            Settled::Counted(lines) if changed => Some((ended, lines)),
            Settled::Counted(_) => Some((ended, Vec::new())),
            Settled::Refused => None,
        }
    }

    /// An upload that never got its data connection, under quota or `-0`: what it
    /// created goes, so that the counters and the tree stay in step.
    fn abandon(&mut self, logged: &mut LoggedIn, job: &Job) {
        match job {
            Job::Upload { .. } => metrics::count(metrics::Count::UploadErrors),
            Job::Download { .. } => metrics::count(metrics::Count::DownloadErrors),
            Job::Listing { .. } => {}
        }
        if let Job::Upload {
            quota: Some(plan), ..
        } = job
        {
            let _ = self.settle_upload(logged, plan, UploadEnd::OverQuota);
        }
    }

    /// The engine for one transfer, throttled at `rate` bytes per second.
    fn engine(&mut self, rate: Option<u64>) -> Engine<'_> {
        Engine {
            control: &mut self.control,
            scoreboard: self.scoreboard.as_mut(),
            idle: self.idle,
            binary: self.binary,
            rate,
        }
    }
}
