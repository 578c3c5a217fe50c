//! Privilege separation before login (as vsftpd and OpenSSH do; Pure-FTPd does not).
//!
//! Started as root, a session process splits in two as soon as it has made what only
//! root can make (its logs, its scoreboard record, the greeting):
//!
//! * the **pre-login process** ([`preauth`]), a child, confines itself for good (an
//!   empty, deleted directory as its root, `nobody`, no groups, `no_new_privs`, not
//!   dumpable) before it reads a byte from the client. It sends the greeting and runs
//!   everything that reads the network before login: the command parser, `AUTH TLS`
//!   and the TLS handshake, the commands allowed before login. For `USER` and `PASS`,
//!   and for the certificate of a server name (`-3`), it asks the monitor.
//! * the **monitor** ([`monitor`]), the session process itself, stays root and reads
//!   only typed messages ([`protocol`], decoded as hostile input, checked against its
//!   own state by [`rules`]). It runs `USER` and `PASS` with the same code as an
//!   unseparated session: the authentication backends, the failure delays and the retry
//!   limit are its own. When a login succeeds it enters the account (chroot, ids, home
//!   opened as root, port-20 helper, quota file) and, once the pre-login process has
//!   handed over its state (unparsed input, `TYPE`, `PROT`), serves the session as the
//!   account.
//!
//! The client's socket is never passed: both processes have it from the fork, and only
//! one reads it at a time. Without TLS the pre-login process exits at the handover and
//! the account's process goes on with the socket. Under TLS the session lives in the
//! pre-login process (rustls cannot move a live session to another process): it stays
//! the control connection's TLS endpoint and relays clear text over a socket pair
//! (`relay.rs`) until the session ends or `CCC` ends TLS; data connections are the
//! account's own TLS connections, which resume the control connection's session with
//! the ticket keys all processes of the server share.
//!
//! Not started as root, nothing changes: there is no privilege to separate.

pub mod monitor;
pub mod preauth;
pub mod protocol;
pub(crate) mod relay;
pub mod rules;

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair};

use protocol::MAX_MESSAGE;

/// One end of the message channel: one message per `SOCK_SEQPACKET` datagram.
#[derive(Debug)]
pub struct Channel(OwnedFd);

