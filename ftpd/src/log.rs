//! Syslog, as Pure-FTPd logs: ident `pure-ftpd` (with `[pid]` under `-1`), facility
//! from `-f` (`ftp` by default, `none` for no logging), lines
//! `(<account>@<host>) [LEVEL] text`, behind the header glibc's `syslog()` writes
//! (`<priority>Mmm dd hh:mm:ss ident: `, local time). The `/dev/log` socket is opened when the session
//! starts, before any chroot, and kept. Passwords are never given to the logger: the
//! only place that sees one logs `<*>` instead.
//!
//! Written here rather than with a syslog crate because the socket must outlive the
//! chroot and be shared by a forked process without reconnecting.

use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use jiff::tz::TimeZone;

/// Priority levels used, with their tag in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `[ERROR]`.
    Error,
    /// `[WARNING]`.
    Warning,
    /// `[NOTICE]`.
    Notice,
    /// `[INFO]`.
    Info,
    /// `[DEBUG]`.
    Debug,
}

impl Level {
    fn priority(self) -> u8 {
        match self {
            Self::Error => 3,
            Self::Warning => 4,
            Self::Notice => 5,
            Self::Info => 6,
            Self::Debug => 7,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Warning => "WARNING",
            Self::Notice => "NOTICE",
            Self::Info => "INFO",
            Self::Debug => "DEBUG",
        }
    }
}

/// How long one line may wait for room in the syslog daemon's queue.
const SYSLOG_PATIENCE: Duration = Duration::from_secs(1);

/// A session's logger.
#[derive(Debug)]
pub struct Logger {
    socket: Option<UnixDatagram>,
    /// The syslog daemon let a line wait [`SYSLOG_PATIENCE`] in vain: later lines are
    /// dropped at once until one goes through.
    stalled: AtomicBool,
    facility: u8,
    with_pid: bool,
    /// The session's process id, for `-1`: the pre-login process logs under its
    /// monitor's (see `privsep`), as one session.
    pid: u32,
    /// `?` until logged in.
    pub account: String,
    /// `?` until known.
    pub host: String,
    /// `-d`: log commands (1) and replies (2).
    pub verbose: u8,
    /// For the header's time stamp (read before any chroot).
    tz: TimeZone,
    /// The program name the lines carry (`pure-ftpd`, or `pure-sftpd`).
    ident: &'static str,
}

impl Logger {
    /// Connects to `/dev/log` (if logging is on and the socket exists).
    #[must_use]
    pub fn new(facility: Option<u8>, with_pid: bool, verbose: u8, tz: TimeZone) -> Self {
        let socket = facility.and_then(|_| {
            let socket = UnixDatagram::unbound().ok()?;
            socket.connect("/dev/log").ok()?;
            // A backlogged syslog daemon must never stall a session for long (see
            // `send`).
            socket.set_nonblocking(true).ok()?;
            Some(socket)
        });
        Self {
            socket,
            stalled: AtomicBool::new(false),
            facility: facility.unwrap_or(0),
            with_pid,
            pid: std::process::id(),
            account: "?".to_string(),
            host: "?".to_string(),
            verbose,
            tz,
            ident: "pure-ftpd",
        }
    }

    /// Names another program in the lines (`pure-sftpd`).
    #[must_use]
    pub fn named(mut self, ident: &'static str) -> Self {
        self.ident = ident;
        self
    }

    /// The syslog socket's descriptor, if connected (a pre-login process keeps it).
    #[must_use]
    pub fn socket_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.socket.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Logs one line. Control characters in the text become `_`, so that a file name
    /// cannot forge a log line.
    pub fn log(&self, level: Level, text: &str) {
        let Some(socket) = &self.socket else { return };
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { '_' } else { c })
            .collect();
        let ident = if self.with_pid {
            format!("{}[{}]", self.ident, self.pid)
        } else {
            self.ident.to_string()
        };
        let stamp = jiff::Timestamp::now()
            .to_zoned(self.tz.clone())
            .strftime("%b %e %H:%M:%S");
        let line = format!(
            "<{}>{stamp} {ident}: ({}@{}) [{}] {clean}",
            u16::from(self.facility) * 8 + u16::from(level.priority()),
            self.account,
            self.host,
            level.tag()
        );
        self.send(socket, line.as_bytes());
    }

    /// Sends a line. The daemon's queue is short (`net.unix.max_dgram_qlen`, 10 on
    /// Debian) and shared by every process that logs, so a burst of lines (`-d -d`) can
    /// find it full: the line waits for room, as glibc's `syslog()` (Pure-FTPd's) waits,
    /// but at most [`SYSLOG_PATIENCE`]; a daemon that let one line wait that long in vain
    /// gets the next ones dropped at once until it takes one again, so logging never
    /// stops a session for long.
    fn send(&self, socket: &UnixDatagram, line: &[u8]) {
        // Set at the first full queue: a line that goes through at once pays nothing.
        let mut deadline = None;
        loop {
            match socket.send(line) {
                Ok(_) => {
                    self.stalled.store(false, Ordering::Relaxed);
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                // No daemon (any more): the line is lost, as with glibc's.
                Err(_) => return,
            }
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + SYSLOG_PATIENCE);
            let left = deadline.saturating_duration_since(Instant::now());
            if self.stalled.load(Ordering::Relaxed) || left.is_zero() {
                self.stalled.store(true, Ordering::Relaxed);
                return;
            }
            // Woken when the daemon takes a line, and in any case tried again every
            // 10 ms: another process may take the room first, and a wake-up may not come.
            let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLOUT)];
            let slice = left.min(Duration::from_millis(10));
            let _ = poll(
                &mut fds,
                PollTimeout::try_from(slice).unwrap_or(PollTimeout::MAX),
            );
        }
    }

    /// `-d`: a command, with PASS's argument hidden.
    pub fn command(&self, verb: &[u8], arg: &[u8]) {
        if self.verbose == 0 {
            return;
        }
        let verb = String::from_utf8_lossy(verb);
        let arg = if verb == "pass" {
            "<*>".into()
        } else {
            String::from_utf8_lossy(arg)
        };
        self.log(Level::Debug, &format!("Command [{verb}] [{arg}]"));
    }
}
