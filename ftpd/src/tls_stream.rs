//! A TLS stream over a blocking TCP socket, built for bulk transfers.
//!
//! rustls' own `StreamOwned` reads the socket 4 KiB at a time and writes one TLS record
//! per call, which makes a 1 GiB transfer cost hundreds of thousands of system calls.
//! Here the socket is read into a large inbox (one `recv` takes what the kernel has, up
//! to `INBOX_SIZE`) and rustls is fed from it; a `read` returns as much clear text as is
//! available without waiting, so an upload is written to disk in large pieces; and a
//! `write` encrypts the whole buffer before one vectored send.
//!
//! Used by the server for data connections under `PROT P`, and by the benchmark client.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use nix::sys::socket::{MsgFlags, recv};
use rustls::Connection;

/// How much ciphertext one `recv` may take.
const INBOX_SIZE: usize = 256 * 1024;

/// How much encrypted output rustls may hold before it is sent.
const OUTBOX_LIMIT: usize = 1 << 20;

/// An established TLS connection (handshake done) and its socket.
pub struct TlsStream {
    conn: Connection,
    sock: TcpStream,
    inbox: Inbox,
}

impl TlsStream {
    /// Wraps a connection whose handshake is complete (or in progress: the first reads
    /// and writes finish it).
    #[must_use]
    pub fn new(conn: impl Into<Connection>, sock: TcpStream) -> Self {
        let mut conn = conn.into();
        conn.set_buffer_limit(Some(OUTBOX_LIMIT));
        Self {
            conn,
            sock,
            inbox: Inbox::default(),
        }
    }

    /// The TCP socket underneath.
    #[must_use]
    pub fn socket(&self) -> &TcpStream {
        &self.sock
    }

    /// The TLS connection.
    #[must_use]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Whether something is already here that `poll` on the socket would not show:
    /// ciphertext in the inbox, clear text, or the peer's close_notify.
    pub fn buffered(&mut self) -> bool {
        !self.inbox.is_empty()
            || self
                .conn
                .process_new_packets()
                .is_ok_and(|s| s.plaintext_bytes_to_read() > 0 || s.peer_has_closed())
    }

    /// Sends close_notify and everything still pending.
    ///
    /// # Errors
    /// The socket's write error.
    pub fn close_notify(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.flush()
    }

    /// Feeds rustls what the inbox holds (reading the socket first if it is empty,
    /// waiting only when `wait`); false when nothing came because it would block.
    fn pull(&mut self, wait: bool) -> io::Result<bool> {
        // Whatever rustls has to say goes first (a client's hello, a key update reply).
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        if self.inbox.is_empty() && !self.inbox.fill(&self.sock, wait)? {
            return Ok(false);
        }
        self.conn.read_tls(&mut self.inbox)?;
        self.conn
            .process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        // During a handshake, rustls may have something to answer.
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        Ok(true)
    }
}

impl Read for TlsStream {
    /// Waits for some clear text, then returns all that is available without waiting
    /// (up to `buf`'s size). `Ok(0)`: the peer's close_notify; `UnexpectedEof`: TCP ended
    /// without one.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.conn.reader().read(&mut buf[filled..]) {
                Ok(0) => return Ok(filled),
                Ok(n) => {
                    filled += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // What was read now goes first; the error comes again on the next call.
                Err(_) if filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
            match self.pull(filled == 0) {
                Ok(true) => {}
                Ok(false) => return Ok(filled),
                Err(_) if filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

impl Write for TlsStream {
    /// Encrypts as much of `buf` as the outbox limit allows, then sends it all.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        while self.conn.is_handshaking() {
            self.pull(true)?;
        }
        let n = self.conn.writer().write(buf)?;
        self.flush()?;
        Ok(n)
    }

    /// Sends what rustls holds; with a send timeout on the socket, all of it within
    /// that time (see `send_deadline`).
    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        match self.sock.write_timeout()? {
            Some(limit) => {
                let mut out = crate::send_deadline::Deadline::new(&self.sock, limit);
                while self.conn.wants_write() {
                    self.conn.write_tls(&mut out)?;
                }
            }
            None => {
                while self.conn.wants_write() {
                    self.conn.write_tls(&mut self.sock)?;
                }
            }
        }
        Ok(())
    }
}

/// Ciphertext read from the socket and not yet given to rustls.
#[derive(Default)]
struct Inbox {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl Inbox {
    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Reads what the socket has (waiting for something when `wait`); false when it
    /// would block. The end of the stream is remembered and given to rustls as a 0 read.
    fn fill(&mut self, sock: &TcpStream, wait: bool) -> io::Result<bool> {
        if self.eof {
            return Ok(true);
        }
        if self.bytes.is_empty() {
            self.bytes = vec![0; INBOX_SIZE];
        }
        match receive(sock, &mut self.bytes, wait)? {
            None => Ok(false),
            Some(0) => {
                self.eof = true;
                Ok(true)
            }
            Some(n) => {
                (self.start, self.end) = (0, n);
                Ok(true)
            }
        }
    }
}

/// One `recv` into `buf`, waiting for data only when `wait`: `None` when it would block,
/// `Some(0)` at the end of the stream.
pub(crate) fn receive(sock: &TcpStream, buf: &mut [u8], wait: bool) -> io::Result<Option<usize>> {
    let flags = if wait {
        MsgFlags::empty()
    } else {
        MsgFlags::MSG_DONTWAIT
    };
    loop {
        match recv(std::os::fd::AsRawFd::as_raw_fd(sock), buf, flags) {
            Ok(n) => return Ok(Some(n)),
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EAGAIN) if !wait => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
}

impl Read for Inbox {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.end - self.start);
        buf[..n].copy_from_slice(&self.bytes[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}