impl Channel {
    /// Both ends.
    ///
    /// # Errors
    /// The socket pair cannot be made.
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        Ok((Self(a), Self(b)))
    }

    /// Sends one message.
    ///
    /// # Errors
    /// The other side is gone.
    pub fn send(&self, message: &[u8]) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        send(self.0.as_raw_fd(), message, MsgFlags::MSG_NOSIGNAL)?;
        Ok(())
    }

    /// The next message, waiting at most `timeout` (for ever if `None`); `Ok(None)`
    /// when the other side has closed. A datagram longer than [`MAX_MESSAGE`] comes
    /// back one byte longer than that, which every decoder refuses.
    ///
    /// # Errors
    /// The wait timed out (`TimedOut`) or the receive failed.
    pub fn receive(&self, timeout: Option<Duration>) -> io::Result<Option<Vec<u8>>> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsRawFd;
        if let Some(timeout) = timeout {
            let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
            let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
            let ready = poll(
                &mut fds,
                PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX),
            )?;
            if ready == 0 {
                return Err(io::ErrorKind::TimedOut.into());
            }
        }
        loop {
            // The datagram's length first (MSG_TRUNC), so that a buffer of that size,
            // and no more, is made (at most one byte over the limit).
            let mut probe = [0u8; 1];
            let length = match recv(
                self.0.as_raw_fd(),
                &mut probe,
                MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC,
            ) {
                Ok(0) => return Ok(None),
                Ok(n) => n.min(MAX_MESSAGE + 1),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut buffer = vec![0u8; length];
            match recv(self.0.as_raw_fd(), &mut buffer, MsgFlags::empty()) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    buffer.truncate(n);
                    return Ok(Some(buffer));
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Channel {
    /// The descriptor's number (to keep it open while closing all others).
    #[must_use]
    pub fn as_fd_raw(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// The account's side of a TLS relay: clear text through `pipe`, and the channel to
/// ask the relay to end TLS (`CCC`).
#[derive(Debug)]
pub struct Relayed {
    pub(crate) pipe: UnixStream,
    pub(crate) channel: Channel,
    /// The server name the client asked for (SNI).
    pub(crate) server_name: Option<String>,
}

impl Relayed {
    /// CCC: the relay sends `reply` (encoded), closes TLS both ways and exits; the
    /// client's socket is then in clear for the account's process, which has it already.
    ///
    /// # Errors
    /// The relay did not confirm within `timeout` (plus a margin).
    pub(crate) fn stop_tls(self, reply: Vec<u8>, timeout: Duration) -> io::Result<()> {
        self.channel
            .send(&protocol::Answer::StopTls { reply }.encode())?;
        let confirmed = self
            .channel
            .receive(Some(timeout + Duration::from_secs(1)))?
            .is_some_and(|m| protocol::Request::decode(&m) == Ok(protocol::Request::TlsStopped));
        if confirmed {
            Ok(())
        } else {
            Err(io::Error::other("the TLS relay did not end TLS"))
        }
    }
}

/// Both ends of what the two processes share: the channel and the clear-text pipe.
pub(crate) struct Ends {
    pub(crate) channel: Channel,
    pub(crate) pipe: UnixStream,
}

/// The two processes' ends.
pub(crate) fn ends() -> io::Result<(Ends, Ends)> {
    let (monitor_channel, preauth_channel) = Channel::pair()?;
    let (monitor_pipe, preauth_pipe) = UnixStream::pair()?;
    Ok((
        Ends {
            channel: monitor_channel,
            pipe: monitor_pipe,
        },
        Ends {
            channel: preauth_channel,
            pipe: preauth_pipe,
        },
    ))
}

/// Which process the caller is after [`split`].
pub(crate) enum Side {
    /// The monitor (the session's own process), with its ends and the pre-login
    /// process.
    Monitor(Ends, nix::unistd::Pid),
    /// The pre-login process, confined already, its gate in the session.
    PreLogin,
}

/// Who pre-login processes become: looked up once (by the master, through
/// [`prepare`], so that sessions inherit it), while the account databases are in reach.
static SANDBOX: std::sync::OnceLock<preauth::Sandbox> = std::sync::OnceLock::new();

/// Looks up the pre-login account now (the master, before it forks sessions).
///
/// # Errors
/// The account is root.
pub fn prepare() -> io::Result<()> {
    if SANDBOX.get().is_none() {
        let _ = SANDBOX.set(preauth::Sandbox::nobody()?);
    }
    preauth::prepare_root()
}

/// Who pre-login processes become (looked up by [`prepare`] if not yet).
///
/// # Errors
/// The account is root.
pub(crate) fn sandbox() -> io::Result<preauth::Sandbox> {
    prepare()?;
    SANDBOX
        .get()
        .copied()
        .ok_or_else(|| io::Error::other("no sandbox account"))
}

/// Forks the pre-login process (see the module's head).
pub(crate) fn split(session: &mut crate::session::Session<'_>) -> io::Result<Side> {
    prepare()?;
    let sandbox = *SANDBOX
        .get()
        .ok_or_else(|| io::Error::other("no sandbox account"))?;
    let (monitor_ends, preauth_ends) = ends()?;
    let root = preauth::take_root()?;
    // The account's data connections resume the control connection's TLS session,
    // which the pre-login process holds: they need ticket keys both processes know.
    // A master made them for all its sessions; under inetd, this session makes its own.
    if let Some(tls) = &session.tls
        && !tls.ticketer.enabled()
    {
        let keys = crate::tls_tickets::SharedTickets::new().map_err(io::Error::other)?;
        session.tls = Some(crate::tls::with_tickets(tls, &keys));
    }
    let monitor = nix::unistd::getpid();
    match pureftpd_os::fork()? {
        nix::unistd::ForkResult::Parent { child } => {
            drop((preauth_ends, root));
            Ok(Side::Monitor(monitor_ends, child))
        }
        nix::unistd::ForkResult::Child => {
            drop(monitor_ends);
            confine(session, preauth_ends, sandbox, root, monitor);
            Ok(Side::PreLogin)
        }
    }
}

/// In the pre-login process, before it reads a byte from the client: lets go of all
/// that is not its own and confines itself for good; exits if it cannot.
fn confine(
    session: &mut crate::session::Session<'_>,
    ends: Ends,
    sandbox: preauth::Sandbox,
    root: OwnedFd,
    monitor: nix::unistd::Pid,
) {
    use std::os::fd::AsRawFd;
    // Nothing of the server's or the monitor's: the scoreboard record, the transfer
    // log, the channel to the master and the upload pipe are the monitor's (a test
    // lists what this process holds).
    session.scoreboard = None;
    session.alt_log = None;
    crate::certd::stop_hinting();
    crate::upload_pipe::close();
    crate::port20::forget_inherited();
    let keep = [
        session.control.stream_fd(),
        ends.channel.0.as_raw_fd(),
        ends.pipe.as_raw_fd(),
    ];
    sandbox.confine_for_good(&keep, root, monitor, &session.log);
    session.monitor = Some(preauth::Gate {
        channel: ends.channel,
        pipe: ends.pipe,
    });
}

/// Whether sessions separate privileges: when they run as root.
#[must_use]
pub fn wanted() -> bool {
    nix::unistd::Uid::effective().is_root()
}
