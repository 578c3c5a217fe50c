//! The TLS relay: after a login under TLS, the pre-login process stays the control
//! connection's TLS endpoint (rustls cannot hand a live session to another process) and
//! moves clear text between the client and the account's process, which reads and
//! writes it on a socket pair as it would the client's socket.
//!
//! Both ways are bounded: at most [`BACKLOG`] bytes of the client's input wait for the
//! account's process before the relay stops reading the client, and the account's
//! output is read only once the TLS records of the previous piece are sent, so a client
//! that stops reading stalls the account's process, whose send deadline then ends the
//! session (as without the relay). Time-outs stay the account's process's: the relay
//! lives as long as the pipe. `CCC` comes as a message on the channel that carries its
//! `200` reply: the relay sends what the account wrote before, then that reply, ends TLS
//! both ways exactly as an unseparated session does, confirms, and exits; the account's
//! process then has the clear socket. (Were the `200` written to the pipe before the
//! message, the relay could pass it on, and read the client's close_notify that answers
//! it, before it knew of the CCC: it would take that for the client leaving.)

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::preauth::Gate;
use super::protocol::{Answer, Request};
use crate::session::Control;

/// Client input waiting for the account's process, at most.
const BACKLOG: usize = 64 * 1024;

/// Whether the relay goes on after handling what was ready.
enum Flow {
    Continue,
    Stop,
}

/// The relay's own state.
struct Relay {
    gate: Gate,
    limit: Duration,
    /// The client's clear text not yet taken by the account's process.
    to_account: Vec<u8>,
    client_open: bool,
    /// The monitor closes the channel at the end of the session, with the pipe: what
    /// is still in the pipe (the last reply) goes out before the relay stops.
    channel_open: bool,
}

/// Relays until either side ends; returns when the process should exit.
pub(crate) fn run(control: &mut Control, gate: Gate) {
    let limit = control.send_limit();
    if control.parts().0.set_nonblocking(true).is_err() || gate.pipe.set_nonblocking(true).is_err()
    {
        return;
    }
    let mut relay = Relay {
        gate,
        limit,
        to_account: Vec::new(),
        client_open: true,
        channel_open: true,
    };
    while let Flow::Continue = relay.turn(control) {}
}

impl Relay {
    /// Waits for what can be done, and does it.
    fn turn(&mut self, control: &mut Control) -> Flow {
        let Some((client, pipe, channel)) = self.wait(control) else {
            return Flow::Stop;
        };
        if !channel.is_empty() {
            match self.gate.channel.receive(Some(Duration::ZERO)) {
                Ok(Some(message)) => {
                    // Anything but CCC from the monitor makes no sense: stop.
                    if let Ok(Answer::StopTls { reply }) = Answer::decode(&message) {
                        stop_tls(control, &self.gate, &reply, self.limit);
                    }
                    return Flow::Stop;
                }
                Ok(None) | Err(_) => self.channel_open = false,
            }
        }
        if let Flow::Stop = self.client_side(control, client) {
            return Flow::Stop;
        }
        if let Flow::Stop = self.pass_to_account() {
            return Flow::Stop;
        }
        self.account_side(control, pipe)
    }

