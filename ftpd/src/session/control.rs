//! The control connection: command lines in, replies out.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use pureftpd_proto::Reply;
use pureftpd_proto::line::{Framed, LineReader};

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
    lines: LineReader,
}

impl Control {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            lines: LineReader::new(),
        }
    }

    pub(crate) fn stream(&self) -> &TcpStream {
        &self.stream
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

    fn fill(&mut self) -> Result<(), ReadError> {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(n) => {
                    self.lines.push(&buf[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(_) => return Err(ReadError::Closed),
            }
        }
    }

    /// Whether bytes can be read within `timeout` (a hang-up counts: the read sees it).
    pub(crate) fn wait_readable(&self, timeout: Duration) -> bool {
        let mut fds = [PollFd::new(
            self.stream.as_fd(),
            PollFlags::POLLIN | PollFlags::POLLPRI,
        )];
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        matches!(poll(&mut fds, PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)), Ok(n) if n > 0)
    }

    /// Sends a reply.
    pub(crate) fn send(&mut self, reply: &Reply) -> io::Result<()> {
        self.stream.write_all(&reply.encode())
    }
}
