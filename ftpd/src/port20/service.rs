//! One port-20 helper for all the sessions of a standalone server.
//!
//! A helper forked by each session at login cost a fork per login: about 5% of the
//! logins per second on a 2-core machine (`scripts/bench-privsep.sh`, 2026-12-04). The
//! master starts one instead, as it starts the metrics endpoint, and starts it again
//! should it die. It runs as `nobody` in an empty removed root, with
//! CAP_NET_BIND_SERVICE as its only capability, `no_new_privs`, not dumpable, and dies
//! with the master.
//!
//! For each connection the master makes a socket pair: one end is the session's, the
//! other goes to the helper with the connection's local address, which is fixed there.
//! The session asks on its end as it asked a helper of its own ("a socket bound to
//! port 20"), so it can only ever get a socket on its own control connection's address.
//! A session that sends anything else, or does not read its answers, loses its end and
//! connects from any port, as without a helper. The helper is a single-threaded epoll
//! loop that never waits on a session; the master never waits on the helper (a pair it
//! cannot hand over at once is not made, and that session binds any port).

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::signal::Signal;
use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, sendmsg, socketpair,
};
use nix::unistd::Pid;
use pureftpd_os::ForkResult;

use crate::supervised::Supervised;

/// What the master sends with each session's end: the family (4 or 6) and the address.
const ADDRESS_MESSAGE: usize = 17;

/// The epoll token of the master's channel.
const CONTROL: u64 = u64::MAX;

/// The master's side.
#[derive(Debug, Default)]
pub struct Service {
    /// The channel to the running helper.
    control: Option<UnixStream>,
    process: Supervised,
}

impl Service {
    /// Starts the helper unless it runs, or was started too recently.
    pub fn start(&mut self) {
        if !self.process.due() {
            return;
        }
        let started = self.fork();
        if let Err(e) = &started {
            eprintln!(
                "pure-ftpd: cannot start the port 20 helper (active mode will use any port): {e}"
            );
        }
        self.process.started(started.ok());
    }

    fn fork(&mut self) -> io::Result<Pid> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        let sandbox = crate::privsep::preauth::Sandbox::nobody()?;
        let master = nix::unistd::getpid();
        match pureftpd_os::fork()? {
            ForkResult::Parent { child } => {
                self.control = Some(UnixStream::from(ours));
                Ok(child)
            }
            ForkResult::Child => {
                drop(ours);
                let status = match serve(&UnixStream::from(theirs), sandbox, master) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("pure-ftpd: the port 20 helper stops: {e}");
                        1
                    }
                };
                std::process::exit(status);
            }
        }
    }

    /// A new connection's end of the helper, for sockets on `local` (`None` when there
    /// is no helper now, or it is not keeping up).
    pub fn channel_for(&self, local: IpAddr) -> Option<UnixStream> {
        let control = self.control.as_ref()?;
        let (session, helper) = UnixStream::pair().ok()?;
        let mut message = [0u8; ADDRESS_MESSAGE];
        match local {
            IpAddr::V4(v4) => {
                message[0] = 4;
                message[1..5].copy_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                message[0] = 6;
                message[1..].copy_from_slice(&v6.octets());
            }
        }
        sendmsg::<()>(
            control.as_raw_fd(),
            &[io::IoSlice::new(&message)],
            &[ControlMessage::ScmRights(&[helper.as_raw_fd()])],
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .ok()?;
        Some(session)
    }

    /// See [`Supervised::restart_due_in`].
    #[must_use]
    pub fn restart_due_in(&self) -> Option<Duration> {
        self.process.restart_due_in()
    }

    /// Whether `pid` was the helper (which has ended): its channel goes too.
    pub fn reaped(&mut self, pid: Pid) -> bool {
        let was = self.process.reaped(pid);
        if was {
            self.control = None;
        }
        was
    }

    /// Ends the helper (the master is stopping).
    pub fn stop(&mut self) {
        self.control = None;
        self.process.stop();
    }
}

