//! Bandwidth limits (`-t`, `-T`, the account's own) and ratios (`-q`, `-Q`, the
//! account's own), as Pure-FTPd applies them (spec §10.3).
//!
//! Throttling paces each transfer in small steps (a tenth of a second's worth of
//! bytes), each step scheduled after the previous one, so the rate is steady: a client
//! that falls behind cannot catch up in a burst beyond a fifth of a second's worth.
//! While it waits the session keeps watching the control connection, so ABOR works.

use std::time::{Duration, Instant};

use pureftpd_proto::Reply;

use crate::auth::LoggedUser;
use crate::config::Config;

/// Smallest step, so that a slow rate still moves whole packets.
const MIN_STEP: u64 = 4096;
/// How far behind schedule a transfer may fall and still catch up.
const CATCH_UP: Duration = Duration::from_millis(200);

/// What applies to a logged-in session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Policies {
    /// Upload limit, bytes per second.
    pub(crate) upload_rate: Option<u64>,
    /// Download limit, bytes per second.
    pub(crate) download_rate: Option<u64>,
    /// Upload:download ratio.
    pub(crate) ratio: Option<(u32, u32)>,
}

impl Policies {
    /// The account's own values first, then the server's: `-t` for anonymous sessions,
    /// `-T` for every session; `-q` for anonymous sessions, `-Q` for everyone. Members
    /// of the trusted group (`-a`) have no ratio at all, not even the account's own
    /// (Pure-FTPd clears both after the login).
    pub(crate) fn for_user(user: &LoggedUser, config: &Config, trusted: bool) -> Self {
        let server_rates = if user.anonymous {
            config.anonymous_bandwidth.or(config.user_bandwidth)
        } else {
            config.user_bandwidth
        };
        let own_ratio = match (user.upload_ratio, user.download_ratio) {
            (Some(up), Some(down)) if up > 0 && down > 0 => Some((up, down)),
            _ => None,
        };
        let server_ratio = if user.anonymous {
            config.anonymous_ratio.or(config.user_ratio)
        } else {
            config.user_ratio
        };
        Self {
            upload_rate: user
                .upload_bandwidth
                .or(server_rates.and_then(|r| r.up))
                .filter(|&r| r > 0),
            download_rate: user
                .download_bandwidth
                .or(server_rates.and_then(|r| r.down))
                .filter(|&r| r > 0),
            ratio: if trusted {
                None
            } else {
                own_ratio.or(server_ratio)
            },
        }
    }

    /// The lines the login reply carries about them (as Pure-FTPd, an anonymous login
    /// is not told about its ratio, which applies all the same).
    pub(crate) fn login_lines(&self, anonymous: bool) -> Vec<String> {
        let mut lines = Vec::new();
        if self.upload_rate.is_some() || self.download_rate.is_some() {
            lines.push("Your bandwidth usage is restricted".to_string());
        }
        if let Some((up, down)) = self.ratio.filter(|_| !anonymous) {
            lines.push(format!("You must respect a {up}:{down} (UL/DL) ratio"));
        }
        lines
    }

    /// Pure-FTPd's ratio rule for a download of `size` bytes from `restart`: refused
    /// when `(downloaded + size - restart) / down > uploaded / up`.
    pub(crate) fn ratio_refusal(
        &self,
        uploaded: u64,
        downloaded: u64,
        size: u64,
        restart: u64,
    ) -> Option<Reply> {
        let (up, down) = self.ratio?;
        let wanted = (downloaded + size.saturating_sub(restart)) / u64::from(down);
        (wanted > uploaded / u64::from(up)).then(|| {
            Reply::empty(550)
                .line(format!(
                    "Sorry, but the upload/download ratio is {up}:{down} ."
                ))
                .line(format!(
                    "You currently uploaded {} Kb and downloaded {} Kb.",
                    uploaded / 1024,
                    downloaded / 1024
                ))
                .line("Please upload some goodies and try leeching later.")
        })
    }
}

/// Paces one transfer at `rate` bytes per second.
#[derive(Debug)]
pub(crate) struct Pacer {
    rate: u64,
    next: Instant,
}

impl Pacer {
    pub(crate) fn new(rate: u64) -> Self {
        Self {
            rate: rate.max(1),
            next: Instant::now(),
        }
    }

    /// Bytes to move in one step.
    pub(crate) fn step(&self) -> usize {
        usize::try_from((self.rate / 10).max(MIN_STEP)).unwrap_or(usize::MAX)
    }

    /// After `bytes` moved: how long to wait before the next step.
    pub(crate) fn after(&mut self, bytes: u64) -> Duration {
        let now = Instant::now();
        let earliest = now.checked_sub(CATCH_UP).unwrap_or(now);
        let spent = Duration::from_secs_f64(bytes as f64 / self.rate as f64);
        self.next = self.next.max(earliest) + spent;
        self.next.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_keeps_the_rate_and_refuses_bursts() {
        let mut pacer = Pacer::new(100_000);
        assert_eq!(pacer.step(), 10_000);
        let first = pacer.after(10_000);
        assert!(first > Duration::from_millis(90) && first <= Duration::from_millis(100));
        // Long behind schedule: no more than the catch-up allowance is forgiven.
        pacer.next = Instant::now() - Duration::from_secs(10);
        let after_stall = pacer.after(10_000);
        assert!(after_stall.is_zero());
        let wait: Duration = (0..3).map(|_| pacer.after(10_000)).sum();
        assert!(wait >= Duration::from_millis(100), "{wait:?}");
    }

    #[test]
    fn ratios_as_pure_ftpd_counts_them() {
        let policies = Policies {
            ratio: Some((1, 2)),
            ..Policies::default()
        };
        assert!(policies.ratio_refusal(50_000, 0, 300_000, 0).is_some());
        assert!(policies.ratio_refusal(50_000, 0, 50_000, 0).is_none());
        assert!(
            policies
                .ratio_refusal(50_000, 60_000, 50_000, 10_000)
                .is_none()
        );
        assert!(Policies::default().ratio_refusal(0, 0, 1, 0).is_none());
    }
}
