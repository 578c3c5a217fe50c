//! Uploads under `PROT P`, received without rustls' copies.
//!
//! rustls 0.23 moves each received byte three times before the server can write it to
//! the file (socket buffer to its deframer 4 KiB at a time, decrypted record to a new
//! `Vec`, that `Vec` to the caller) and an upload spends more time in `memmove` than in
//! AES-GCM. Here rustls still does the whole handshake (resumption, client
//! certificates, key schedule) through its unbuffered API, which works on our buffer;
//! then it hands over the traffic secrets (`dangerous_into_kernel_connection`, the API
//! made for kernel TLS) and the records are decrypted in place in the socket buffer,
//! then copied once into the caller's buffer. rustls keeps computing new secrets when
//! the client sends a TLS 1.3 KeyUpdate.
//!
//! Downloads keep rustls' stream (`tls_stream.rs`): sending does not copy as much.

mod records;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::kernel::KernelConnection;
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{ConnectionState, EncodeError, InsufficientSizeError};
use rustls::{ProtocolVersion, ServerConfig};

use records::{ALERT, APPLICATION_DATA, HANDSHAKE, HEADER, MAX_CIPHERTEXT, Protection, Version};

/// Socket buffer: one `recv` takes up to this much ciphertext.
const INBOX_SIZE: usize = 256 * 1024;

/// TLS 1.3 handshake message type of KeyUpdate.
const KEY_UPDATE: u8 = 24;

