//! Bandwidth limits (`-T`, the account's own) and ratios (`-Q`, the account's own) for
//! SFTP, with pure-ftpd's rules and code (`session::throttle`: which limit applies to
//! whom, the pacer, the ratio test). What differs is only where they bite:
//!
//! * SFTP requests are answered one at a time (russh-sftp's loop), so pacing a
//!   session's reads paces its downloads, however many files it has open, as one FTP
//!   transfer is paced. A throttled read answers at most a step's worth (a tenth of a
//!   second of the rate, at least 32 KiB): a short read, which SFTP allows and clients
//!   follow with the next request, rather than one 255 KiB burst followed by a long
//!   silence.
//! * The ratio is tested when a file is opened for reading, with its whole size (FTP's
//!   `RETR` without `REST`); the counters are the session's bytes, as pure-ftpd's.
//!   An SFTP client gets `SSH_FX_PERMISSION_DENIED` with pure-ftpd's first line.

use std::time::Duration;

use russh_sftp::protocol::StatusCode;
use russh_sftp::server::StatusReply;

use super::attrs::refused;
use crate::session::throttle::{Pacer, Policies};

/// Smallest read a throttled session answers (OpenSSH's clients ask 32 KiB at least).
const MIN_THROTTLED_READ: usize = 32 * 1024;

/// One session's limits and counters.
pub(crate) struct Throttle {
    policies: Policies,
    downloads: Option<Pacer>,
    uploads: Option<Pacer>,
    uploaded: u64,
    downloaded: u64,
}

impl Throttle {
    pub(crate) fn new(policies: Policies) -> Self {
        Self {
            downloads: policies.download_rate.map(Pacer::new),
            uploads: policies.upload_rate.map(Pacer::new),
            policies,
            uploaded: 0,
            downloaded: 0,
        }
    }

    /// How much of a read of `asked` bytes to answer.
    pub(crate) fn read_size(&self, asked: usize) -> usize {
        match &self.downloads {
            Some(pacer) => asked.min(pacer.step().max(MIN_THROTTLED_READ)),
            None => asked,
        }
    }

    /// Whether a file of `size` bytes may be downloaded under the ratio.
    pub(crate) fn may_download(&self, size: u64) -> Result<(), StatusReply> {
        match self
            .policies
            .ratio_refusal(self.uploaded, self.downloaded, size, 0)
        {
            Some(reply) => {
                let first = reply
                    .lines()
                    .first()
                    .map(|line| String::from_utf8_lossy(line).into_owned())
                    .unwrap_or_default();
                Err(refused(StatusCode::PermissionDenied, &first))
            }
            None => Ok(()),
        }
    }

    /// `bytes` were read: counted, and the time they take at the rate is waited.
    pub(crate) async fn downloaded(&mut self, bytes: u64) {
        self.downloaded = self.downloaded.saturating_add(bytes);
        wait(self.downloads.as_mut(), bytes).await;
    }

    /// `bytes` were written: counted, and the time they take at the rate is waited.
    pub(crate) async fn uploaded(&mut self, bytes: u64) {
        self.uploaded = self.uploaded.saturating_add(bytes);
        wait(self.uploads.as_mut(), bytes).await;
    }
}

async fn wait(pacer: Option<&mut Pacer>, bytes: u64) {
    let pause = pacer.map_or(Duration::ZERO, |pacer| pacer.after(bytes));
    if !pause.is_zero() {
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_cut_to_a_step_and_ratios_refuse_as_pure_ftpd() {
        let free = Throttle::new(Policies::default());
        assert_eq!(free.read_size(255 * 1024), 255 * 1024);
        assert!(free.may_download(u64::MAX / 2).is_ok());
        let slow = Throttle::new(Policies {
            download_rate: Some(100 * 1024),
            ..Policies::default()
        });
        assert_eq!(slow.read_size(255 * 1024), MIN_THROTTLED_READ);
        let fast = Throttle::new(Policies {
            download_rate: Some(10 * 1024 * 1024),
            ..Policies::default()
        });
        assert_eq!(fast.read_size(255 * 1024), 255 * 1024);
        let mut ratio = Throttle::new(Policies {
            ratio: Some((1, 2)),
            ..Policies::default()
        });
        // Integer division, as pure-ftpd's: one byte is free, two are not.
        assert!(ratio.may_download(1).is_ok());
        let refusal = ratio.may_download(2).unwrap_err();
        assert!(
            format!("{refusal:?}").contains("ratio is 1:2"),
            "{refusal:?}"
        );
        ratio.uploaded = 1000;
        assert!(ratio.may_download(2000).is_ok());
        assert!(ratio.may_download(2001 + 1).is_err());
    }
}
