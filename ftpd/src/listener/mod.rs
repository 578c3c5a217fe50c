//! The master: binds, accepts, enforces `-c` and `-C`, forks one process per session,
//! reaps them and removes their scoreboard files. It is single-threaded on purpose (no
//! runtime, no logging thread), which is what makes `fork` safe; signals reach it
//! through self-pipes (signal-hook), so its loop is one `poll`.
//!
//! SIGTERM or SIGINT stop it as they stop Pure-FTPd's: the listening sockets close and
//! the master exits (removing its pid file), while the sessions go on and finish what
//! they are doing, so that `systemctl restart` or an upgrade cuts no transfer. Their
//! scoreboard records stay while they run; a new master removes the ones whose process
//! is gone. With `--stopsessions` the sessions are ended too: each gets SIGTERM, tells
//! its client `421` (in clear text only) and exits, and stragglers are killed after a
//! few seconds.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use pureftpd_os::ForkResult;
use pureftpd_proto::Reply;
use rustls::ServerConfig;

use crate::tls_tickets::{ROTATION, SharedTickets};

use crate::config::Config;
use crate::messages as msg;
use crate::scoreboard::{self, Scoreboard};
use crate::session::{self, Origin};
use crate::sftp::refusal::TOO_MANY_CONNECTIONS;

mod inetd;
mod setup;
mod spares;
mod turned_away;

pub use inetd::serve_inetd;
pub(crate) use setup::listen;
use setup::{bind, daemonize, pid_file, write_pid_file};

/// How long sessions get to end after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Where the signal handlers tell the master's loop about SIGHUP, SIGCHLD and
/// SIGTERM/SIGINT.
struct SelfPipes {
    hup: UnixStream,
    chld: UnixStream,
    term: UnixStream,
}

/// A running child session.
struct Child {
    peer: IpAddr,
    /// Its slot in the metrics table (`--metrics`).
    slot: Option<usize>,
    /// The spare scoreboard file it was given.
    spare: Option<u32>,
}

/// What the sessions of a server speak.
enum Protocol {
    /// FTP, and FTPS with a certificate.
    Ftp(Option<Arc<ServerConfig>>),
    /// SFTP (`pure-sftpd`) with these SSH settings, host keys and user keys.
    Sftp(Arc<crate::sftp::Server>),
}

/// Runs the standalone server until SIGTERM; returns the exit status.
pub fn run(config: &Config, tls: Option<Arc<ServerConfig>>) -> i32 {
    serve_protocol(config, Protocol::Ftp(tls))
}

/// Runs `pure-sftpd`'s standalone server (the same master: `-S`, `-c`, `-C`, `-B`, `-g`,
/// signals, the scoreboard) until SIGTERM; returns the exit status.
pub fn run_sftp(config: &Config, ssh: Arc<crate::sftp::Server>) -> i32 {
    serve_protocol(config, Protocol::Sftp(ssh))
}

fn serve_protocol(config: &Config, protocol: Protocol) -> i32 {
    let program = match protocol {
        Protocol::Ftp(_) => "pure-ftpd",
        Protocol::Sftp(_) => "pure-sftpd",
    };
    let listeners = match bind(config) {
        Ok(listeners) => listeners,
        Err(e) => {
            eprintln!(
                "{program}: unable to listen on {}:{}: {e}",
                config.bind_host.as_deref().unwrap_or("*"),
                config.bind_port
            );
            return 1;
        }
    };
    let metrics = match config
        .metrics
        .as_deref()
        .map(crate::metrics::endpoint::bind)
    {
        None => None,
        Some(Ok(listener)) => Some(listener),
        Some(Err(e)) => {
            eprintln!(
                "pure-ftpd: --metrics: unable to listen on {}: {e}",
                config.metrics.as_deref().unwrap_or_default()
            );
            return 1;
        }
    };
    if metrics.is_some()
        && let Err(e) = crate::metrics::enable(config.max_sessions() as usize)
    {
        eprintln!("pure-ftpd: --metrics: cannot map the counters: {e}");
        return 1;
    }
    if config.daemonize && !daemonize() {
        return 0;
    }
    let pid_file = pid_file(config);
    if let Some(path) = &pid_file {
        write_pid_file(path);
    }
    let board_dir = scoreboard::directory();
    let boards = scoreboard::prepare_directory(&board_dir).is_ok();
    if boards {
        // Left by sessions that outlived an earlier master (or by a crash).
        scoreboard::remove_stale(&board_dir);
    }
    let (tls, ssh) = match protocol {
        Protocol::Ftp(tls) => (tls, None),
        Protocol::Sftp(ssh) => (None, Some(ssh)),
    };
    let code = match Master::new(config, tls, listeners, board_dir, boards) {
        Ok(mut master) => {
            master.metrics = metrics.map(crate::metrics::endpoint::Endpoint::new);
            if ssh.is_some() {
                // SFTP has no active mode.
                master.port20 = None;
            }
            master.ssh = ssh;
            master.serve()
        }
        Err(e) => {
            eprintln!("{program}: cannot set up signal handling: {e}");
            1
        }
    };
    if let Some(path) = &pid_file {
        let _ = std::fs::remove_file(path);
    }
    code
}