    /// Polls: the client's socket, the pipe, the channel (while open). `None`: poll failed.
    fn wait(&self, control: &mut Control) -> Option<(PollFlags, PollFlags, PollFlags)> {
        let (stream, conn) = control.parts();
        let sending = conn.is_some_and(|conn| conn.wants_write());
        let mut client = PollFlags::empty();
        if self.client_open && self.to_account.len() < BACKLOG {
            client |= PollFlags::POLLIN;
        }
        if sending {
            client |= PollFlags::POLLOUT;
        }
        // The account's output is read only once the last piece is out (backpressure).
        let mut pipe = PollFlags::empty();
        if !sending {
            pipe |= PollFlags::POLLIN;
        }
        if !self.to_account.is_empty() {
            pipe |= PollFlags::POLLOUT;
        }
        let mut fds = vec![
            PollFd::new(stream.as_fd(), client),
            PollFd::new(self.gate.pipe.as_fd(), pipe),
        ];
        if self.channel_open {
            fds.push(PollFd::new(self.gate.channel.as_fd(), PollFlags::POLLIN));
        }
        loop {
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => break,
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return None,
            }
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(PollFd::revents)
                .unwrap_or(PollFlags::empty())
        };
        Some((ready(0), ready(1), ready(2)))
    }

    /// TLS records out to the client, and in from it, decrypted for the account.
    fn client_side(&mut self, control: &mut Control, ready: PollFlags) -> Flow {
        let (stream, Some(conn)) = control.parts() else {
            return Flow::Stop;
        };
        let mut tcp = stream;
        if ready.intersects(PollFlags::POLLOUT) {
            match conn.write_tls(&mut tcp) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return Flow::Stop,
            }
        }
        if !ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
            return Flow::Continue;
        }
        match conn.read_tls(&mut tcp) {
            Ok(0) => self.client_open = false,
            Ok(_) => {
                let Ok(state) = conn.process_new_packets() else {
                    // Tell the client why (an alert), then give up on it.
                    let _ = conn.write_tls(&mut tcp);
                    return Flow::Stop;
                };
                let clear = state.plaintext_bytes_to_read();
                if clear > 0 {
                    let start = self.to_account.len();
                    self.to_account.resize(start + clear, 0);
                    if conn
                        .reader()
                        .read_exact(&mut self.to_account[start..])
                        .is_err()
                    {
                        return Flow::Stop;
                    }
                }
                if state.peer_has_closed() {
                    self.client_open = false;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => return Flow::Stop,
        }
        Flow::Continue
    }

    /// The client's clear text into the pipe; the end once the client is gone and all
    /// it said was passed on (the account's process then sees the pipe close).
    fn pass_to_account(&mut self) -> Flow {
        // Tried at once, not only once poll said the pipe has room: a reply's hop
        // costs no extra turn (a full pipe just says WouldBlock).
        if !self.to_account.is_empty() {
            match (&self.gate.pipe).write(&self.to_account) {
                Ok(n) => {
                    self.to_account.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return Flow::Stop,
            }
        }
        if !self.client_open && self.to_account.is_empty() {
            return Flow::Stop;
        }
        Flow::Continue
    }

    /// The account's clear text into TLS records; at the pipe's end, the last of them
    /// go out and the relay stops.
    fn account_side(&mut self, control: &mut Control, ready: PollFlags) -> Flow {
        if !ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
            return Flow::Continue;
        }
        let mut buffer = [0u8; 16 * 1024];
        match (&self.gate.pipe).read(&mut buffer) {
            Ok(0) => {
                flush(control, self.limit);
                Flow::Stop
            }
            Ok(n) => {
                let (stream, Some(conn)) = control.parts() else {
                    return Flow::Stop;
                };
                if conn.writer().write_all(&buffer[..n]).is_err() {
                    return Flow::Stop;
                }
                // Out at once if the socket takes it; what it does not take waits for
                // POLLOUT.
                let mut tcp = stream;
                while conn.wants_write() {
                    match conn.write_tls(&mut tcp) {
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => return Flow::Stop,
                    }
                }
                Flow::Continue
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }
}

/// Sends what rustls still holds, within `limit` (the session is over).
fn flush(control: &mut Control, limit: Duration) {
    let (stream, Some(conn)) = control.parts() else {
        return;
    };
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let mut out = crate::send_deadline::Deadline::new(stream, limit);
    while conn.wants_write() {
        if conn.write_tls(&mut out).is_err() {
            return;
        }
    }
}

/// CCC: what the account wrote before asking goes out first, then its reply (which
/// came with the request, so the client cannot answer it before the relay knows), then
/// TLS ends as in an unseparated session, and the account's process is told.
fn stop_tls(control: &mut Control, gate: &Gate, reply: &[u8], limit: Duration) {
    let (_, Some(conn)) = control.parts() else {
        return;
    };
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match (&gate.pipe).read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                if conn.writer().write_all(&buffer[..n]).is_err() {
                    return;
                }
            }
            Err(_) => break,
        }
    }
    flush(control, limit);
    if control
        .stop_tls(reply, limit.min(Duration::from_secs(30)))
        .is_ok()
    {
        let _ = gate.tell(&Request::TlsStopped);
    }
}
