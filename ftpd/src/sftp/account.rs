//! The account's process: the monitor after a login, entered into the account exactly
//! as a pure-ftpd session is (`privilege::enter`: home opened as root, chroot when the
//! rules ask for one, ids switched for good; the virtual root of the kernel's path
//! resolution when not started as root). It serves SFTP (`files.rs`) on its end of the
//! pipe from the pre-login process, never touching the network itself.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::files::Files;
use super::monitor::Monitor;
use super::protocol::Answer;
use super::report::Reporter;
use crate::auth::LoggedUser;
use crate::log::{Level, Logger};

/// Largest SFTP request read from the client (russh-sftp's default, 256 KiB: a write
/// of OpenSSH's 255 KiB blocks fits, anything bigger ends the session).
const MAX_REQUEST: u32 = 256 * 1024;

/// Enters the account and serves its SFTP session until it ends.
pub(crate) fn serve(mut monitor: Monitor<'_>, user: LoggedUser) {
    if let Some(board) = &mut monitor.board {
        board.set_account(&user.login);
        board.set_sftp();
    }
    let trusted = crate::account_rules::is_trusted(monitor.config, &user);
    let entered = match crate::privilege::enter(&user, monitor.config) {
        Ok(entered) => entered,
        Err(e) => {
            monitor.log.log(
                Level::Error,
                &format!(
                    "Can't enter the home of [{}]: {e}",
                    String::from_utf8_lossy(&user.login)
                ),
            );
            let _ = monitor.channel.send(&Answer::Closed.encode());
            monitor.end();
            return;
        }
    };
    let quota = match crate::account_rules::quota_limits(monitor.config, &user, trusted)
        .map(|limits| crate::quota::Quota::open(&entered.vfs, limits))
        .transpose()
    {
        Ok(quota) => quota,
        Err(e) => {
            monitor.log.log(
                Level::Error,
                &format!(
                    "Unable to open the quota file {}: {e}",
                    crate::quota::FILE_NAME
                ),
            );
            let _ = monitor.channel.send(&Answer::Closed.encode());
            monitor.end();
            return;
        }
    };
    if monitor.channel.send(&Answer::Accepted.encode()).is_err() {
        monitor.end();
        return;
    }
    monitor.log.account = String::from_utf8_lossy(&user.login).into_owned();
    monitor.log.log(
        Level::Info,
        &format!("{} is now logged in", monitor.log.account),
    );
    let Ok(pipe) = monitor.pipe.try_clone() else {
        monitor.end();
        return;
    };
    // The logs go with the SFTP server, which says `Logout.` when it ends.
    let quiet = Logger::new(None, false, 0, crate::time_zone::local());
    let reporter = Reporter {
        log: std::mem::replace(&mut monitor.log, quiet),
        alt_log: monitor.alt_log.take(),
        base: entered.base,
        upload_script: monitor.config.upload_script,
        connected_at: monitor.connected_at,
        board: monitor.board.take().map(super::report::SharedBoard::new),
        showing: None,
    };
    let policies = crate::session::throttle::Policies::for_user(&user, monitor.config, trusted);
    let flusher = reporter.board.clone();
    let files = Files::new(
        entered.vfs,
        quota,
        super::throttle::Throttle::new(policies),
        reporter,
        monitor.config,
        user.uid,
    );
    run_sftp(pipe, files, flusher);
    monitor.end();
}

/// Runs russh-sftp's request loop on the pipe until the client's end closes.
fn run_sftp(
    pipe: std::os::unix::net::UnixStream,
    files: Files,
    board: Option<std::sync::Arc<super::report::SharedBoard>>,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async move {
        if pipe.set_nonblocking(true).is_err() {
            return;
        }
        let Ok(pipe) = tokio::net::UnixStream::from_std(pipe) else {
            return;
        };
        // russh-sftp runs its loop in a task of its own and does not say when it ends:
        // the stream is dropped then, which this notices.
        let (ended, done) = tokio::sync::oneshot::channel::<()>();
        let watched = Watched::new(pipe, ended);
        let config = russh_sftp::server::Config {
            max_client_packet_len: MAX_REQUEST,
        };
        russh_sftp::server::run_with_config(watched, files, config).await;
        match board {
            Some(board) => {
                tokio::select! {
                    _ = done => {}
                    () = super::report::flush_while_idle(board) => {}
                }
            }
            None => {
                let _ = done.await;
            }
        }
    });
}

/// The account's end of the pipe, as russh-sftp reads it: tells, by being dropped,
/// that russh-sftp's loop is over, and follows the packets' lengths so that a packet
/// over [`MAX_REQUEST`] ends the session (as OpenSSH's server, "received packet too
/// long") instead of leaving russh-sftp to read its body as further packets.
struct Watched<S> {
    inner: S,
    _ended: tokio::sync::oneshot::Sender<()>,
    /// The length field being read, and how much of it.
    header: [u8; 4],
    header_read: usize,
    /// Bytes of the current packet's body still to come.
    body_left: u64,
}

impl<S> Watched<S> {
    fn new(inner: S, ended: tokio::sync::oneshot::Sender<()>) -> Self {
        Self {
            inner,
            _ended: ended,
            header: [0; 4],
            header_read: 0,
            body_left: 0,
        }
    }

    /// Follows `bytes` through the packets; `false` if a length over the limit came.
    fn follow(&mut self, bytes: &[u8]) -> bool {
        let mut at = 0;
        while at < bytes.len() {
            if self.body_left > 0 {
                let take = usize::try_from(self.body_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len() - at);
                self.body_left -= take as u64;
                at += take;
                continue;
            }
            self.header[self.header_read] = bytes[at];
            self.header_read += 1;
            at += 1;
            if self.header_read == 4 {
                self.header_read = 0;
                let length = u32::from_be_bytes(self.header);
                if length > MAX_REQUEST {
                    return false;
                }
                self.body_left = u64::from(length);
            }
        }
        true
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            let fresh = buf.filled()[before..].to_vec();
            if !self.follow(&fresh) {
                // russh-sftp ends its loop at the end of its input, and only there.
                return Poll::Ready(Err(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_followed_across_reads_and_an_oversized_one_is_caught() {
        let (ended, _done) = tokio::sync::oneshot::channel();
        let mut watched = Watched::new((), ended);
        let mut stream = Vec::new();
        for length in [5u32, 0, MAX_REQUEST] {
            stream.extend_from_slice(&length.to_be_bytes());
            stream.extend(std::iter::repeat_n(7u8, length as usize));
        }
        // Any cut into reads gives the same answer.
        for chunk in [1, 3, 4, 1000, stream.len()] {
            let (ended, _done) = tokio::sync::oneshot::channel();
            let mut w = Watched::new((), ended);
            assert!(
                stream.chunks(chunk).all(|c| w.follow(c)),
                "chunks of {chunk}"
            );
        }
        assert!(watched.follow(&stream));
        assert!(!watched.follow(&(MAX_REQUEST + 1).to_be_bytes()));
    }
}
