//! A helper process the master keeps running (the metrics endpoint, the port-20
//! helper): started at once, started again when it dies, but not more often than every
//! [`RESTART_INTERVAL`], so that one that cannot start does not make the master spin.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Shortest time between two starts.
pub const RESTART_INTERVAL: Duration = Duration::from_secs(5);

/// Whether the helper runs, and when it was last started.
#[derive(Debug, Default)]
pub struct Supervised {
    running: Option<Pid>,
    started: Option<Instant>,
}

impl Supervised {
    /// Whether it should be started now.
    #[must_use]
    pub fn due(&self) -> bool {
        self.restart_due_in().is_none_or(|d| d.is_zero()) && self.running.is_none()
    }

    /// A start was tried now; `pid` if it worked.
    pub fn started(&mut self, pid: Option<Pid>) {
        self.started = Some(Instant::now());
        self.running = pid;
    }

    /// While it is down after a start: how long until it may start again (`None` when
    /// it runs, or was never started).
    #[must_use]
    pub fn restart_due_in(&self) -> Option<Duration> {
        if self.running.is_some() {
            return None;
        }
        Some(RESTART_INTERVAL.saturating_sub(self.started?.elapsed()))
    }

    /// Whether `pid` was the helper (which has ended).
    pub fn reaped(&mut self, pid: Pid) -> bool {
        if self.running == Some(pid) {
            self.running = None;
            true
        } else {
            false
        }
    }

    /// Ends it (the master is stopping), and waits for it.
    pub fn stop(&mut self) {
        if let Some(pid) = self.running.take() {
            let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
    }
}
