//! The transfer engine: moves the bytes of one transfer between a file (or a ready
//! listing) and the data connection, while watching the control connection (ABOR and
//! QUIT stop it at once, any other command is refused while it runs), the idle time,
//! the bandwidth limit and the scoreboard's progress. It knows nothing of commands,
//! replies or logs: [`Ended`] says how it went, and the caller reports.
//!
//! Binary downloads in clear go through the kernel (`sendfile`, a megabyte at a time,
//! the socket non-blocking so a client that stops reading leaves the session in `poll`,
//! where ABOR and the idle time still reach it). ASCII mode converts line ends both
//! ways (LF to CRLF down, CR dropped up); TLS goes through user space. Binary uploads
//! in clear are spliced from the socket into the file (see `intake.rs`); long uploads
//! on ext4 have their blocks reserved ahead (see `preallocation.rs`).

use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use pureftpd_proto::command::{self, Parsed};
use pureftpd_proto::{Command, Reply};

use super::super::control::Control;
use super::super::data::DataStream;
use super::super::throttle::Pacer;
use super::intake::Intake;
use super::preallocation::Preallocation;
use crate::messages as msg;
use crate::scoreboard::Scoreboard;

/// Bytes sent per sendfile call between two looks at the control connection.
const SEND_CHUNK: usize = 1 << 20;
/// Copy buffer when the kernel cannot copy (ASCII, TLS).
const COPY_CHUNK: usize = 128 * 1024;

/// How a transfer ended.
#[derive(Debug)]
pub(crate) enum Ended {
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

impl Ended {
    /// Bytes moved, for a transfer to log: a complete one, or one cut short after it
    /// moved something.
    pub(crate) fn bytes(&self) -> Option<u64> {
        match self {
            Self::Complete(bytes) => Some(*bytes),
            Self::Aborted { bytes, .. } | Self::Failed { bytes, .. } => {
                (*bytes > 0).then_some(*bytes)
            }
            Self::TimedOut | Self::ControlLost | Self::OverQuota => None,
        }
    }
}

/// What one transfer watches besides its data connection.
pub(crate) struct Engine<'a> {
    pub(crate) control: &'a mut Control,
    /// Where progress goes (none without a scoreboard).
    pub(crate) scoreboard: Option<&'a mut Scoreboard>,
    /// The longest the data connection may stay silent.
    pub(crate) idle: Duration,
    /// TYPE I; otherwise line ends are converted.
    pub(crate) binary: bool,
    /// Bytes per second, when the transfer is throttled.
    pub(crate) rate: Option<u64>,
}

impl Engine<'_> {
    pub(crate) fn send_file(
        &mut self,
        file: &File,
        stream: &mut DataStream,
        offset: u64,
        len: u64,
    ) -> Ended {
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
        let mut pacer = self.rate.map(Pacer::new);
        while sent < len {
            let chunk = step_size(pacer.as_ref(), len - sent, SEND_CHUNK);
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
        let mut pacer = self.rate.map(Pacer::new);
        while read_total < len {
            let want = step_size(pacer.as_ref(), len - read_total, COPY_CHUNK);
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

    pub(crate) fn send_bytes(&mut self, stream: &mut DataStream, bytes: &[u8]) -> Ended {
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
    /// came. Blocks reserved ahead of it (see `preallocation.rs`) are given back past
    /// the file's end however it ends.
    pub(crate) fn receive_file(
        &mut self,
        file: &mut File,
        stream: &mut DataStream,
        limit: Option<u64>,
    ) -> Ended {
        let mut preallocation = Preallocation::new();
        let ended = self.receive_into(file, stream, limit, &mut preallocation);
        preallocation.give_back(file);
        ended
    }

    fn receive_into(
        &mut self,
        file: &mut File,
        stream: &mut DataStream,
        limit: Option<u64>,
        preallocation: &mut Preallocation,
    ) -> Ended {
        let mut intake = Intake::for_upload(stream, self.binary);
        let mut received = 0u64;
        let mut pacer = self.rate.map(Pacer::new);
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
            let step = step_size(pacer.as_ref(), u64::MAX, intake.chunk());
            let n = match intake.take(stream, step) {
                Ok(Some(0)) => break,
                Ok(Some(n)) => n,
                Ok(None) => continue,
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
            // As Pure-FTPd, a write error (a full disk included) is transient: 451, so
            // that clients retry later (a 552 would make them give up for good).
            preallocation.before_write(file, received, n);
            if intake.put(file, n).is_err() {
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

    /// Waits until the data connection is ready for `ready` (POLLIN: upload data,
    /// POLLOUT: room to send) or a command arrives, at most the idle time; writes
    /// progress that is due meanwhile.
    fn wait_data(&mut self, stream: &TcpStream, ready: PollFlags) -> Wait {
        let deadline = Instant::now() + self.idle;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let flush_in = self
                .scoreboard
                .as_deref()
                .and_then(Scoreboard::flush_due_in);
            let wait = flush_in.map_or(left, |due| due.min(left));
            let mut fds = [
                PollFd::new(stream.as_fd(), ready),
                PollFd::new(
                    self.control.poll_fd(),
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
                    if let Some(board) = self.scoreboard.as_deref_mut() {
                        board.flush();
                    }
                }
                Ok(0) => return Wait::Timeout,
                _ if control => return Wait::Control,
                _ => return Wait::Data,
            }
        }
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

    /// Waits `delay` while watching the control connection; `true` when a command
    /// (ABOR, QUIT) arrived that the transfer must look at.
    fn wait_paced(&self, delay: Duration) -> bool {
        if delay.is_zero() {
            return false;
        }
        let millis = i32::try_from(delay.as_millis()).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(
            self.control.poll_fd(),
            PollFlags::POLLIN | PollFlags::POLLPRI,
        )];
        matches!(
            poll(&mut fds, PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)),
            Ok(n) if n > 0
        )
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

    fn progress(&mut self, current: u64) {
        if let Some(board) = self.scoreboard.as_deref_mut() {
            board.progress(current);
        }
    }
}

enum Wait {
    Data,
    Control,
    Timeout,
}

/// Bytes to move next: what is left, at most `chunk`, at most the pacer's step.
fn step_size(pacer: Option<&Pacer>, left: u64, chunk: usize) -> usize {
    let step = pacer.map_or(chunk, Pacer::step);
    usize::try_from(left).unwrap_or(chunk).min(chunk).min(step)
}

/// `ended`, with the bytes moved when it is an abort.
fn with_bytes(ended: Ended, bytes: u64) -> Ended {
    match ended {
        Ended::Aborted { quit, .. } => Ended::Aborted { bytes, quit },
        other => other,
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
