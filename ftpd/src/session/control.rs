//! The control connection: command lines in, replies out, in clear or under TLS (after
//! `AUTH TLS`, or from the start with implicit TLS, until `CCC`).

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use pureftpd_proto::Reply;
use pureftpd_proto::line::{Framed, LineReader};
use rustls::{ServerConfig, ServerConnection};

/// Why no line came.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The idle time passed.
    Timeout,
    /// The client closed the connection or it broke.
    Closed,
    /// The line exceeds the limit.
    TooLong,
}

/// A client's control connection.
#[derive(Debug)]
pub(crate) struct Control {
    stream: TcpStream,
    tls: Option<Box<ServerConnection>>,
    /// Under privilege separation, once logged in under TLS: the pre-login process
    /// stays the TLS endpoint, and clear text comes and goes through it.
    relay: Option<crate::privsep::Relayed>,
    lines: LineReader,
    /// How long one reply may take to send (the idle time).
    send_limit: Duration,
}

/// Runs a TLS handshake to its end, giving up after `timeout` of silence.
pub(crate) fn handshake(
    conn: &mut ServerConnection,
    stream: &mut TcpStream,
    timeout: Duration,
) -> io::Result<()> {
    let before = (stream.read_timeout()?, stream.write_timeout()?);
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let result = (|| {
        while conn.is_handshaking() {
            conn.complete_io(&mut *stream)?;
        }
        Ok(())
    })();
    stream.set_read_timeout(before.0)?;
    stream.set_write_timeout(before.1)?;
    result
}

impl Control {
    pub(crate) fn new(stream: TcpStream) -> Self {
        pureftpd_os::farewell_to(Some(std::os::fd::AsRawFd::as_raw_fd(&stream)));
        Self {
            stream,
            tls: None,
            relay: None,
            lines: LineReader::new(),
            send_limit: DEFAULT_SEND_LIMIT,
        }
    }