struct Master<'c> {
    config: &'c Config,
    tls: Option<Arc<ServerConfig>>,
    listeners: Vec<TcpListener>,
    children: HashMap<Pid, Child>,
    board_dir: PathBuf,
    boards: bool,
    /// Read ends of the self-pipes (none in a session, which closes them).
    pipes: Option<SelfPipes>,
    /// The signal handlers writing to the self-pipes (whose write ends they own).
    handlers: Vec<signal_hook::SigId>,
    max_clients: usize,
    /// Whether the greeting welcomes IPv6 clients: asked of the kernel once, at start.
    ipv6_available: bool,
    /// Certificate files sessions read for pure-certd (`-3`), to load once for all.
    cert_hints: Option<std::os::unix::net::UnixDatagram>,
    /// The TLS ticket keys every session inherits, and when the master rotates them.
    tickets: Option<(Arc<SharedTickets>, Instant)>,
    /// The metrics process (`--metrics`).
    metrics: Option<crate::metrics::endpoint::Endpoint>,
    /// The port-20 helper of all sessions (as root only: binding port 20 needs it).
    port20: Option<crate::port20::service::Service>,
    /// `pure-sftpd`: the sessions speak SFTP with these settings.
    ssh: Option<Arc<crate::sftp::Server>>,
    /// SSH clients just refused.
    turned_away: turned_away::TurnedAway,
    /// Ended sessions' scoreboard files, kept for the next ones.
    spares: spares::Spares,
}

