//! The privileged helper of a session: active-mode data connections come from port 20.
//!
//! Binding a port below 1024 needs a privilege the session gives up for good at login.
//! As Pure-FTPd's `pure-ftpd (PRIV)` process, a helper forked just before that drop
//! keeps it and answers one request only: "a TCP socket bound to the control
//! connection's local address, port 20" (falling back on Pure-FTPd's ports 2, 3, 4, 5,
//! 6, 10, 14, 16, then any), passed back over a socket pair. The address is fixed when
//! the helper starts; the request carries nothing the session could choose.
//!
//! Unlike Pure-FTPd's (which stays root and takes root back for each bind), the helper
//! runs with CAP_NET_BIND_SERVICE as its only capability, no_new_privs, not dumpable.
//! A standalone server runs one for all its sessions ([`service`], started by the
//! master: no fork at each login); under inetd, each session forks its own at login
//! ([`Helper::start`]), which runs as the account's uid with no descriptor but its end
//! of the pair, ends when the session's end closes, and is reaped by the session. The
//! session asks either the same way.

pub mod service;

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use nix::sys::wait::waitpid;
use pureftpd_os::{ForkResult, Pid};
use socket2::{Domain, Socket, Type};

/// Ports tried in order, as Pure-FTPd does (0: any).
const PORTS: [u16; 10] = [20, 2, 3, 4, 5, 6, 10, 14, 16, 0];

/// The request byte, and the answers' first bytes.
const BIND: u8 = b'B';
const SOCKET: u8 = b'S';
const FAILED: u8 = b'E';

/// The session's side.
#[derive(Debug)]
pub struct Helper {
    socket: UnixStream,
    /// Its own helper, to reap (none for the server's shared one).
    pid: Option<Pid>,
}

/// The end of the shared helper's pair a session was forked with (see [`service`]).
static INHERITED: std::sync::Mutex<Option<UnixStream>> = std::sync::Mutex::new(None);

fn inherited() -> std::sync::MutexGuard<'static, Option<UnixStream>> {
    INHERITED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A freshly forked session: its end of the server's helper.
pub fn inherit(channel: Option<UnixStream>) {
    *inherited() = channel;
}

/// The pre-login process lets its copy go: only the account's process may ask.
pub fn forget_inherited() {
    *inherited() = None;
}

impl Helper {
    /// Forks the helper for sockets on `local` (the control connection's address),
    /// running as `uid`/`gid`. Call as root, before the session drops its privileges.
    ///
    /// # Errors
    /// No socket pair or no fork.
    pub fn start(local: IpAddr, uid: u32, gid: u32) -> io::Result<Self> {
        let (ours, theirs) = UnixStream::pair()?;
        match pureftpd_os::fork()? {
            ForkResult::Parent { child } => Ok(Self {
                socket: ours,
                pid: Some(child),
            }),
            ForkResult::Child => {
                // Never returns into the session's code, not even by a panic.
                let status =
                    std::panic::catch_unwind(|| serve(&theirs, local, uid, gid)).map_or(1, |()| 0);
                std::process::exit(status);
            }
        }
    }

    /// The server's shared helper, when the session was forked with an end of it.
    #[must_use]
    pub fn shared() -> Option<Self> {
        inherited().take().map(|socket| Self { socket, pid: None })
    }

    /// A new TCP socket bound to the local address and the lowest port it could get.
    ///
    /// # Errors
    /// The helper is gone or could not bind at all.
    pub fn bound_socket(&mut self) -> io::Result<Socket> {
        self.socket.write_all(&[BIND])?;
        match pureftpd_os::receive_with_descriptor(&self.socket)? {
            Some((answer, Some(fd))) if answer.first() == Some(&SOCKET) => Ok(Socket::from(fd)),
            Some((answer, _)) if answer.len() == 5 && answer[0] == FAILED => {
                let errno = i32::from_le_bytes([answer[1], answer[2], answer[3], answer[4]]);
                Err(io::Error::from_raw_os_error(errno))
            }
            _ => Err(io::Error::other("the port 20 helper is gone")),
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
        if let Some(pid) = self.pid {
            let _ = waitpid(pid, None);
        }
    }
}

/// The helper's life: drop all but the one capability, then one socket per request.
fn serve(socket: &UnixStream, local: IpAddr, uid: u32, gid: u32) {
    pureftpd_os::close_descriptors_except(socket.as_raw_fd());
    if pureftpd_os::become_with_only_bind_capability(uid, gid).is_err() {
        return;
    }
    let mut request = [0u8; 1];
    while io::Read::read_exact(&mut &*socket, &mut request).is_ok()
        && request[0] == BIND
        && answer(socket, local, MsgFlags::empty())
    {}
}

/// Answers one request: a socket bound to `local` and a low port, or why not. False
/// when the answer could not be sent.
fn answer(socket: &UnixStream, local: IpAddr, flags: MsgFlags) -> bool {
    let flags = flags | MsgFlags::MSG_NOSIGNAL;
    match bind_low_port(local) {
        Ok(bound) => {
            let fd: OwnedFd = bound.into();
            let fds = [fd.as_raw_fd()];
            sendmsg::<()>(
                socket.as_raw_fd(),
                &[io::IoSlice::new(&[SOCKET])],
                &[ControlMessage::ScmRights(&fds)],
                flags,
                None,
            )
            .is_ok()
        }
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(nix::libc::EIO);
            let mut answer = vec![FAILED];
            answer.extend_from_slice(&errno.to_le_bytes());
            sendmsg::<()>(
                socket.as_raw_fd(),
                &[io::IoSlice::new(&answer)],
                &[],
                flags,
                None,
            )
            .is_ok()
        }
    }
}

fn bind_low_port(local: IpAddr) -> io::Result<Socket> {
    let mut last = io::Error::other("no port");
    for port in PORTS {
        let address = SocketAddr::new(local, port);
        let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        match socket.bind(&address.into()) {
            Ok(()) => return Ok(socket),
            Err(e) => last = e,
        }
    }
    Err(last)
}