    /// The client socket's descriptor.
    pub(crate) fn stream_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.stream)
    }

    /// What to poll for the client's input.
    pub(crate) fn poll_fd(&self) -> BorrowedFd<'_> {
        match &self.relay {
            Some(relay) => relay.pipe.as_fd(),
            None => self.stream.as_fd(),
        }
    }

    /// Under privilege separation, after a login under TLS: clear text through the
    /// pre-login process from now on (see [`crate::privsep`]).
    pub(crate) fn relay_through(&mut self, relay: crate::privsep::Relayed) {
        pureftpd_os::farewell_to(None);
        let _ = relay.pipe.set_write_timeout(Some(self.send_limit));
        self.relay = Some(relay);
    }

    /// Client input read but not parsed yet (handed over by the pre-login process).
    pub(crate) fn push_unparsed(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    /// The input read but not parsed yet, taken (for the handover).
    pub(crate) fn take_unparsed(&mut self) -> Vec<u8> {
        self.lines.take_pending()
    }

    /// The socket and the TLS session, for the relay (see [`crate::privsep`]).
    pub(crate) fn parts(&mut self) -> (&TcpStream, Option<&mut ServerConnection>) {
        (&self.stream, self.tls.as_deref_mut())
    }

    /// The send limit (the idle time).
    pub(crate) fn send_limit(&self) -> Duration {
        self.send_limit
    }

    /// Ends the relay, if any (the pre-login process sees the pipe close and leaves).
    pub(crate) fn end_relay(&mut self) {
        self.relay = None;
    }

    /// How long a reply may wait for a client that does not read (a full socket
    /// buffer): past that, sending fails and the session ends, so a client that stops
    /// reading cannot hold its session (and a client slot) for ever.
    pub(crate) fn set_send_timeout(&mut self, idle: Duration) {
        self.send_limit = idle.max(Duration::from_secs(1));
        let _ = self.stream.set_write_timeout(Some(self.send_limit));
        if let Some(relay) = &self.relay {
            let _ = relay.pipe.set_write_timeout(Some(self.send_limit));
        }
    }

    /// Whether the connection is under TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some() || self.relay.is_some()
    }

    /// The negotiated protocol and cipher suite, for the log.
    pub(crate) fn tls_description(&self) -> Option<String> {
        let conn = self.tls.as_ref()?;
        Some(format!(
            "TLS: Enabled {}",
            crate::tls::describe(conn.protocol_version()?, conn.negotiated_cipher_suite()?)
        ))
    }

    /// The server name the client asked for (SNI).
    pub(crate) fn server_name(&self) -> Option<String> {
        if let Some(relay) = &self.relay {
            return relay.server_name.clone();
        }
        self.tls.as_ref()?.server_name().map(str::to_string)
    }

    /// Switches to TLS (after `234 AUTH TLS OK.` was sent, or at once for implicit TLS).
    /// `choose` gets the server name of the ClientHello and returns the configuration to
    /// go on with (`-3`: pure-certd picks the certificate), or why the session must end.
    pub(crate) fn start_tls(
        &mut self,
        choose: impl FnOnce(Option<&str>) -> Result<Arc<ServerConfig>, String>,
        timeout: Duration,
    ) -> io::Result<()> {
        // From the first TLS byte on, clear text would be garbage to the client.
        pureftpd_os::farewell_to(None);
        self.stream.set_read_timeout(Some(timeout))?;
        let accepted = self.read_client_hello();
        self.stream.set_read_timeout(None)?;
        let accepted = accepted?;
        let server_name = accepted.client_hello().server_name().map(str::to_string);
        let config = choose(server_name.as_deref()).map_err(|reason| {
            // A handshake_failure alert, so that the client says why it stops.
            let _ = self.stream.write_all(&[21, 3, 3, 0, 2, 2, 40]);
            io::Error::new(ErrorKind::PermissionDenied, reason)
        })?;
        let mut conn = accepted.into_connection(config).map_err(|(e, mut alert)| {
            let _ = alert.write_all(&mut self.stream);
            io::Error::other(e)
        })?;
        handshake(&mut conn, &mut self.stream, timeout)?;
        // The client's first command may have come with its last handshake message:
        // it is decrypted already, and poll would never see it.
        let state = conn.process_new_packets().map_err(io::Error::other)?;
        let pending = state.plaintext_bytes_to_read();
        if pending > 0 {
            let mut clear = vec![0u8; pending];
            conn.reader().read_exact(&mut clear)?;
            self.lines.push(&clear);
        }
        self.tls = Some(Box::new(conn));
        Ok(())
    }

    /// Reads until the ClientHello is complete.
    fn read_client_hello(&mut self) -> io::Result<rustls::server::Accepted> {
        let mut acceptor = rustls::server::Acceptor::default();
        // A client that sent its ClientHello without waiting for 234: those bytes were
        // read as a command line's start, and are TLS.
        let early = self.lines.take_pending();
        if !early.is_empty() {
            acceptor.read_tls(&mut early.as_slice())?;
        }
        loop {
            match acceptor.accept() {
                Ok(Some(accepted)) => return Ok(accepted),
                Ok(None) => {
                    if acceptor.read_tls(&mut self.stream)? == 0 {
                        return Err(ErrorKind::UnexpectedEof.into());
                    }
                }
                Err((e, mut alert)) => {
                    let _ = alert.write_all(&mut self.stream);
                    return Err(io::Error::other(e));
                }
            }
        }
    }

    /// CCC: sends `reply` (encoded: the last reply under TLS), ends TLS (close_notify
    /// both ways) and goes on in clear.
    pub(crate) fn stop_tls(&mut self, reply: &[u8], timeout: Duration) -> io::Result<()> {
        if let Some(relay) = self.relay.take() {
            // The relay sends the reply and ends TLS (it holds the session), then leaves
            // the socket in clear.
            relay.stop_tls(reply.to_vec(), timeout)?;
            pureftpd_os::farewell_to(Some(std::os::fd::AsRawFd::as_raw_fd(&self.stream)));
            return Ok(());
        }
        self.send_bytes(reply)?;
        let Some(mut conn) = self.tls.take() else {
            return Ok(());
        };
        conn.send_close_notify();
        while conn.wants_write() {
            conn.write_tls(&mut self.stream)?;
        }
        // The client's close_notify follows, then clear text. Read TLS records one by one
        // (peeking first), so that not one byte of the clear text is taken for TLS.
        self.stream.set_read_timeout(Some(timeout))?;
        let result = self.read_closing_records(&mut conn);
        self.stream.set_read_timeout(None)?;
        if result.is_ok() {
            // Clear text again: a farewell on SIGTERM may be written (see listener.rs).
            pureftpd_os::farewell_to(Some(std::os::fd::AsRawFd::as_raw_fd(&self.stream)));
        }
        result
    }

    /// Consumes the client's last TLS records after our close_notify; stops at its
    /// close_notify, or as soon as the next byte does not start a TLS record.
    fn read_closing_records(&mut self, conn: &mut ServerConnection) -> io::Result<()> {
        const ALERT: u8 = 21;
        const APPLICATION_DATA: u8 = 23;
        loop {
            let mut first = [0u8; 1];
            match self.stream.peek(&mut first) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            if first[0] != ALERT && first[0] != APPLICATION_DATA {
                return Ok(());
            }
            let mut header = [0u8; 5];
            self.stream.read_exact(&mut header)?;
            let mut record = header.to_vec();
            record.resize(
                5 + usize::from(u16::from_be_bytes([header[3], header[4]])),
                0,
            );
            self.stream.read_exact(&mut record[5..])?;
            conn.read_tls(&mut record.as_slice())?;
            if conn
                .process_new_packets()
                .map_err(io::Error::other)?
                .peer_has_closed()
            {
                return Ok(());
            }
        }
    }

    /// The next command line, waiting at most `idle`.
    pub(crate) fn read_line(&mut self, idle: Duration) -> Result<Vec<u8>, ReadError> {
        loop {
            match self.lines.next_line() {
                Framed::Line(line) => return Ok(line),
                Framed::TooLong => return Err(ReadError::TooLong),
                Framed::Incomplete => {}
            }
            if !self.wait_readable(idle) {
                return Err(ReadError::Timeout);
            }
            self.fill()?;
        }
    }

    /// A line if one is complete or arrives without waiting (commands sent during a
    /// transfer, such as ABOR).
    pub(crate) fn try_read_line(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        loop {
            match self.lines.next_line() {
                Framed::Line(line) => return Ok(Some(line)),
                Framed::TooLong => return Err(ReadError::TooLong),
                Framed::Incomplete => {}
            }
            if !self.wait_readable(Duration::ZERO) {
                return Ok(None);
            }
            self.fill()?;
        }
    }

    /// Reads what the socket has, decrypting it under TLS; every byte of clear text
    /// goes to the line reader, so none waits inside rustls unseen by `poll`.
    fn fill(&mut self) -> Result<(), ReadError> {
        if let Some(relay) = &mut self.relay {
            return fill_plain(&mut relay.pipe, &mut self.lines);
        }
        let Some(conn) = self.tls.as_mut() else {
            return fill_plain(&mut self.stream, &mut self.lines);
        };
        loop {
            match conn.read_tls(&mut self.stream) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Err(ReadError::Closed),
            }
            let state = match conn.process_new_packets() {
                Ok(state) => state,
                Err(_) => {
                    // Tell the client why (an alert), then give up on it.
                    let _ = conn.write_tls(&mut self.stream);
                    return Err(ReadError::Closed);
                }
            };
            let pending = state.plaintext_bytes_to_read();
            let closed = state.peer_has_closed();
            while conn.wants_write() {
                if conn.write_tls(&mut self.stream).is_err() {
                    return Err(ReadError::Closed);
                }
            }
            if pending > 0 {
                let mut clear = vec![0u8; pending];
                conn.reader()
                    .read_exact(&mut clear)
                    .map_err(|_| ReadError::Closed)?;
                self.lines.push(&clear);
                return Ok(());
            }
            if closed {
                return Err(ReadError::Closed);
            }
        }
    }

    /// Whether bytes can be read within `timeout` (a hang-up counts: the read sees it).
    pub(crate) fn wait_readable(&self, timeout: Duration) -> bool {
        let mut fds = [PollFd::new(
            self.poll_fd(),
            PollFlags::POLLIN | PollFlags::POLLPRI,
        )];
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        matches!(poll(&mut fds, PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)), Ok(n) if n > 0)
    }

    /// Sends a reply, all of it within the idle time (see [`crate::send_deadline`]).
    pub(crate) fn send(&mut self, reply: &Reply) -> io::Result<()> {
        self.send_bytes(&reply.encode())
    }

    /// Sends encoded replies, all of them within the idle time.
    fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(relay) = &self.relay {
            return crate::send_deadline::Deadline::new(&relay.pipe, self.send_limit)
                .write_all(bytes);
        }
        let mut out = crate::send_deadline::Deadline::new(&self.stream, self.send_limit);
        match self.tls.as_mut() {
            None => out.write_all(bytes),
            Some(conn) => {
                conn.writer().write_all(bytes)?;
                while conn.wants_write() {
                    conn.write_tls(&mut out)?;
                }
                Ok(())
            }
        }
    }
}

/// Until `set_send_timeout`: Pure-FTPd's default idle time.
const DEFAULT_SEND_LIMIT: Duration = Duration::from_secs(15 * 60);

fn fill_plain(stream: &mut impl Read, lines: &mut LineReader) -> Result<(), ReadError> {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => {
                lines.push(&buf[..n]);
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(_) => return Err(ReadError::Closed),
        }
    }
}