impl<'c> Master<'c> {
    fn new(
        config: &'c Config,
        tls: Option<Arc<ServerConfig>>,
        listeners: Vec<TcpListener>,
        board_dir: PathBuf,
        boards: bool,
    ) -> io::Result<Self> {
        let (chld, chld_writer) = UnixStream::pair()?;
        let (term, term_writer) = UnixStream::pair()?;
        let (hup, hup_writer) = UnixStream::pair()?;
        for stream in [&chld, &term, &hup, &chld_writer, &term_writer, &hup_writer] {
            stream.set_nonblocking(true)?;
        }
        let handlers = vec![
            signal_hook::low_level::pipe::register(signal_hook::consts::SIGHUP, hup_writer)?,
            signal_hook::low_level::pipe::register(signal_hook::consts::SIGCHLD, chld_writer)?,
            signal_hook::low_level::pipe::register(
                signal_hook::consts::SIGTERM,
                term_writer.try_clone()?,
            )?,
            signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, term_writer)?,
            // SIGIO is what Linux sends a lease holder when the file is opened: the
            // master holds a lease for an instant when it keeps a spare scoreboard file
            // (`spares.rs`), and an admin reading the directory at that instant must
            // not end it (SIGIO's default action) but only make it take the signal.
            signal_hook::flag::register(
                signal_hook::consts::SIGIO,
                Arc::new(std::sync::atomic::AtomicBool::new(false)),
            )?,
        ];
        let max_clients = usize::try_from(config.max_sessions()).unwrap_or(usize::MAX);
        let tickets = match &tls {
            Some(_) => Some((
                SharedTickets::new().map_err(io::Error::other)?,
                Instant::now() + ROTATION,
            )),
            None => None,
        };
        let tls = tls.map(|tls| match &tickets {
            Some((keys, _)) => crate::tls::with_tickets(&tls, keys),
            None => tls,
        });
        Ok(Self {
            config,
            tls,
            tickets,
            listeners,
            children: HashMap::new(),
            board_dir,
            boards,
            pipes: Some(SelfPipes { hup, chld, term }),
            handlers,
            max_clients,
            ipv6_available: session::ipv6_available(config),
            cert_hints: if config.ext_cert.is_some() {
                Some(crate::certd::open_hints()?)
            } else {
                None
            },
            metrics: None,
            port20: nix::unistd::geteuid()
                .is_root()
                .then(crate::port20::service::Service::default),
            ssh: None,
            turned_away: turned_away::TurnedAway::default(),
            spares: spares::Spares::new(),
        })
    }

    fn serve(&mut self) -> i32 {
        loop {
            if let Some(metrics) = &mut self.metrics {
                metrics.start();
                crate::metrics::master_memory();
            }
            if let Some(port20) = &mut self.port20 {
                port20.start();
            }
            let (ready, hinted, reload, stop) = {
                let mut fds: Vec<PollFd<'_>> = self
                    .listeners
                    .iter()
                    .map(|l| PollFd::new(l.as_fd(), PollFlags::POLLIN))
                    .collect();
                if let Some(hints) = &self.cert_hints {
                    fds.push(PollFd::new(hints.as_fd(), PollFlags::POLLIN));
                }
                let pipes = self.pipes();
                fds.push(PollFd::new(pipes.hup.as_fd(), PollFlags::POLLIN));
                fds.push(PollFd::new(pipes.chld.as_fd(), PollFlags::POLLIN));
                fds.push(PollFd::new(pipes.term.as_fd(), PollFlags::POLLIN));
                if poll(&mut fds, self.poll_timeout()).is_err() {
                    continue;
                }
                let readable = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
                let ready: Vec<usize> = (0..self.listeners.len())
                    .filter(|&i| readable(&fds[i]))
                    .collect();
                let hinted = self.cert_hints.is_some() && readable(&fds[self.listeners.len()]);
                (
                    ready,
                    hinted,
                    readable(&fds[fds.len() - 3]),
                    readable(&fds[fds.len() - 1]),
                )
            };
            self.reap();
            self.turned_away.release_due();
            self.rotate_tickets_when_due();
            if let (true, Some(hints), Some(tls)) = (hinted, &self.cert_hints, &self.tls) {
                crate::certd::take_hints(hints, tls);
            }
            if reload {
                self.reload_tls();
            }
            if stop {
                self.stop();
                return 0;
            }
            for i in ready {
                if let Ok((stream, peer)) = self.listeners[i].accept() {
                    self.admit(stream, peer);
                }
            }
        }
    }

    /// SIGHUP: reads the certificate and key again for the sessions to come; if they are
    /// unusable now, the ones in use stay.
    fn reload_tls(&mut self) {
        let mut drain = [0u8; 64];
        while matches!((&self.pipes().hup).read(&mut drain), Ok(n) if n > 0) {}
        if self.tls.is_none() {
            return;
        }
        match crate::tls::server_config(self.config) {
            // The ticket keys stay: clients keep resuming across a reload.
            Ok(Some(fresh)) => {
                self.tls = Some(match &self.tickets {
                    Some((keys, _)) => crate::tls::with_tickets(&fresh, keys),
                    None => fresh,
                });
            }
            Ok(None) => {}
            Err(e) => eprintln!("pure-ftpd: SIGHUP: keeping the current certificate: {e}"),
        }
    }

    /// How long the loop may wait: until the ticket keys are due for rotation, the
    /// metrics process for a restart, or a refused SSH client for its close.
    fn poll_timeout(&self) -> PollTimeout {
        let rotation = self
            .tickets
            .as_ref()
            .map(|(_, due)| due.saturating_duration_since(Instant::now()));
        let restart = self
            .metrics
            .as_ref()
            .and_then(crate::metrics::endpoint::Endpoint::restart_due_in);
        let helper = self
            .port20
            .as_ref()
            .and_then(crate::port20::service::Service::restart_due_in);
        let held = self.turned_away.next_due_in();
        let Some(left) = rotation
            .into_iter()
            .chain(restart)
            .chain(helper)
            .chain(held)
            .min()
        else {
            return PollTimeout::NONE;
        };
        // Rounded up, so that the loop never spins in the last millisecond.
        PollTimeout::try_from(left + Duration::from_millis(1)).unwrap_or(PollTimeout::MAX)
    }

    /// Every [`ROTATION`]: a fresh sealing key for the sessions forked from now on.
    fn rotate_tickets_when_due(&mut self) {
        let (Some((keys, due)), Some(tls)) = (&self.tickets, &self.tls) else {
            return;
        };
        if Instant::now() < *due {
            return;
        }
        // Without randomness now, the current key serves one more rotation.
        let keys = keys.rotated().unwrap_or_else(|_| Arc::clone(keys));
        self.tls = Some(crate::tls::with_tickets(tls, &keys));
        self.tickets = Some((keys, Instant::now() + ROTATION));
    }

    /// Turns a client away with `text`: pure-ftpd's `421` reply, or for SSH an SSH
    /// disconnect with `ssh_reason` (`sftp::refusal`), the socket then held a moment
    /// (`turned_away.rs`).
    fn refuse(&mut self, mut stream: TcpStream, ssh_reason: u32, text: &str) {
        if self.ssh.is_some() {
            let _ = stream.write_all(&crate::sftp::refusal::refusal(ssh_reason, text));
            self.turned_away.hold(stream);
        } else {
            let _ = stream.write_all(&Reply::new(421, text).encode());
        }
    }

    /// Applies the limits, then forks a session.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        let peer_ip = session::canonical_ip(peer.ip());
        // A load balancer's connections carry the client's address in a header the
        // session reads; -C counts them there (see proxied_client).
        let proxied = self.config.proxy_from.contains(&peer_ip);
        if self.children.len() >= self.max_clients {
            crate::metrics::count(crate::metrics::Count::RefusedMaxClients);
            let max = u32::try_from(self.max_clients).unwrap_or(u32::MAX);
            self.refuse(stream, TOO_MANY_CONNECTIONS, &msg::too_many_users(max));
            return;
        }
        if let Some(per_ip) = self.config.max_clients_per_ip.filter(|_| !proxied) {
            let from_peer = self.children.values().filter(|c| c.peer == peer_ip).count();
            if from_peer >= usize::try_from(per_ip).unwrap_or(usize::MAX) {
                crate::metrics::count(crate::metrics::Count::RefusedPerIp);
                self.refuse(stream, TOO_MANY_CONNECTIONS, &msg::too_many_from_ip(per_ip));
                return;
            }
        }
        let slot = crate::metrics::claim_slot();
        let spare = self.boards.then(|| self.spares.take()).flatten();
        let port20 = self.port20.as_ref().and_then(|service| {
            let local = stream.local_addr().ok()?;
            service.channel_for(session::canonical_ip(local.ip()))
        });
        let origin = Origin {
            number: self.children.len() + 1,
            max_clients: u32::try_from(self.max_clients).unwrap_or(u32::MAX),
            ipv6_available: self.ipv6_available,
        };
        match pureftpd_os::fork() {
            Ok(ForkResult::Child) => {
                crate::metrics::enter_slot(slot);
                crate::port20::inherit(port20);
                self.become_session();
                let peer = if proxied {
                    match self.proxied_client(&mut stream, peer) {
                        Some(client) => client,
                        None => pureftpd_os::end_child(0),
                    }
                } else {
                    peer
                };
                let board = self.boards.then(|| {
                    let local = stream.local_addr().unwrap_or(peer);
                    let spare = spare.map(|n| self.spares.name(n));
                    Scoreboard::create(&self.board_dir, peer, local, spare.as_deref()).ok()
                });
                if let Some(ssh) = &self.ssh {
                    crate::sftp::session::run(stream, peer, self.config, ssh, board.flatten());
                    pureftpd_os::end_child(0);
                }
                session::run(
                    stream,
                    peer,
                    self.config,
                    self.tls.clone(),
                    origin,
                    board.flatten(),
                );
                pureftpd_os::end_child(0);
            }
            Ok(ForkResult::Parent { child }) => {
                drop(port20);
                crate::metrics::count(crate::metrics::Count::ConnectionsAccepted);
                self.children.insert(
                    child,
                    Child {
                        peer: peer_ip,
                        slot,
                        spare,
                    },
                );
            }
            Err(_) => {
                if let Some(slot) = slot {
                    crate::metrics::release_slot(slot);
                }
                if let Some(spare) = spare {
                    self.spares.give_back(spare);
                }
                self.refuse(
                    stream,
                    crate::sftp::refusal::SERVICE_NOT_AVAILABLE,
                    "Unable to fork, please try again later",
                );
            }
        }
    }

    /// In the session of a connection from a `--proxyprotocol` balancer: the client's
    /// address from the header (the balancer's for a health check), or `None` when the
    /// session must end (no valid header, or `-C` reached for that client, counted on
    /// the scoreboard since the master only knows the balancer).
    fn proxied_client(&self, stream: &mut TcpStream, balancer: SocketAddr) -> Option<SocketAddr> {
        let client = match crate::proxy_protocol::read_header(stream) {
            Ok(client) => client.unwrap_or(balancer),
            Err(e) => {
                eprintln!("pure-ftpd: connection from the load balancer {balancer}: {e}");
                return None;
            }
        };
        if let Some(per_ip) = self.config.max_clients_per_ip.filter(|_| self.boards) {
            let ip = session::canonical_ip(client.ip());
            let others = scoreboard::sessions_from(&self.board_dir, ip, std::process::id());
            if others >= usize::try_from(per_ip).unwrap_or(usize::MAX) {
                let _ = stream.write_all(&Reply::new(421, msg::too_many_from_ip(per_ip)).encode());
                return None;
            }
        }
        Some(client)
    }

    fn pipes(&self) -> &SelfPipes {
        self.pipes
            .as_ref()
            .expect("only a session closes the self-pipes, and it never runs the master's loop")
    }

    /// In a freshly forked session: nothing of the master stays. Its signal handlers
    /// go (each closes the write end of its self-pipe, so the session cannot wake or
    /// stop the master) and the signals get their default actions (a `kill -HUP` of a
    /// session no longer makes the root master reload its certificate); the read ends,
    /// the listening sockets and the certificate-hint socket are closed.
    fn become_session(&mut self) {
        for handler in self.handlers.drain(..) {
            signal_hook::low_level::unregister(handler);
        }
        let _ = pureftpd_os::reset_signals(&[
            Signal::SIGHUP,
            Signal::SIGCHLD,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGIO,
        ]);
        self.pipes = None;
        self.listeners.clear();
        self.cert_hints = None;
        self.metrics = None;
        // Its channel to the helper: a session must not be able to hand it ends.
        self.port20 = None;
        // Other clients' connections, refused and held a moment by the master.
        self.turned_away = turned_away::TurnedAway::default();
    }

    /// Collects ended sessions.
    fn reap(&mut self) {
        let mut drain = [0u8; 64];
        while matches!((&self.pipes().chld).read(&mut drain), Ok(n) if n > 0) {}
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _)) => {
                    self.forget(pid)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    fn forget(&mut self, pid: Pid) {
        if self
            .metrics
            .as_mut()
            .is_some_and(|m| m.process().reaped(pid))
            || self.port20.as_mut().is_some_and(|p| p.reaped(pid))
        {
            return;
        }
        let child = self.children.remove(&pid);
        if let Some(slot) = child.as_ref().and_then(|child| child.slot) {
            crate::metrics::release_slot(slot);
        }
        if self.boards {
            let pid = u32::try_from(pid.as_raw()).unwrap_or(0);
            let given = child.and_then(|child| child.spare);
            self.spares.keep(&self.board_dir, pid, given);
        }
    }

    /// SIGTERM: stops listening; with `--stopsessions`, ends the sessions, waits for
    /// them a little and cleans up after them.
    fn stop(&mut self) {
        self.stop_sessions_if_asked();
        self.spares.remove_all(&self.board_dir);
    }

    fn stop_sessions_if_asked(&mut self) {
        self.listeners.clear();
        if let Some(metrics) = &mut self.metrics {
            metrics.process().stop();
        }
        if let Some(port20) = &mut self.port20 {
            port20.stop();
        }
        if !self.config.stop_sessions {
            return;
        }
        for pid in self.children.keys() {
            let _ = kill(*pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while !self.children.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            self.reap();
        }
        let stragglers: Vec<Pid> = self.children.keys().copied().collect();
        for pid in stragglers {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            self.forget(pid);
        }
    }
}