/// A data connection under TLS that the client uploads on.
pub struct UploadStream {
    sock: TcpStream,
    /// Ciphertext is `inbox[start..end]`; decrypted content waiting for the caller is
    /// `inbox[plain_start..plain_end]` (before `start`).
    inbox: Vec<u8>,
    start: usize,
    end: usize,
    plain_start: usize,
    plain_end: usize,
    /// Clear text rustls decrypted itself, with the last handshake records.
    early: Vec<u8>,
    rx: Protection,
    tx: Protection,
    /// Computes the next secrets on a KeyUpdate.
    kernel: KernelConnection<ServerConnectionData>,
    /// The client's close_notify came: the upload is complete.
    peer_closed: bool,
    /// TCP ended.
    eof: bool,
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl UploadStream {
    /// Runs the server side of the handshake on `sock` (at most `timeout` per read or
    /// write), then takes over the record layer.
    ///
    /// # Errors
    /// The handshake failed (the connection is unusable), or the negotiated suite is one
    /// this record layer does not know (not offered by the server).
    pub fn accept(
        config: Arc<ServerConfig>,
        sock: TcpStream,
        timeout: Duration,
    ) -> io::Result<Self> {
        sock.set_read_timeout(Some(timeout))?;
        sock.set_write_timeout(Some(timeout))?;
        let handshake = Handshake::run(config, &sock);
        sock.set_read_timeout(None)?;
        sock.set_write_timeout(None)?;
        let done = handshake?;
        let (secrets, kernel) = done
            .conn
            .dangerous_into_kernel_connection()
            .map_err(invalid)?;
        let version = if kernel.protocol_version() == ProtocolVersion::TLSv1_3 {
            Version::Tls13
        } else {
            Version::Tls12
        };
        let unknown = || invalid("the negotiated cipher suite has no record layer here");
        let rx = Protection::new(&secrets.rx.1, secrets.rx.0, version).ok_or_else(unknown)?;
        let tx = Protection::new(&secrets.tx.1, secrets.tx.0, version).ok_or_else(unknown)?;
        Ok(Self {
            sock,
            // The handshake's buffer (INBOX_SIZE), with what followed the handshake.
            inbox: done.inbox,
            start: 0,
            end: done.filled,
            plain_start: 0,
            plain_end: 0,
            early: done.early,
            rx,
            tx,
            kernel,
            peer_closed: done.peer_closed,
            eof: false,
        })
    }

    /// The TCP socket underneath.
    #[must_use]
    pub fn socket(&self) -> &TcpStream {
        &self.sock
    }

    /// Whether something is here that `poll` on the socket would not show: clear text,
    /// a complete record, or the end.
    pub fn buffered(&mut self) -> bool {
        !self.early.is_empty()
            || self.plain_start < self.plain_end
            || self.peer_closed
            || self.complete_record().is_some()
    }

    /// Sends close_notify.
    ///
    /// # Errors
    /// The socket's write error.
    pub fn close_notify(&mut self) -> io::Result<()> {
        let record = self.tx.seal(ALERT, &[1, 0]);
        self.sock.write_all(&record)
    }

    /// The length of the record at `start` if it is all here.
    fn complete_record(&self) -> Option<io::Result<usize>> {
        let available = self.end - self.start;
        if available < HEADER {
            return None;
        }
        let header: [u8; HEADER] = self.inbox[self.start..self.start + HEADER]
            .try_into()
            .ok()?;
        match Protection::announced_length(&header) {
            Ok(length) if available >= HEADER + length => Some(Ok(HEADER + length)),
            Ok(_) => None,
            Err(e) => Some(Err(invalid(e))),
        }
    }

    /// Opens the next complete record, if any: content goes to `plain_*`, a close_notify
    /// ends the stream, a KeyUpdate changes the receiving key. False: more ciphertext is
    /// needed.
    fn open_record(&mut self) -> io::Result<bool> {
        let length = match self.complete_record() {
            None => return Ok(false),
            Some(length) => length?,
        };
        let record = &mut self.inbox[self.start..self.start + length];
        let opened = self.rx.open(record).map_err(invalid)?;
        let base = self.start;
        self.start += length;
        let content = base + opened.start..base + opened.end;
        match opened.content_type {
            APPLICATION_DATA => (self.plain_start, self.plain_end) = (content.start, content.end),
            ALERT => self.peer_closed |= is_close_notify(&self.inbox[content])?,
            HANDSHAKE => {
                // (Copied: the key update needs `self` while the buffer is borrowed.)
                let messages = self.inbox[content].to_vec();
                self.post_handshake(&messages)?;
            }
            _ => return Err(invalid("unexpected TLS record type")),
        }
        Ok(true)
    }

    /// TLS 1.3 KeyUpdate is the only handshake message a client may send now. Its
    /// request for our own update is not answered: this connection sends no application
    /// data, which is what the answer must precede (RFC 8446 §4.6.3).
    fn post_handshake(&mut self, messages: &[u8]) -> io::Result<()> {
        match messages {
            [KEY_UPDATE, 0, 0, 1, 0 | 1] => {
                let (seq, secrets) = self.kernel.update_rx_secret().map_err(invalid)?;
                self.rx = Protection::new(&secrets, seq, Version::Tls13)
                    .ok_or_else(|| invalid("no record layer for the updated key"))?;
                Ok(())
            }
            _ => Err(invalid("a handshake message after the handshake")),
        }
    }

    /// Reads what the socket has, after moving a partial record to the front when the
    /// buffer's end is near; false when it would block.
    fn fill(&mut self, wait: bool) -> io::Result<bool> {
        if self.eof {
            return Ok(true);
        }
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.inbox.len() - self.end < HEADER + MAX_CIPHERTEXT {
            self.inbox.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        match crate::tls_stream::receive(&self.sock, &mut self.inbox[self.end..], wait)? {
            None => Ok(false),
            Some(0) => {
                self.eof = true;
                Ok(true)
            }
            Some(n) => {
                self.end += n;
                Ok(true)
            }
        }
    }
}

impl Read for UploadStream {
    /// Waits for some clear text, then returns all that is available without waiting
    /// (up to `buf`'s size). `Ok(0)`: the client's close_notify; `UnexpectedEof`: TCP
    /// ended without one.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        if !self.early.is_empty() {
            let n = buf.len().min(self.early.len());
            buf[..n].copy_from_slice(&self.early[..n]);
            self.early.drain(..n);
            filled = n;
        }
        while filled < buf.len() {
            if self.plain_start < self.plain_end {
                let n = (buf.len() - filled).min(self.plain_end - self.plain_start);
                buf[filled..filled + n]
                    .copy_from_slice(&self.inbox[self.plain_start..self.plain_start + n]);
                self.plain_start += n;
                filled += n;
                continue;
            }
            if self.peer_closed {
                break;
            }
            match self.open_record() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(_) if filled > 0 => break,
                Err(e) => return Err(e),
            }
            if self.eof {
                if filled > 0 {
                    break;
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the connection without close_notify",
                ));
            }
            match self.fill(filled == 0) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) if filled > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

