//! The server's side of an exchange: connect (retrying while the daemon restarts),
//! send one request, read the reply until the daemon closes the connection.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::MAX_MESSAGE;

/// How often, and how far apart, connecting is tried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all.
    pub attempts: u32,
    /// Pause between attempts.
    pub interval: Duration,
}

/// Pure-FTPd's: 10 attempts, 1 s apart.
pub const PURE_FTPD_RETRY: Retry = Retry {
    attempts: 10,
    interval: Duration::from_secs(1),
};

/// Why no reply came.
#[derive(Debug)]
pub enum ExchangeError {
    /// Nobody listens on the socket (after every retry).
    Unreachable(io::Error),
    /// The connection broke, or the reply did not come in time.
    Failed(io::Error),
    /// The reply is longer than [`MAX_MESSAGE`] bytes.
    TooLong,
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(e) => write!(f, "cannot connect to the daemon's socket: {e}"),
            Self::Failed(e) if e.kind() == io::ErrorKind::WouldBlock => {
                write!(f, "the daemon did not answer in time")
            }
            Self::Failed(e) => write!(f, "the exchange with the daemon failed: {e}"),
            Self::TooLong => write!(f, "the reply is longer than {MAX_MESSAGE} bytes"),
        }
    }
}

impl std::error::Error for ExchangeError {}

/// Sends `request` to the daemon at `socket` and returns its whole reply. `timeout`
/// bounds the wait for the reply (connecting is bounded by `retry`).
///
/// # Errors
/// See [`ExchangeError`].
pub fn exchange(
    socket: &Path,
    request: &[u8],
    retry: Retry,
    timeout: Duration,
) -> Result<Vec<u8>, ExchangeError> {
    let mut stream = connect(socket, retry).map_err(ExchangeError::Unreachable)?;
    let deadline = Instant::now() + timeout;
    stream
        .set_write_timeout(Some(timeout))
        .and_then(|()| stream.write_all(request))
        .map_err(ExchangeError::Failed)?;
    let mut reply = Vec::with_capacity(512);
    let mut buffer = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ExchangeError::Failed(io::ErrorKind::WouldBlock.into()));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(ExchangeError::Failed)?;
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(reply),
            Ok(n) => {
                reply.extend_from_slice(&buffer[..n]);
                if reply.len() > MAX_MESSAGE {
                    return Err(ExchangeError::TooLong);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ExchangeError::Failed(e)),
        }
    }
}

fn connect(socket: &Path, retry: Retry) -> io::Result<UnixStream> {
    let mut attempt = 1;
    loop {
        match UnixStream::connect(socket) {
            Ok(stream) => return Ok(stream),
            Err(e) if attempt >= retry.attempts => return Err(e),
            Err(_) => {
                attempt += 1;
                std::thread::sleep(retry.interval);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    const QUICK: Retry = Retry {
        attempts: 2,
        interval: Duration::from_millis(10),
    };

    #[test]
    fn a_missing_socket_is_unreachable() {
        let dir = tempfile::tempdir().expect("dir");
        let result = exchange(
            &dir.path().join("none"),
            b"end\n",
            QUICK,
            Duration::from_secs(1),
        );
        assert!(matches!(result, Err(ExchangeError::Unreachable(_))));
    }

    #[test]
    fn replies_are_read_to_eof_and_bounded() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).expect("bind");
        let daemon = std::thread::spawn(move || {
            for size in [10, MAX_MESSAGE + 1] {
                let (mut stream, _) = listener.accept().expect("accept");
                let mut request = [0u8; 64];
                let _ = stream.read(&mut request).expect("request");
                stream.write_all(&vec![b'x'; size]).expect("reply");
            }
            // The third client gets no answer at all.
            let (_stream, _) = listener.accept().expect("accept");
            std::thread::sleep(Duration::from_millis(500));
        });
        let ask = || exchange(&path, b"end\n", QUICK, Duration::from_millis(200));
        assert_eq!(ask().expect("reply").len(), 10);
        assert!(matches!(ask(), Err(ExchangeError::TooLong)));
        let timed_out = ask().expect_err("no reply");
        assert!(timed_out.to_string().contains("in time"), "{timed_out}");
        daemon.join().expect("daemon");
    }
}
