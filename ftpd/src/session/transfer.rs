//! RETR, STOR, APPE, STOU and the transfer loop they share with listings.
//!
//! Binary downloads go through the kernel (`sendfile`, a megabyte at a time); between
//! chunks the control connection is checked, so ABOR stops a transfer at once and the
//! session goes on. ASCII mode converts line ends both ways (LF to CRLF down, CR dropped
//! up). Uploads are written as they arrive; a broken connection leaves what arrived.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use pureftpd_proto::command::{self, Parsed, Restart};
use pureftpd_proto::{Command, Reply};

use super::data::{DataSetup, DataStream};
use super::throttle::Pacer;
use super::upload_plan::UploadEnd;
use super::{Outcome, Session};
use crate::log::Level;
use crate::messages as msg;
use crate::scoreboard::{Activity, Scoreboard};

/// Bytes sent per sendfile call between two looks at the control connection.
const SEND_CHUNK: usize = 1 << 20;
/// Upload buffer.
const RECEIVE_BUFFER: usize = 512 * 1024;
/// Copy buffer when the kernel cannot copy (ASCII, TLS).
const COPY_CHUNK: usize = 128 * 1024;

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
        quota: Option<super::upload_plan::UploadPlan>,
        /// STOU's generated name, announced in the 150 reply.
        unique: Option<String>,
        /// REST's offset, for a resume: the old tail after what arrives is cut when the
        /// upload ends.
        resumed_at: Option<u64>,
    },
    /// LIST, NLST, MLSD: the listing is ready; `done` is the final reply.
    Listing { bytes: Vec<u8>, done: Reply },
}

impl Ended {
    /// Bytes moved, for a transfer to log: a complete one, or one cut short after it
    /// moved something.
    fn bytes(&self) -> Option<u64> {
        match self {
            Self::Complete(bytes) => Some(*bytes),
            Self::Aborted { bytes, .. } | Self::Failed { bytes, .. } => {
                (*bytes > 0).then_some(*bytes)
            }
            Self::TimedOut | Self::ControlLost | Self::OverQuota => None,
        }
    }
}

/// How a transfer ended.
enum Ended {
    /// An upload went over the quota after this many bytes (and was stopped).
    OverQuota,
    /// All of it.
    Complete(u64),
    /// ABOR (or QUIT) arrived; `quit` also ends the session.
    Aborted { bytes: u64, quit: bool },
    /// The data connection or the file failed.
    Failed { bytes: u64, reply: Reply },
    /// Nothing arrived for the idle time.
    TimedOut,
    /// The control connection is gone.
    ControlLost,
}