/// Whether an alert is close_notify; fatal alerts are errors.
fn is_close_notify(alert: &[u8]) -> io::Result<bool> {
    match alert {
        [_, 0] => Ok(true),
        // user_canceled, and TLS 1.2 warnings, are not fatal (as rustls treats them).
        [_, 90] | [1, _] => Ok(false),
        [_, description] => Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!("the client sent TLS alert {description}"),
        )),
        _ => Err(invalid("a malformed TLS alert")),
    }
}

/// What the handshake leaves: the connection to convert, ciphertext that came after
/// it, and clear text rustls already decrypted.
struct Handshake {
    conn: UnbufferedServerConnection,
    inbox: Vec<u8>,
    filled: usize,
    early: Vec<u8>,
    peer_closed: bool,
}

impl Handshake {
    /// Drives rustls' unbuffered state machine until it may send application data.
    fn run(config: Arc<ServerConfig>, sock: &TcpStream) -> io::Result<Self> {
        let mut conn = UnbufferedServerConnection::new(config).map_err(invalid)?;
        let mut inbox = vec![0u8; INBOX_SIZE];
        let mut filled = 0;
        let mut outgoing = vec![0u8; 16 * 1024];
        let mut pending = 0;
        let mut early = Vec::new();
        let mut peer_closed = false;
        loop {
            let status = conn.process_tls_records(&mut inbox[..filled]);
            let mut discard = status.discard;
            let mut want_more = false;
            let mut done = false;
            match status.state.map_err(invalid)? {
                ConnectionState::EncodeTlsData(mut state) => loop {
                    match state.encode(&mut outgoing[pending..]) {
                        Ok(n) => {
                            pending += n;
                            break;
                        }
                        Err(EncodeError::InsufficientSize(InsufficientSizeError {
                            required_size,
                        })) => outgoing.resize(pending + required_size, 0),
                        Err(e) => return Err(invalid(e)),
                    }
                },
                ConnectionState::TransmitTlsData(state) => {
                    (&*sock).write_all(&outgoing[..pending])?;
                    pending = 0;
                    state.done();
                }
                ConnectionState::BlockedHandshake => want_more = true,
                ConnectionState::ReadTraffic(mut state) => {
                    while let Some(record) = state.next_record() {
                        let record = record.map_err(invalid)?;
                        discard += record.discard;
                        early.extend_from_slice(record.payload);
                    }
                }
                ConnectionState::PeerClosed => peer_closed = true,
                ConnectionState::WriteTraffic(_) => done = true,
                ConnectionState::Closed => done = true,
                other => return Err(invalid(format!("unexpected TLS state {other:?}"))),
            }
            inbox.copy_within(discard..filled, 0);
            filled -= discard;
            if done {
                return Ok(Self {
                    conn,
                    inbox,
                    filled,
                    early,
                    peer_closed,
                });
            }
            if want_more {
                if filled == inbox.len() {
                    return Err(invalid("a handshake message too large"));
                }
                let n = (&*sock).read(&mut inbox[filled..])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client left during the TLS handshake",
                    ));
                }
                filled += n;
            }
        }
    }
}

#[cfg(test)]
mod tests;
