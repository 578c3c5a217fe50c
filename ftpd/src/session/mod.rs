//! One client's session: a blocking loop that reads a command, parses it into a
//! [`Command`], hands it to the handler of its family (one file each), and performs the
//! `Outcome` the handler returns: send a reply, transfer data, or close.
//!
//! The state is an enum (`State`): there is no password step without a user name and
//! no file system before login. Which commands work before login is one `match`
//! ([`Command::allowed_before_login`]); the handlers of the others receive the login
//! itself (`dispatch.rs`).

pub(crate) mod aliases;
mod control;
mod data;
mod dispatch;
mod files;
mod lists;
pub(crate) mod login;
mod magic;
mod misc;
mod security;
pub(crate) mod throttle;
mod transfer;
mod upload_plan;

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use pureftpd_proto::command::{self, Parsed};
use pureftpd_proto::{Command, Reply};
use rustls::ServerConfig;

use crate::auth::LoggedUser;
use crate::config::Config;
use crate::log::{Level, Logger};
use crate::messages as msg;
use crate::scoreboard::Scoreboard;
use crate::vfs::Vfs;
use crate::vfs::listing;
pub(crate) use control::Control;
use control::ReadError;
use data::DataSetup;
use transfer::Job;

/// Where the session is.
pub(crate) enum State {
    /// Waiting for USER.
    AwaitUser,
    /// USER given, waiting for PASS.
    AwaitPass {
        /// The login.
        user: Vec<u8>,
    },
    /// Logged in.
    LoggedIn(Box<LoggedIn>),
}

/// What exists only once logged in.
pub(crate) struct LoggedIn {
    pub(crate) user: LoggedUser,
    pub(crate) vfs: Vfs,
    /// The real directory the session's `/` is.
    pub(crate) base: std::path::PathBuf,
    /// Quotas, when they apply to the account.
    pub(crate) quota: Option<crate::quota::Quota>,
    /// Bandwidth limits and ratio.
    pub(crate) policies: throttle::Policies,
    pub(crate) list: listing::Context,
}

impl LoggedIn {
    pub(crate) fn anonymous(&self) -> bool {
        self.user.anonymous
    }

    /// The quota status lines (none without quotas).
    pub(crate) fn quota_lines(&self) -> Vec<String> {
        self.quota
            .as_ref()
            .map(crate::quota::Quota::status)
            .unwrap_or_default()
    }

    /// Adjusts the quota counters (if any) after an operation; returns the status lines
    /// of the new usage (none without quotas).
    pub(crate) fn count(&self, files: i64, bytes: i64) -> Vec<String> {
        self.quota
            .as_ref()
            .and_then(|quota| {
                let usage = quota.adjust(&self.vfs, files, bytes).ok()?;
                Some(crate::quota::status_lines(usage, quota.limits))
            })
            .unwrap_or_default()
    }

    /// A path of the session's file system as it is on the server, as Pure-FTPd logs it:
    /// the chroot base, `/`, then the path (hence a `//`).
    pub(crate) fn logged_path(&self, path: &[u8]) -> Vec<u8> {
        crate::transfer_record::real_path(&self.base, path)
    }
}

/// Longest silence allowed during a TLS handshake.
pub(crate) const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a handler asks the loop to do.
pub(crate) enum Outcome {
    /// Send this reply.
    Reply(Reply),
    /// Send this reply and end the session.
    Close(Reply),
    /// Open the data connection and run this transfer.
    Transfer(Box<Job>),
    /// Send this reply in clear, then switch the control connection to TLS.
    StartTls(Reply),
    /// Send this reply under TLS, then go on in clear (CCC).
    StopTls(Reply),
    /// In the pre-login process: the monitor accepted the login; hand over and stop
    /// (see [`crate::privsep`]).
    HandOver,
    /// End the session without a word (the monitor is gone).
    End,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Self {
        Self::Reply(reply)
    }
}

/// Facts about the connection and the server the session needs from the listener.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// This session's number among those running, itself included.
    pub number: usize,
    /// The most sessions the server runs at once (`-c`, capped by the `-p` range).
    pub max_clients: u32,
    /// Whether the server also accepts IPv6 clients.
    pub ipv6_available: bool,
}

/// Whether the greeting says IPv6 clients are welcome (and EPRT lists protocol 2): as
/// Pure-FTPd, whenever the kernel has IPv6 and `-4` was not given, whatever `-S` names.
#[must_use]
pub fn ipv6_available(config: &Config) -> bool {
    !config.ipv4_only
        && socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).is_ok()
}

