//! Uploads under `PROT P`, through rustls' unbuffered API.
//!
//! rustls' buffered `ServerConnection` reads the socket 4 KiB at a time into its own
//! deframer and an upload spent more time in `memmove` than in AES-GCM. Its unbuffered
//! API works on our buffer instead: `recv` fills `INBOX_SIZE` bytes of ciphertext at
//! once, rustls opens each record in place there (its own record layer: sequence
//! numbers, KeyUpdate, alerts, limits) and hands over the clear text, which is copied
//! into the caller's buffer. No secret leaves rustls, and no AEAD is called here.
//!
//! Downloads keep rustls' stream (`tls_stream.rs`): sending does not copy as much.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, InsufficientSizeError, UnbufferedStatus,
};

/// Socket buffer: one `recv` takes up to this much ciphertext.
const INBOX_SIZE: usize = 256 * 1024;

/// A record's header, and the longest ciphertext one may carry (RFC 5246 §6.2.3:
/// 2^14 + 2048): the inbox is compacted when less than that is left at its end.
const HEADER: usize = 5;
const MAX_CIPHERTEXT: usize = (1 << 14) + 2048;

/// A data connection under TLS that the client uploads on.
pub struct UploadStream {
    sock: TcpStream,
    conn: UnbufferedServerConnection,
    /// Ciphertext not yet given to rustls is `inbox[start..end]`.
    inbox: Vec<u8>,
    start: usize,
    end: usize,
    /// Clear text rustls opened that the caller has not taken yet: `plain[taken..]`.
    plain: Vec<u8>,
    taken: usize,
    /// Records rustls wants sent (handshake, a KeyUpdate answer, close_notify).
    outgoing: Vec<u8>,
    /// The client's close_notify came: the upload is complete.
    peer_closed: bool,
    /// TCP ended.
    eof: bool,
    /// An error met while looking ahead in [`UploadStream::buffered`], for `read`.
    failed: Option<io::Error>,
}