impl Session<'_> {
    pub(super) fn rest(&mut self, restart: Restart) -> Outcome {
        match restart {
            Restart::At(offset) => {
                self.restart = offset;
                if offset > 0 {
                    self.log
                        .log(Level::Notice, &format!("Restarting at {offset}"));
                }
                Reply::new(350, msg::restarting(offset, !self.binary && offset > 0)).into()
            }
            Restart::NotNumeric => {
                self.restart = 0;
                Reply::new(554, msg::REST_NOT_NUMERIC)
                    .line(msg::RESTART_RESET)
                    .into()
            }
            Restart::Missing => {
                self.restart = 0;
                Reply::new(501, msg::NO_RESTART_POINT).into()
            }
        }
    }

    pub(super) fn allo(&mut self, arg: &[u8]) -> Outcome {
        if arg.is_empty() {
            return Reply::new(501, msg::CANT_FIND_SIZE).into();
        }
        let wanted: u64 = std::str::from_utf8(arg)
            .ok()
            .map(|a| {
                a.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        let free = self
            .logged_in()
            .and_then(|l| nix::sys::statvfs::fstatvfs(l.vfs.root_fd()).ok())
            .map_or(u64::MAX, |s| {
                s.blocks_available().saturating_mul(s.fragment_size())
            });
        if wanted > free {
            return Reply::new(552, msg::DISK_FULL).into();
        }
        Reply::new(200, msg::ALLO_OK).into()
    }

    pub(super) fn retr(&mut self, name: &[u8]) -> Outcome {
        if name.is_empty() {
            return Reply::new(501, msg::NO_FILE_NAME).into();
        }
        if self.anonymous() && self.config.max_load.is_some_and(|max| self.load >= max) {
            return Self::multi_line(550, &msg::load_too_high(self.load)).into();
        }
        let binary = self.binary;
        let restart = std::mem::take(&mut self.restart);
        if !binary && restart > 1 {
            return Reply::new(503, msg::ASCII_RESUME).into();
        }
        if let Some(refusal) = self.check_dot_read(name) {
            return refusal;
        }
        let Some(logged) = self.logged_in() else {
            return Reply::new(530, msg::NOT_LOGGED_IN).into();
        };
        let path = logged.vfs.resolve(name);
        let file = match logged.vfs.open_read(&path) {
            Ok(file) => file,
            Err(e) => return Reply::new(550, msg::cant_open(name, crate::errno_text(&e))).into(),
        };
        let Ok(meta) = file.metadata() else {
            return Reply::new(550, msg::cant_open(name, "I/O error")).into();
        };
        if !meta.is_file() {
            return Reply::new(550, msg::ONLY_REGULAR).into();
        }
        let size = meta.len();
        if self.anonymous() && self.config.anti_warez && self.is_anonymous_upload(&meta) {
            return Reply::empty(550)
                .line(msg::WAREZ_1)
                .line(msg::WAREZ_2)
                .into();
        }
        if restart > size {
            return Reply::new(554, msg::restart_too_large(restart, size))
                .line(msg::RESTART_RESET)
                .into();
        }
        if let Some(refusal) =
            self.policies()
                .ratio_refusal(self.uploaded, self.downloaded, size, restart)
        {
            return refusal.into();
        }
        if restart == size && size > 0 {
            // The data connection is still made, as Pure-FTPd does, and nothing sent.
            return Outcome::Transfer(Box::new(Job::Listing {
                bytes: Vec::new(),
                done: Reply::new(226, msg::NOTHING_LEFT),
            }));
        }
        // Reading must not block on a FIFO or device that sneaked in.
        let _ = nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()));
        Outcome::Transfer(Box::new(Job::Download {
            file,
            name: name.to_vec(),
            path,
            offset: restart,
            size,
        }))
    }

    pub(super) fn stor(&mut self, name: &[u8], append: bool) -> Outcome {
        if name.is_empty() {
            return Reply::new(501, msg::NO_FILE_NAME).into();
        }
        if let Some(refusal) = self.check_dot_write(name, false) {
            return refusal;
        }
        if self.disk_too_full() {
            return Reply::new(552, msg::DISK_FULL).into();
        }
        let restart = std::mem::take(&mut self.restart);
        let anonymous = self.anonymous();
        let (file_umask, cant_upload) = (self.config.file_umask, self.config.anonymous_cant_upload);
        let Some(logged) = self.logged_in() else {
            return Reply::new(530, msg::NOT_LOGGED_IN).into();
        };
        let path = logged.vfs.resolve(name);
        let existing = logged.vfs.stat(&path).ok();
        if anonymous && (cant_upload || existing.is_some_and(|st| st.st_size > 0)) {
            return Reply::new(550, msg::ANON_NO_OVERWRITE).into();
        }
        if existing.is_some_and(|st| st.st_mode & 0o170_000 == 0o040_000) {
            return Reply::new(553, msg::cant_create("Is a directory")).into();
        }
        // A resume starts inside the file or at its end, never past it: writing there
        // would make a sparse file of any apparent size (and, under a quota, a count
        // that no longer matches the tree). Pure-FTPd silently moves such a start back
        // to the end of the file; ours refuses it, with RETR's reply.
        let size = existing.map_or(0, |st| u64::try_from(st.st_size).unwrap_or(0));
        if !append && restart > size {
            return Reply::new(554, msg::restart_too_large(restart, size))
                .line(msg::RESTART_RESET)
                .into();
        }
        let replaces_whole = !append && restart == 0;
        // -r: an upload never replaces a file; it takes the first free `name.N`.
        let auto_rename = self.config.auto_rename && replaces_whole && existing.is_some();
        let (path, existing) = if auto_rename {
            let Some(logged) = self.logged_in() else {
                return Reply::new(530, msg::NOT_LOGGED_IN).into();
            };
            match (1..=9999)
                .map(|n| [path.as_slice(), format!(".{n}").as_bytes()].concat())
                .find(|candidate| logged.vfs.lstat(candidate).is_err())
            {
                Some(free) => (free, None),
                None => return Reply::new(553, msg::cant_create("File exists")).into(),
            }
        } else {
            (path, existing)
        };
        let quota = match self.plan_upload(name, &path, existing.as_ref(), replaces_whole) {
            Ok(quota) => quota,
            Err(refusal) => return refusal,
        };
        let Some(logged) = self.logged_in() else {
            return Reply::new(530, msg::NOT_LOGGED_IN).into();
        };
        let mut flags = OFlag::O_CREAT;
        if replaces_whole {
            flags |= OFlag::O_TRUNC;
        }
        if auto_rename {
            // The free name must still be free.
            flags |= OFlag::O_EXCL;
        }
        let written = match quota.as_ref().and_then(|q| q.temporary.as_ref()) {
            Some(temporary) => {
                flags |= OFlag::O_EXCL;
                temporary
            }
            None => &path,
        };
        let mut file = match logged.vfs.open_write(written, flags, 0o777 & !file_umask) {
            Ok(file) => file,
            Err(e) => return Reply::new(553, msg::cant_create(crate::errno_text(&e))).into(),
        };
        // Resuming: what was after the restart point goes, but only once the upload
        // ends (see run_transfer), so that a refused one leaves the file as it was.
        let positioned = if append {
            file.seek_end()
        } else if restart > 0 {
            file.seek_to(restart)
        } else {
            Ok(())
        };
        if let Err(e) = positioned {
            return Reply::new(553, msg::cant_create(crate::errno_text(&e))).into();
        }
        Outcome::Transfer(Box::new(Job::Upload {
            file,
            name: name.to_vec(),
            path,
            quota,
            unique: None,
            resumed_at: (!append && restart > 0).then_some(restart),
        }))
    }

    /// `-k`: whether the file system holding the root is fuller than allowed.
    fn disk_too_full(&mut self) -> bool {
        let Some(max) = self.config.max_disk_usage else {
            return false;
        };
        let Some(stats) = self
            .logged_in()
            .and_then(|l| nix::sys::statvfs::fstatvfs(l.vfs.root_fd()).ok())
        else {
            return false;
        };
        let total = stats.blocks();
        let free = stats.blocks_available();
        total > 0 && (total - free) * 100 > total * u64::from(max)
    }

    /// A reply whose text has several lines, all with the code.
    pub(crate) fn multi_line(code: u16, text: &str) -> Reply {
        let mut reply = Reply::empty(code);
        for line in text.lines() {
            reply.push(line);
        }
        reply
    }

    pub(super) fn stou(&mut self) -> Outcome {
        if self.anonymous() && self.config.anonymous_cant_upload {
            return Reply::new(550, msg::ANON_NO_OVERWRITE).into();
        }
        let file_umask = self.config.file_umask;
        for _ in 0..100 {
            let unique = self.unique_name();
            let Some(logged) = self.logged_in() else {
                return Reply::new(530, msg::NOT_LOGGED_IN).into();
            };
            let path = logged.vfs.resolve(unique.as_bytes());
            let quota = match self.plan_upload(unique.as_bytes(), &path, None, true) {
                Ok(quota) => quota,
                Err(refusal) => return refusal,
            };
            let Some(logged) = self.logged_in() else {
                return Reply::new(530, msg::NOT_LOGGED_IN).into();
            };
            match logged
                .vfs
                .open_write(&path, OFlag::O_CREAT | OFlag::O_EXCL, 0o777 & !file_umask)
            {
                Ok(file) => {
                    return Outcome::Transfer(Box::new(Job::Upload {
                        file,
                        name: unique.clone().into_bytes(),
                        path,
                        quota,
                        unique: Some(unique),
                        resumed_at: None,
                    }));
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Reply::new(553, msg::cant_create(crate::errno_text(&e))).into(),
            }
        }
        Reply::new(553, msg::cant_create("File exists")).into()
    }

    /// `pureftpd.<seconds hex>.<microseconds & 0xff hex>.<counter hex>`.
    fn unique_name(&mut self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        self.stou_counter = self.stou_counter.wrapping_add(1);
        format!(
            "pureftpd.{:08x}.{:02x}.{:04x}",
            now.as_secs() & 0xffff_ffff,
            now.subsec_micros() & 0xff,
            self.stou_counter.wrapping_sub(1)
        )
    }

    /// Opens the data connection, says 150, transfers, gives the final reply.
    /// Returns false when the session must end.
    pub(super) fn run_transfer(&mut self, job: Job) -> bool {
        let mut opening = Reply::empty(150);
        if let Job::Upload {
            unique: Some(unique),
            ..
        } = &job
        {
            opening.push(msg::stou_file(unique));
        }
        opening.push(self.opening_text());
        if let Job::Download { offset, size, .. } = &job
            && size - offset > 4096
        {
            opening.push(msg::kbytes_to_download(size - offset));
        }
        let active = matches!(self.data, DataSetup::Active(_));
        if active && self.send_reply(&opening).is_err() {
            return false;
        }
        let tcp = match self.open_tcp_data() {
            Ok(stream) => stream,
            Err(outcome) => {
                self.abandon(&job);
                return self.perform(outcome);
            }
        };
        if !active && self.send_reply(&opening).is_err() {
            self.abandon(&job);
            return false;
        }
        let upload = matches!(job, Job::Upload { .. });
        let mut stream = match self.secure_data(tcp, upload) {
            Ok(stream) => stream,
            Err(outcome) => {
                self.abandon(&job);
                return self.perform(outcome);
            }
        };
        let started = Instant::now();
        let logged_path = match &job {
            Job::Download { path, .. } | Job::Upload { path, .. } => Some(path.clone()),
            Job::Listing { .. } => None,
        };
        let mut upload_quota = None;
        let (ended, done, upload) = match job {
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
                (
                    self.send_file(&file, &mut stream, offset, size - offset),
                    None,
                    false,
                )
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
                let ended = self.receive_file(&mut file, &mut stream, limit);
                if resumed_at.is_some() && !matches!(ended, Ended::OverQuota) {
                    // A resume replaces the file from its start on: the old tail goes,
                    // whether all of it came or not (what came is kept, as ever). One
                    // over the quota is put back as it was instead (upload_plan.rs).
                    if let Ok(end) = io::Seek::stream_position(&mut file) {
                        let _ = file.set_len(end);
                    }
                }
                drop(file);
                upload_quota = quota.map(|q| (q, name));
                (ended, None, true)
            }
            Job::Listing { bytes, done } => {
                (self.send_bytes(&mut stream, &bytes), Some(done), false)
            }
        };
        // A finished transfer closes gracefully (the client may still be sending its
        // close_notify); an aborted, failed or stalled one is closed at once, as
        // Pure-FTPd does: ABOR gets its reply without waiting for the client.
        if matches!(ended, Ended::Complete(_)) {
            stream.finish();
        }
        drop(stream);
        self.board(Activity::Idle);
        let mut quota_lines = Vec::new();
        let ended = match upload_quota {
            Some((plan, name)) => {
                let end = match ended {
                    Ended::OverQuota => UploadEnd::OverQuota,
                    Ended::Complete(_) => UploadEnd::Complete,
                    _ => UploadEnd::Incomplete,
                };
                match self.settle_upload(&plan, end) {
                    super::upload_plan::Settled::Counted(lines) => {
                        quota_lines = lines;
                        ended
                    }
                    super::upload_plan::Settled::Refused => {
                        let reply = self.quota_exceeded(&name, Some(msg::QUOTA_ABORTED), true);
                        return self.send_reply(&reply).is_ok();
                    }
                }
            }
            None => ended,
        };
        let elapsed = started.elapsed();
        if let (Some(path), Some(bytes)) = (&logged_path, ended.bytes()) {
            self.record_transfer(path, upload, bytes, elapsed);
        }
        self.finish(ended, done, upload, elapsed, quota_lines)
    }

    fn finish(
        &mut self,
        ended: Ended,
        done: Option<Reply>,
        upload: bool,
        elapsed: Duration,
        quota_lines: Vec<String>,
    ) -> bool {
        let seconds = elapsed.as_secs_f64();
        let rate = |bytes| msg::rate(bytes, seconds);
        match ended {
            Ended::Complete(bytes) => {
                if let Some(done) = done {
                    return self.send_reply(&done).is_ok();
                }
                if upload {
                    self.uploaded += bytes;
                } else {
                    self.downloaded += bytes;
                }
                let mut reply = Reply::empty(226);
                for line in quota_lines {
                    reply.push(line);
                }
                if !self.binary {
                    reply.push(msg::ASCII_WARNING);
                }
                reply.push(msg::TRANSFER_OK);
                if let Some(rate) = rate(bytes) {
                    reply.push(rate);
                }
                self.send_reply(&reply).is_ok()
            }
            Ended::Aborted { bytes, quit } => {
                let (first, code) = if upload {
                    (msg::TRANSFER_ABORTED, 451)
                } else {
                    (msg::ABORT, 226)
                };
                let mut reply = Reply::new(code, msg::TRANSFER_ABORTED);
                if let Some(rate) = rate(bytes) {
                    reply.push(rate);
                }
                let ok = self.send_reply(&Reply::new(426, first)).is_ok()
                    && self.send_reply(&reply).is_ok();
                if quit {
                    self.log_logout();
                    let _ = self.send_reply(
                        &Reply::new(221, msg::goodbye(self.uploaded, self.downloaded))
                            .line(msg::LOGOUT),
                    );
                    return false;
                }
                ok
            }
            Ended::Failed { bytes, mut reply } => {
                if upload {
                    self.uploaded += bytes;
                    // As Pure-FTPd: what failed, then "Transfer aborted" and the rate.
                    reply.push(msg::TRANSFER_ABORTED);
                    if let Some(rate) = rate(bytes) {
                        reply.push(rate);
                    }
                } else {
                    self.downloaded += bytes;
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

    /// Looks at the control connection without waiting: ABOR or QUIT stop the transfer,
    /// anything else is refused while it runs.
    fn check_control(&mut self) -> Option<Ended> {
        loop {
            match self.control.try_read_line() {
                Ok(None) => return None,
                Err(_) => return Some(Ended::ControlLost),
                Ok(Some(line)) => match command::parse(&line) {
                    Parsed::Command(Command::Abor) => {
                        return Some(Ended::Aborted {
                            bytes: 0,
                            quit: false,
                        });
                    }
                    Parsed::Command(Command::Quit) => {
                        return Some(Ended::Aborted {
                            bytes: 0,
                            quit: true,
                        });
                    }
                    Parsed::Ignore => {}
                    Parsed::Command(_) => {
                        if self
                            .control
                            .send(&Reply::new(500, msg::UNKNOWN_COMMAND))
                            .is_err()
                        {
                            return Some(Ended::ControlLost);
                        }
                    }
                },
            }
        }
    }

    fn send_file(&mut self, file: &File, stream: &mut DataStream, offset: u64, len: u64) -> Ended {
        let socket = match stream {
            DataStream::Plain(socket) if self.binary => socket,
            _ => return self.send_copied(file, stream, offset, len),
        };
        // Binary in clear: the kernel copies, a megabyte at a time. The socket does not
        // block: a client that stops reading leaves sendfile with nothing to do, and the
        // session waits in poll, where ABOR and the idle time still reach it.
        if socket.set_nonblocking(true).is_err() {
            return self.broken(0);
        }
        let mut position = i64::try_from(offset).unwrap_or(i64::MAX);
        let mut sent = 0u64;
        let mut pacer = self.policies().download_rate.map(Pacer::new);
        while sent < len {
            let step = pacer.as_ref().map_or(SEND_CHUNK, Pacer::step);
            let chunk = usize::try_from(len - sent)
                .unwrap_or(SEND_CHUNK)
                .min(SEND_CHUNK)
                .min(step);
            let moved =
                match nix::sys::sendfile::sendfile64(&*socket, file, Some(&mut position), chunk) {
                    Ok(0) => break,
                    Ok(n) => n as u64,
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(nix::errno::Errno::EAGAIN) => {
                        match self.wait_data(socket, PollFlags::POLLOUT) {
                            Wait::Data => {}
                            Wait::Control => {
                                if let Some(stop) = self.check_control() {
                                    return with_bytes(stop, sent);
                                }
                            }
                            Wait::Timeout => return Ended::TimedOut,
                        }
                        continue;
                    }
                    Err(_) => return self.broken(sent),
                };
            sent += moved;
            self.progress(offset + sent);
            if let Some(stop) = self.check_control() {
                return with_bytes(stop, sent);
            }
            if let Some(stop) = self.pace(&mut pacer, moved) {
                return with_bytes(stop, sent);
            }
        }
        let _ = socket.set_nonblocking(false);
        Ended::Complete(sent)
    }

    /// Downloads through user space: ASCII conversion (LF to CRLF), or TLS.
    fn send_copied(
        &mut self,
        file: &File,
        stream: &mut DataStream,
        offset: u64,
        len: u64,
    ) -> Ended {
        let mut reader = io::BufReader::with_capacity(COPY_CHUNK, file);
        let mut buf = vec![0u8; COPY_CHUNK];
        let mut out = Vec::with_capacity(COPY_CHUNK * 2);
        let (mut read_total, mut sent) = (0u64, 0u64);
        if offset > 0 && io::Seek::seek(&mut reader, io::SeekFrom::Start(offset)).is_err() {
            return self.broken(0);
        }
        let mut pacer = self.policies().download_rate.map(Pacer::new);
        while read_total < len {
            let step = pacer.as_ref().map_or(COPY_CHUNK, Pacer::step);
            let want = usize::try_from(len - read_total)
                .unwrap_or(COPY_CHUNK)
                .min(COPY_CHUNK)
                .min(step);
            let n = match reader.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.broken(sent),
            };
            read_total += n as u64;
            let chunk: &[u8] = if self.binary {
                &buf[..n]
            } else {
                out.clear();
                for &b in &buf[..n] {
                    if b == b'\n' {
                        out.push(b'\r');
                    }
                    out.push(b);
                }
                &out
            };
            if let Err(e) = stream.write_all(chunk) {
                return self.send_failed(&e, sent);
            }
            sent += chunk.len() as u64;
            self.progress(offset + read_total);
            if let Some(stop) = self.check_control() {
                return with_bytes(stop, sent);
            }
            if let Some(stop) = self.pace(&mut pacer, chunk.len() as u64) {
                return with_bytes(stop, sent);
            }
        }
        if let Err(e) = stream.flush() {
            return self.send_failed(&e, sent);
        }
        Ended::Complete(sent)
    }

    fn send_bytes(&mut self, stream: &mut DataStream, bytes: &[u8]) -> Ended {
        for chunk in bytes.chunks(SEND_CHUNK) {
            if let Err(e) = stream.write_all(chunk) {
                return self.send_failed(&e, 0);
            }
            if let Some(stop) = self.check_control() {
                return with_bytes(stop, 0);
            }
        }
        if let Err(e) = stream.flush() {
            return self.send_failed(&e, 0);
        }
        Ended::Complete(bytes.len() as u64)
    }

    /// Receives an upload; stops with [`Ended::OverQuota`] once more than `limit` bytes
    /// came.
    fn receive_file(
        &mut self,
        file: &mut File,
        stream: &mut DataStream,
        limit: Option<u64>,
    ) -> Ended {
        let mut buf = vec![0u8; RECEIVE_BUFFER];
        let mut received = 0u64;
        let mut pacer = self.policies().upload_rate.map(Pacer::new);
        loop {
            let wait = if stream.buffered() {
                Wait::Data
            } else {
                self.wait_data(stream.socket(), PollFlags::POLLIN)
            };
            match wait {
                Wait::Data => {}
                Wait::Control => {
                    if let Some(stop) = self.check_control() {
                        return with_bytes(stop, received);
                    }
                    continue;
                }
                Wait::Timeout => return Ended::TimedOut,
            }
            let step = pacer.as_ref().map_or(buf.len(), Pacer::step).min(buf.len());
            let n = match stream.read(&mut buf[..step]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // A TLS client that closes without close_notify has still sent it all.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
                Err(_) => {
                    return Ended::Failed {
                        bytes: received,
                        reply: Reply::new(451, msg::READ_ERROR),
                    };
                }
            };
            // Nothing beyond the quota reaches the disk.
            if limit.is_some_and(|limit| received + n as u64 > limit) {
                return Ended::OverQuota;
            }
            let written = if self.binary {
                file.write_all(&buf[..n])
            } else {
                let text: Vec<u8> = buf[..n].iter().copied().filter(|&b| b != b'\r').collect();
                file.write_all(&text)
            };
            // As Pure-FTPd, a write error (a full disk included) is transient: 451, so
            // that clients retry later (a 552 would make them give up for good).
            if written.is_err() {
                return Ended::Failed {
                    bytes: received,
                    reply: Reply::new(451, msg::WRITE_ERROR),
                };
            }
            received += n as u64;
            self.progress(received);
            if let Some(stop) = self.pace(&mut pacer, n as u64) {
                return with_bytes(stop, received);
            }
        }
        Ended::Complete(received)
    }

    /// Waits until the data connection is ready for `ready` (POLLIN: upload data,
    /// POLLOUT: room to send) or a command arrives, at most the idle time; writes
    /// progress that is due meanwhile.
    fn wait_data(&mut self, stream: &TcpStream, ready: PollFlags) -> Wait {
        let deadline = Instant::now() + self.idle;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let flush_in = self.scoreboard.as_ref().and_then(Scoreboard::flush_due_in);
            let wait = flush_in.map_or(left, |due| due.min(left));
            let mut fds = [
                PollFd::new(stream.as_fd(), ready),
                PollFd::new(
                    self.control.stream().as_fd(),
                    PollFlags::POLLIN | PollFlags::POLLPRI,
                ),
            ];
            let millis = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
            let ready = poll(
                &mut fds,
                PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX),
            );
            let control = fds[1].revents().is_some_and(|r| !r.is_empty());
            match ready {
                Ok(0) if flush_in.is_some() && wait < left => {
                    if let Some(board) = &mut self.scoreboard {
                        board.flush();
                    }
                }
                Ok(0) => return Wait::Timeout,
                _ if control => return Wait::Control,
                _ => return Wait::Data,
            }
        }
    }

    /// A send on the data connection failed: the client stopped reading for the idle
    /// time (the socket's send timeout), or the connection broke.
    fn send_failed(&self, error: &io::Error, bytes: u64) -> Ended {
        match error.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => Ended::TimedOut,
            _ => self.broken(bytes),
        }
    }

    fn broken(&self, bytes: u64) -> Ended {
        Ended::Failed {
            bytes,
            reply: Reply::new(426, msg::TRANSFER_ABORTED),
        }
    }

    /// `-s`: whether a file belongs to the anonymous account (an anonymous upload that
    /// no administrator has taken over yet).
    fn is_anonymous_upload(&self, meta: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        self.logged_in_ref()
            .is_some_and(|logged| logged.user.anonymous && meta.uid() == logged.user.uid)
    }

    /// Throttling: waits until the next step is due, watching for ABOR and QUIT.
    fn pace(&mut self, pacer: &mut Option<Pacer>, moved: u64) -> Option<Ended> {
        let pacer = pacer.as_mut()?;
        let due = Instant::now() + pacer.after(moved);
        loop {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            if self.wait_paced(left)
                && let Some(stop) = self.check_control()
            {
                return Some(stop);
            }
        }
    }

    /// An upload that never got its data connection, under quota or `-0`: what it
    /// created goes, so that the counters and the tree stay in step.
    fn abandon(&mut self, job: &Job) {
        if let Job::Upload {
            quota: Some(plan), ..
        } = job
        {
            let _ = self.settle_upload(plan, UploadEnd::OverQuota);
        }
    }

    /// The syslog line and the `-O` line of a transfer that moved bytes (complete, or
    /// cut short), naming the file as it is on the server.
    fn record_transfer(&self, path: &[u8], upload: bool, bytes: u64, elapsed: Duration) {
        let Some(logged) = self.logged_in_ref() else {
            return;
        };
        let real = logged.logged_path(path);
        let seconds = elapsed.as_secs_f64();
        let rate = if seconds > 0.0 {
            bytes as f64 / 1024.0 / seconds
        } else {
            0.0
        };
        let what = if upload { "uploaded" } else { "downloaded" };
        self.log.log(
            Level::Notice,
            &format!(
                "{} {what}  ({bytes} bytes, {rate:.2}KB/sec)",
                String::from_utf8_lossy(&real)
            ),
        );
        let clean = crate::vfs::normalize(b"/", b"/", &real);
        if upload && self.config.upload_script {
            let login = self.log.account.as_bytes();
            if let Err(e) = crate::upload_pipe::report(login, &clean) {
                self.log.log(
                    Level::Warning,
                    &format!(
                        "Upload of {} not reported: {e}",
                        String::from_utf8_lossy(&clean)
                    ),
                );
            }
        }
        if let Some(alt_log) = &self.alt_log {
            let transfer = crate::altlog::Transfer {
                upload,
                path: &clean,
                bytes,
                seconds,
                ascii: !self.binary,
                account: &self.log.account,
                host: &self.log.host,
                session_start: self.connected_at,
            };
            if let Err(e) = alt_log.write(&transfer) {
                self.log.log(
                    Level::Error,
                    &format!("Unable to write the transfer log: {e}"),
                );
            }
        }
    }

    fn progress(&mut self, current: u64) {
        if let Some(board) = &mut self.scoreboard {
            board.progress(current);
        }
    }

    fn board(&mut self, activity: Activity<'_>) {
        if let Some(board) = &mut self.scoreboard {
            board.set_activity(activity);
        }
    }
}

enum Wait {
    Data,
    Control,
    Timeout,
}

fn with_bytes(ended: Ended, bytes: u64) -> Ended {
    match ended {
        Ended::Aborted { quit, .. } => Ended::Aborted { bytes, quit },
        other => other,
    }
}

trait Seek2 {
    fn seek_end(&mut self) -> io::Result<()>;
    fn seek_to(&mut self, offset: u64) -> io::Result<()>;
}

impl Seek2 for File {
    fn seek_end(&mut self) -> io::Result<()> {
        io::Seek::seek(self, io::SeekFrom::End(0)).map(drop)
    }

    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        io::Seek::seek(self, io::SeekFrom::Start(offset)).map(drop)
    }
}
