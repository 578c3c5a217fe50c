//! Sends that must be done by a deadline: a reply on the control connection, a flush of
//! TLS records on a data connection.
//!
//! The socket's send timeout (`SO_SNDTIMEO`, the idle time) alone restarts with every
//! partial write, and a client that reads nothing still lets a few bytes through now
//! and then (its kernel compacts its receive buffers), so one send could last for ever
//! (seen: a TLS download nobody read went on for three idle times). Here the first write
//! runs under the socket's standing timeout (no extra system call for the usual send
//! that fits at once); later ones get only what is left of the deadline, and the
//! standing timeout is put back afterwards. A client must therefore take one reply, or
//! one flush of at most the TLS outbox (1 MiB), within the idle time.

use std::io::{self, ErrorKind, Write};
use std::os::fd::AsFd;
use std::time::Duration;

/// Writes to a socket that must all be done by one deadline.
pub(crate) struct Deadline<'s> {
    stream: socket2::SockRef<'s>,
    limit: Duration,
    deadline: std::time::Instant,
    shortened: bool,
    writes: u32,
}

impl<'s> Deadline<'s> {
    /// Writes that must be done within `limit` from now.
    /// (Any connected socket: the client's, or the pipe to a TLS relay.)
    pub(crate) fn new(stream: &'s impl AsFd, limit: Duration) -> Self {
        Self {
            stream: socket2::SockRef::from(stream),
            limit,
            deadline: std::time::Instant::now() + limit,
            shortened: false,
            writes: 0,
        }
    }
}

impl Deadline<'_> {
    /// Before every write but the first: only what is left of the deadline.
    fn shorten(&mut self) -> io::Result<()> {
        if self.writes > 0 {
            let left = self
                .deadline
                .saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(ErrorKind::TimedOut.into());
            }
            self.stream.set_write_timeout(Some(left))?;
            self.shortened = true;
        }
        self.writes += 1;
        Ok(())
    }
}

impl Write for Deadline<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.shorten()?;
        (&*self.stream).write(buf)
    }

    /// One vectored send, as the socket's own (TLS records go out together).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.shorten()?;
        (&*self.stream).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Deadline<'_> {
    fn drop(&mut self) {
        if self.shortened {
            let _ = self.stream.set_write_timeout(Some(self.limit));
        }
    }
}