/// A session in progress.
pub(crate) struct Session<'c> {
    pub(crate) config: &'c Config,
    pub(crate) control: Control,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) state: State,
    pub(crate) binary: bool,
    pub(crate) data: DataSetup,
    pub(crate) epsv_all: bool,
    pub(crate) restart: u64,
    pub(crate) rename_from: Option<Vec<u8>>,
    pub(crate) uploaded: u64,
    pub(crate) downloaded: u64,
    pub(crate) failures: u32,
    pub(crate) cwd_failures: u32,
    pub(crate) idle: Duration,
    pub(crate) idle_commands_since: Option<Instant>,
    pub(crate) log: Logger,
    pub(crate) scoreboard: Option<Scoreboard>,
    pub(crate) tz: TimeZone,
    pub(crate) stou_counter: u16,
    /// The 5-minute load average when the client connected (for `-m`).
    pub(crate) load: f64,
    /// Whether the server also serves IPv6.
    pub(crate) ipv6_available: bool,
    /// The TLS configuration, when TLS is on (`-Y` above 0, or implicit TLS).
    pub(crate) tls: Option<Arc<ServerConfig>>,
    /// PROT P: data connections use TLS.
    pub(crate) private_data: bool,
    /// `-O`: the transfer log, opened when the client connected.
    pub(crate) alt_log: Option<crate::altlog::AltLog>,
    /// When the client connected, seconds since 1970.
    pub(crate) connected_at: i64,
    /// The `Logout.` line is in the log already.
    pub(crate) logged_out: bool,
    /// Directory aliases (none without the file; read at login).
    pub(crate) aliases: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    /// Binds port 20 for active mode (started at login when the server runs as root).
    pub(crate) port20: Option<crate::port20::Helper>,
    /// In a pre-login process (privilege separation): the way to the monitor, which
    /// answers USER, PASS and certificate requests.
    pub(crate) monitor: Option<crate::privsep::preauth::Gate>,
    /// In a monitor before the handover: the pre-login process holds the control
    /// connection's TLS session (with the server name the client asked for).
    pub(crate) tls_elsewhere: Option<Option<String>>,
}

/// The session's syslog (saying who connected) and its `-O` transfer log, opened now,
/// before any chroot hides the file.
fn open_logs(
    config: &Config,
    peer: SocketAddr,
    tz: &TimeZone,
) -> (Logger, Option<crate::altlog::AltLog>) {
    let mut log = Logger::new(
        config.syslog_facility,
        config.log_pid,
        config.verbose,
        tz.clone(),
    );
    log.host = host_name(peer, config.dont_resolve);
    log.log(Level::Info, &format!("New connection from {}", log.host));
    let alt_log = config.alt_log.as_ref().and_then(|spec| {
        crate::altlog::AltLog::open(spec, tz.clone())
            .map_err(|e| {
                log.log(
                    Level::Error,
                    &format!("Unable to open the log {}: {e}", spec.path.display()),
                );
            })
            .ok()
    });
    (log, alt_log)
}

/// Serves one client until it leaves.
pub fn run(
    stream: TcpStream,
    peer: SocketAddr,
    config: &Config,
    tls: Option<Arc<ServerConfig>>,
    origin: Origin,
    scoreboard: Option<Scoreboard>,
) {
    let Ok(local) = stream.local_addr() else {
        return;
    };
    if config.stop_sessions {
        let _ = pureftpd_os::exit_on_sigterm_saying(msg::GOING_DOWN);
    }
    configure_control_socket(&stream);
    let mut session = Session::new(stream, peer, local, config, tls, &origin, scoreboard);
    session.control.set_send_timeout(session.idle);
    // Made now: -F reads a file, which the pre-login process could not.
    let banner = session.banner(origin);
    if crate::privsep::wanted() {
        match crate::privsep::split(&mut session) {
            Ok(crate::privsep::Side::Monitor(ends, preauth)) => {
                crate::privsep::monitor::serve(&mut session, ends, preauth);
                return;
            }
            Ok(crate::privsep::Side::PreLogin) => {}
            Err(e) => {
                session
                    .log
                    .log(Level::Error, &format!("Unable to separate privileges: {e}"));
                let _ = session.send_reply(&Reply::new(421, msg::SEPARATION_FAILED));
                return;
            }
        }
    }
    greet_and_serve(&mut session, &banner);
}