/// What one turn of rustls' state machine gave.
enum Step {
    /// Clear text (appended to `plain`), a record rustls consumed, or bytes sent.
    Progress,
    /// Nothing more can be opened without more ciphertext.
    NeedMore,
    /// The client's close_notify.
    PeerClosed,
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl UploadStream {
    /// Runs the server side of the handshake on `sock` (at most `timeout` per read or
    /// write).
    ///
    /// # Errors
    /// The handshake failed: the connection is unusable.
    pub fn accept(
        config: Arc<ServerConfig>,
        sock: TcpStream,
        timeout: Duration,
    ) -> io::Result<Self> {
        let conn = UnbufferedServerConnection::new(config).map_err(invalid)?;
        let mut stream = Self {
            sock,
            conn,
            inbox: vec![0u8; INBOX_SIZE],
            start: 0,
            end: 0,
            plain: Vec::new(),
            taken: 0,
            outgoing: vec![0u8; 16 * 1024],
            peer_closed: false,
            eof: false,
            failed: None,
        };
        stream.sock.set_read_timeout(Some(timeout))?;
        stream.sock.set_write_timeout(Some(timeout))?;
        let handshake = stream.handshake();
        stream.sock.set_read_timeout(None)?;
        stream.sock.set_write_timeout(None)?;
        handshake?;
        Ok(stream)
    }

    /// The TCP socket underneath.
    #[must_use]
    pub fn socket(&self) -> &TcpStream {
        &self.sock
    }

    /// Whether something is here that `poll` on the socket would not show: clear text,
    /// or the end. Opens the records already received to know.
    pub fn buffered(&mut self) -> bool {
        loop {
            if self.taken < self.plain.len() || self.peer_closed || self.failed.is_some() {
                return true;
            }
            match self.step(&mut []) {
                Ok((Step::Progress, _)) => {}
                Ok((Step::NeedMore, _)) => return false,
                Ok((Step::PeerClosed, _)) => self.peer_closed = true,
                Err(e) => self.failed = Some(e),
            }
        }
    }

    /// Sends close_notify, once whatever the client sent before it is consumed.
    ///
    /// # Errors
    /// rustls refused (the connection failed earlier), or the socket's write error.
    pub fn close_notify(&mut self) -> io::Result<()> {
        loop {
            let status = self
                .conn
                .process_tls_records(&mut self.inbox[self.start..self.end]);
            let UnbufferedStatus { discard, state } = status;
            match state.map_err(invalid)? {
                ConnectionState::WriteTraffic(mut state) => {
                    let n = loop {
                        match state.queue_close_notify(&mut self.outgoing) {
                            Ok(n) => break n,
                            Err(EncryptError::InsufficientSize(InsufficientSizeError {
                                required_size,
                            })) => self.outgoing.resize(required_size, 0),
                            Err(e) => return Err(invalid(e)),
                        }
                    };
                    self.start += discard;
                    return (&self.sock).write_all(&self.outgoing[..n]);
                }
                ConnectionState::Closed => return Ok(()),
                // Unread clear text is dropped: the upload is over.
                ConnectionState::ReadTraffic(mut state) => {
                    while let Some(record) = state.next_record() {
                        record.map_err(invalid)?;
                    }
                }
                ConnectionState::PeerClosed => {}
                ConnectionState::EncodeTlsData(mut state) => {
                    let n = encode(&mut self.outgoing, |out| state.encode(out))?;
                    (&self.sock).write_all(&self.outgoing[..n])?;
                }
                ConnectionState::TransmitTlsData(state) => state.done(),
                other => return Err(invalid(format!("unexpected TLS state {other:?}"))),
            }
            self.start += discard;
        }
    }

    /// Drives rustls until it may send application data. rustls is shown the records
    /// one by one (one more each time it is blocked with what it was shown, since a
    /// handshake message may span records), so that the handshake ends at its last
    /// record: what follows (the upload, or a forged record) is for `read`, never judged
    /// as part of the handshake.
    fn handshake(&mut self) -> io::Result<()> {
        let mut records = 1;
        // rustls joins a handshake message that spans records in place, in the bytes it
        // was shown, and goes on from there at the next call: it must be shown at least
        // as far again, even after a discard (showing one record from the new start
        // once made it index past the end of what it was given, a panic).
        let mut shown_until = self.start;
        loop {
            let shown = (self.start + records_length(&self.inbox[self.start..self.end], records))
                .max(shown_until)
                .min(self.end);
            shown_until = shown;
            let status = self
                .conn
                .process_tls_records(&mut self.inbox[self.start..shown]);
            let UnbufferedStatus { discard, state } = status;
            let mut want_more = false;
            match state.map_err(invalid)? {
                ConnectionState::EncodeTlsData(mut state) => {
                    let n = encode(&mut self.outgoing, |out| state.encode(out))?;
                    (&self.sock).write_all(&self.outgoing[..n])?;
                }
                // Encoded records are written at once, above.
                ConnectionState::TransmitTlsData(state) => state.done(),
                ConnectionState::BlockedHandshake if shown < self.end => records += 1,
                ConnectionState::BlockedHandshake => want_more = true,
                ConnectionState::ReadTraffic(mut state) => {
                    while let Some(record) = state.next_record() {
                        self.plain
                            .extend_from_slice(record.map_err(invalid)?.payload);
                    }
                }
                ConnectionState::PeerClosed => self.peer_closed = true,
                ConnectionState::WriteTraffic(_) | ConnectionState::Closed => {
                    self.start += discard;
                    return Ok(());
                }
                other => return Err(invalid(format!("unexpected TLS state {other:?}"))),
            }
            if discard > 0 {
                self.start += discard;
                records = 1;
            }
            if want_more {
                let emptied = self.start == self.end;
                self.receive_handshake()?;
                if emptied {
                    // Nothing was kept: the inbox starts over at 0.
                    shown_until = self.start;
                }
            }
        }
    }

    /// Reads more of the handshake (blocking, within the socket's timeout).
    fn receive_handshake(&mut self) -> io::Result<()> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        if self.end == self.inbox.len() {
            return Err(invalid("a handshake message too large"));
        }
        let n = (&self.sock).read(&mut self.inbox[self.end..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client left during the TLS handshake",
            ));
        }
        self.end += n;
        Ok(())
    }

    /// One turn of rustls over the ciphertext received: at most one record opened.
    /// Clear text goes into `out` first (the caller's buffer: one copy fewer), the
    /// rest, if any, into `plain`, which must be empty when `out` is not.
    fn step(&mut self, out: &mut [u8]) -> io::Result<(Step, usize)> {
        let mut given = 0;
        let status = self
            .conn
            .process_tls_records(&mut self.inbox[self.start..self.end]);
        let UnbufferedStatus { discard, state } = status;
        let step = match state.map_err(invalid)? {
            ConnectionState::ReadTraffic(mut state) => {
                if self.taken == self.plain.len() {
                    self.plain.clear();
                    self.taken = 0;
                }
                while let Some(record) = state.next_record() {
                    let payload = record.map_err(invalid)?.payload;
                    let direct = if self.plain.is_empty() {
                        payload.len().min(out.len() - given)
                    } else {
                        0
                    };
                    out[given..given + direct].copy_from_slice(&payload[..direct]);
                    given += direct;
                    self.plain.extend_from_slice(&payload[direct..]);
                }
                Step::Progress
            }
            ConnectionState::PeerClosed => Step::PeerClosed,
            // A KeyUpdate the client asked to be answered.
            ConnectionState::EncodeTlsData(mut state) => {
                let n = encode(&mut self.outgoing, |out| state.encode(out))?;
                (&self.sock).write_all(&self.outgoing[..n])?;
                Step::Progress
            }
            ConnectionState::TransmitTlsData(state) => {
                state.done();
                Step::Progress
            }
            // Consumed what it could; the rest of a record is still on its way.
            ConnectionState::WriteTraffic(_) | ConnectionState::BlockedHandshake => {
                if discard > 0 {
                    Step::Progress
                } else {
                    Step::NeedMore
                }
            }
            ConnectionState::Closed => Step::PeerClosed,
            other => return Err(invalid(format!("unexpected TLS state {other:?}"))),
        };
        self.start += discard;
        Ok((step, given))
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

/// The length of the first `records` records of `ciphertext`, as far as they are
/// there (an incomplete one counts whole).
fn records_length(ciphertext: &[u8], records: usize) -> usize {
    let mut length = 0;
    for _ in 0..records {
        match ciphertext.get(length..length + HEADER) {
            Some([_, _, _, high, low]) => {
                length += HEADER + usize::from(u16::from_be_bytes([*high, *low]));
            }
            _ => return ciphertext.len(),
        }
    }
    length.min(ciphertext.len())
}

/// Encodes into `outgoing`, growing it when rustls says it is too small; the length.
fn encode(
    outgoing: &mut Vec<u8>,
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>,
) -> io::Result<usize> {
    loop {
        match encode(outgoing) {
            Ok(n) => return Ok(n),
            Err(EncodeError::InsufficientSize(InsufficientSizeError { required_size })) => {
                outgoing.resize(required_size, 0);
            }
            Err(e) => return Err(invalid(e)),
        }
    }
}

impl Read for UploadStream {
    /// Waits for some clear text, then returns all that is available without waiting
    /// (up to `buf`'s size). `Ok(0)`: the client's close_notify; `UnexpectedEof`: TCP
    /// ended without one.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            if self.taken < self.plain.len() {
                let n = (buf.len() - filled).min(self.plain.len() - self.taken);
                buf[filled..filled + n].copy_from_slice(&self.plain[self.taken..self.taken + n]);
                self.taken += n;
                filled += n;
                continue;
            }
            if let Some(e) = self.failed.take() {
                if filled > 0 {
                    self.failed = Some(e);
                    break;
                }
                return Err(e);
            }
            if self.peer_closed {
                break;
            }
            match self.step(&mut buf[filled..]) {
                Ok((Step::Progress, given)) => {
                    filled += given;
                    continue;
                }
                Ok((Step::PeerClosed, _)) => {
                    self.peer_closed = true;
                    continue;
                }
                Ok((Step::NeedMore, _)) => {}
                Err(e) if filled > 0 => {
                    self.failed = Some(e);
                    break;
                }
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

#[cfg(test)]
mod tests;