/// The helper's life: confinement, then requests until the master is gone.
fn serve(
    control: &UnixStream,
    sandbox: crate::privsep::preauth::Sandbox,
    master: Pid,
) -> io::Result<()> {
    let _ = pureftpd_os::reset_signals(&[
        Signal::SIGHUP,
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGIO,
    ]);
    let root = crate::privsep::preauth::take_root()?;
    pureftpd_os::close_descriptors_except_these(&[control.as_raw_fd(), root.as_raw_fd()]);
    nix::unistd::fchdir(&root)?;
    drop(root);
    nix::unistd::chroot(".")?;
    std::env::set_current_dir("/")?;
    pureftpd_os::become_with_only_bind_capability(sandbox.uid, sandbox.gid)?;
    // Cleared by the change of ids: set after it.
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
    if nix::unistd::getppid() != master {
        return Ok(());
    }
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    epoll.add(control, EpollEvent::new(EpollFlags::EPOLLIN, CONTROL))?;
    let mut sessions: HashMap<u64, (UnixStream, IpAddr)> = HashMap::new();
    let mut next_token = 0u64;
    let mut events = [EpollEvent::empty(); 64];
    loop {
        let ready = match epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        for event in &events[..ready] {
            let token = event.data();
            if token == CONTROL {
                let Some((session, local)) = welcome(control)? else {
                    // The master is gone.
                    return Ok(());
                };
                if epoll
                    .add(&session, EpollEvent::new(EpollFlags::EPOLLIN, next_token))
                    .is_ok()
                {
                    sessions.insert(next_token, (session, local));
                    next_token += 1;
                }
            } else if let Some((session, local)) = sessions.get(&token)
                && !serve_session(session, *local)
            {
                let _ = epoll.delete(session);
                sessions.remove(&token);
            }
        }
    }
}

/// A new session's end and address from the master; `Ok(None)` when the master's
/// channel has closed. A message that is not one is skipped.
fn welcome(control: &UnixStream) -> io::Result<Option<(UnixStream, IpAddr)>> {
    loop {
        let Some((message, fd)) =
            pureftpd_os::receive_bytes_with_descriptor(control, ADDRESS_MESSAGE + 1)?
        else {
            return Ok(None);
        };
        if let (Some(fd), Some(local)) = (fd, address(&message)) {
            let session = UnixStream::from(fd);
            session.set_nonblocking(true)?;
            return Ok(Some((session, local)));
        }
    }
}

fn address(message: &[u8]) -> Option<IpAddr> {
    match (message.len(), message.first()) {
        (ADDRESS_MESSAGE, Some(4)) => {
            let octets: [u8; 4] = message[1..5].try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(octets)))
        }
        (ADDRESS_MESSAGE, Some(6)) => {
            let octets: [u8; 16] = message[1..].try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

/// Answers what a session asked; false when its end must go (closed, a byte that is
/// not a request, or an answer it does not take).
fn serve_session(session: &UnixStream, local: IpAddr) -> bool {
    let mut requests = [0u8; 16];
    match (&*session).read(&mut requests) {
        Ok(0) => false,
        Ok(n) => requests[..n].iter().all(|&byte| {
            byte == super::BIND && super::answer(session, local, MsgFlags::MSG_DONTWAIT)
        }),
        Err(e) => e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_gets_sockets_and_loses_its_end_for_anything_else() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let (session, helper) = UnixStream::pair().unwrap();
        helper.set_nonblocking(true).unwrap();
        // Nothing asked yet: the end stays.
        assert!(serve_session(&helper, local));
        // Two requests at once: two sockets on the address (port 20 as root, else the
        // first port the system gives).
        io::Write::write_all(&mut &session, &[super::super::BIND; 2]).unwrap();
        assert!(serve_session(&helper, local));
        for _ in 0..2 {
            let (answer, fd) = pureftpd_os::receive_with_descriptor(&session)
                .unwrap()
                .unwrap();
            assert_eq!(answer, [super::super::SOCKET]);
            let socket = socket2::Socket::from(fd.unwrap());
            let bound = socket.local_addr().unwrap().as_socket().unwrap();
            assert_eq!(bound.ip(), local);
        }
        // A byte that is not a request, or the session's end closed: the end goes.
        io::Write::write_all(&mut &session, b"X").unwrap();
        assert!(!serve_session(&helper, local));
        drop(session);
        assert!(!serve_session(&helper, local));
    }

    #[test]
    fn only_well_formed_addresses_are_taken() {
        let mut v4 = [0u8; ADDRESS_MESSAGE];
        v4[0] = 4;
        v4[1..5].copy_from_slice(&[127, 0, 0, 9]);
        assert_eq!(address(&v4), Some("127.0.0.9".parse().unwrap()));
        let mut v6 = [0u8; ADDRESS_MESSAGE];
        v6[0] = 6;
        v6[16] = 1;
        assert_eq!(address(&v6), Some("::1".parse().unwrap()));
        assert_eq!(address(&v4[..5]), None);
        let mut other = v4;
        other[0] = 5;
        assert_eq!(address(&other), None);
        assert_eq!(address(&[]), None);
    }
}