/// The greeting (after the TLS handshake under implicit TLS), then commands until the
/// session ends.
fn greet_and_serve(session: &mut Session<'_>, banner: &Reply) {
    if session.config.implicit_tls {
        // Implicit FTPS: TLS from the first byte, data protected by default.
        if !session.begin_tls() {
            return;
        }
        session.private_data = true;
    }
    if session.send_reply(banner).is_err() {
        return;
    }
    session.serve();
    session.log_logout();
}

impl<'a> Session<'a> {
    /// A session that has said nothing yet, in the state before `USER`.
    fn new(
        stream: TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        config: &'a Config,
        tls: Option<Arc<ServerConfig>>,
        origin: &Origin,
        scoreboard: Option<Scoreboard>,
    ) -> Self {
        let tz = crate::time_zone::local();
        let (log, alt_log) = open_logs(config, peer, &tz);
        Session {
            config,
            control: Control::new(stream),
            peer,
            local,
            state: State::AwaitUser,
            binary: false,
            data: DataSetup::None,
            epsv_all: false,
            restart: 0,
            rename_from: None,
            uploaded: 0,
            downloaded: 0,
            failures: 0,
            cwd_failures: 0,
            idle: config.max_idle,
            idle_commands_since: None,
            log,
            scoreboard,
            tz,
            stou_counter: 0,
            // Read only where -m needs it (as Pure-FTPd): a file read per session.
            load: if config.max_load.is_some() {
                load_average()
            } else {
                0.0
            },
            ipv6_available: origin.ipv6_available,
            private_data: false,
            tls,
            alt_log,
            connected_at: jiff::Timestamp::now().as_second(),
            logged_out: false,
            aliases: None,
            port20: None,
            monitor: None,
            tls_elsewhere: None,
        }
    }
}

impl Session<'_> {
    pub(crate) fn serve(&mut self) {
        let mut released = false;
        loop {
            // Once logged in (here, or in the monitor before this process got the
            // session), the pages the login touched and no longer needs are given back,
            // from this shallow frame: the password check and entering the account went
            // deeper into the stack and through more of the heap than an idle session
            // needs, and this process would keep them as its own copies until it ends.
            if !released && matches!(self.state, State::LoggedIn(_)) {
                pureftpd_os::release_unused_memory();
                released = true;
            }
            let line = match self.control.read_line(self.idle) {
                Ok(line) => line,
                Err(ReadError::Timeout) => {
                    let _ = self.send_reply(&Reply::new(421, msg::TIMEOUT));
                    return;
                }
                Err(ReadError::TooLong) => {
                    self.log.log(Level::Warning, msg::LINE_TOO_LONG);
                    let _ = self.send_reply(&Reply::new(421, msg::LINE_TOO_LONG));
                    return;
                }
                Err(ReadError::Closed) => return,
            };
            if !self.config.proxy_from.is_empty() && crate::proxy_protocol::looks_like_header(&line)
            {
                // Only the listed balancers' headers count, read before the greeting.
                self.log.log(
                    Level::Warning,
                    "A PROXY header from an address not listed in --proxyprotocol",
                );
                let _ = self.send_reply(&Reply::new(421, msg::PROXY_HEADER_REFUSED));
                return;
            }
            let Parsed::Command(command) = command::parse(&line) else {
                continue;
            };
            self.log_command(&line);
            let outcome = self.dispatch(command);
            if !self.perform(outcome) {
                return;
            }
        }
    }

    /// Performs an outcome; false when the session must end.
    fn perform(&mut self, outcome: Outcome) -> bool {
        match outcome {
            Outcome::Reply(reply) => self.send_reply(&reply).is_ok(),
            Outcome::Close(reply) => {
                let _ = self.send_reply(&reply);
                false
            }
            Outcome::Transfer(job) => self
                .with_login(|session, logged| session.run_transfer(logged, *job))
                .unwrap_or(false),
            Outcome::StartTls(reply) => self.send_reply(&reply).is_ok() && self.begin_tls(),
            Outcome::StopTls(reply) => {
                self.log_reply(&reply);
                let timeout = self.idle.min(Duration::from_secs(30));
                let stopped = self.control.stop_tls(&reply.encode(), timeout).is_ok();
                if let Some(board) = &mut self.scoreboard {
                    board.set_encrypted(false);
                }
                stopped
            }
            Outcome::HandOver => {
                self.hand_over();
                false
            }
            Outcome::End => {
                // The monitor logs the end, if anything.
                self.logged_out = true;
                false
            }
        }
    }

    /// Logs `Logout.` once.
    pub(crate) fn log_logout(&mut self) {
        if !self.logged_out {
            self.logged_out = true;
            self.log.log(Level::Info, msg::LOGOUT);
        }
    }

    /// Sends a reply; with `-d -d` each of its lines is logged too, as Pure-FTPd does.
    pub(crate) fn send_reply(&mut self, reply: &Reply) -> std::io::Result<()> {
        self.log_reply(reply);
        self.control.send(reply)
    }

    /// With `-d -d`, each line of a reply goes to the log as it is sent.
    fn log_reply(&self, reply: &Reply) {
        if self.log.verbose >= 2 {
            let encoded = reply.encode();
            for line in encoded.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                self.log.log(Level::Debug, &String::from_utf8_lossy(line));
            }
        }
    }

    /// Runs the TLS handshake on the control connection; false ends the session.
    pub(crate) fn begin_tls(&mut self) -> bool {
        let Some(base) = self.tls.clone() else {
            return false;
        };
        let timeout = self.idle.min(TLS_HANDSHAKE_TIMEOUT);
        // pure-certd is asked only before login, as in Pure-FTPd (after it, the session
        // may be chrooted and the certificate files out of reach).
        let ext_cert = self
            .config
            .ext_cert
            .clone()
            .filter(|_| !matches!(self.state, State::LoggedIn(_)));
        let mut chosen = base.clone();
        let log = &self.log;
        let monitor = self.monitor.as_ref();
        let choose = |name: Option<&str>| {
            if let Some(name) = name {
                log.log(Level::Info, &format!("SNI: [{name}]"));
            }
            if let (Some(gate), Some(_), Some(name)) = (monitor, &ext_cert, name) {
                chosen = gate.certificate(name, &base)?;
            } else if let (Some(socket), Some(name)) = (&ext_cert, name) {
                let choice = crate::certd::choose(socket, name, &base).map_err(|r| r.0)?;
                if let Some(note) = choice.note {
                    log.log(Level::Debug, &note);
                }
                chosen = choice.config;
            }
            Ok(chosen.clone())
        };
        let started = self.control.start_tls(choose, timeout);
        crate::metrics::tls_handshake(true, started.is_ok());
        if let Err(e) = started {
            self.log
                .log(Level::Info, &format!("TLS handshake failed: {e}"));
            return false;
        }
        self.tls = Some(chosen);
        if let Some(description) = self.control.tls_description() {
            self.log.log(Level::Info, &description);
        }
        if let Some(board) = &mut self.scoreboard {
            board.set_encrypted(true);
        }
        if let Some(gate) = &self.monitor {
            return gate
                .tell(&crate::privsep::protocol::Request::Encrypted { on: true })
                .is_ok();
        }
        true
    }

    fn log_command(&self, line: &[u8]) {
        if self.log.verbose == 0 {
            return;
        }
        let verb = Command::verb(line);
        let arg = line
            .iter()
            .position(|&b| b == b' ')
            .map_or(&[][..], |i| &line[i + 1..]);
        self.log.command(&verb, arg);
    }
}

/// The 5-minute load average, from /proc/loadavg (0 if unknown).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0.0)
}

/// IPv4-mapped IPv6 addresses as IPv4.
#[must_use]
pub fn canonical_ip(ip: std::net::IpAddr) -> std::net::IpAddr {
    data::canonical(ip)
}

/// Control connection options as Pure-FTPd sets them: no Nagle delay, urgent data
/// inline (so Telnet's Synch before ABOR reads as a normal byte), low-delay TOS.
fn configure_control_socket(stream: &TcpStream) {
    let socket = socket2::SockRef::from(stream);
    let _ = socket.set_tcp_nodelay(true);
    let _ = socket.set_out_of_band_inline(true);
    if stream.local_addr().is_ok_and(|a| a.is_ipv4()) {
        let _ = socket.set_tos_v4(0x10);
    }
}

/// The client's host for the logs: its name by reverse lookup, as Pure-FTPd does
/// unless `-H`, else (or when the lookup fails) its address. Only host-name characters
/// are kept, so a hostile PTR record cannot forge a log line.
pub(crate) fn host_name(peer: SocketAddr, dont_resolve: bool) -> String {
    let ip = canonical_ip(peer.ip());
    let name = if dont_resolve {
        ip.to_string()
    } else {
        dns_lookup::lookup_addr(&ip).unwrap_or_else(|_| ip.to_string())
    };
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
