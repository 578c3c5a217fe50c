//! TLS session tickets that every session of one server can open, so that a client
//! reconnecting (a new control connection, a new session process) resumes its TLS
//! session instead of doing a full handshake.
//!
//! Each session is its own process, so a key made in a session would only ever open
//! that session's tickets. The master makes the keys instead (rustls' ticketer: the
//! AEAD, the key names and the key generation are rustls'), every session forked later
//! inherits them, and the master rotates them every [`ROTATION`]: tickets are sealed
//! with the newest key and opened with it or the one before, so a ticket lives one to
//! two rotations. The keys exist only in the memory of the master and its sessions,
//! never on disk; a reload (SIGHUP) keeps them.
//!
//! Pure-FTPd's (OpenSSL) gets the same effect from a ticket key made once at start-up
//! and never rotated. Under inetd there is no master: each connection is its own server
//! and resumes only its own data connections, from the session's cache, as before.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::server::ProducesTickets;

/// How often the master replaces the sealing key.
pub const ROTATION: Duration = Duration::from_secs(60 * 60);

/// rustls' ticketer opens no ticket longer than the longest it has sealed itself (a
/// defence against partitioning oracles); a session process has sealed nothing when a
/// returning client shows the ticket another session gave it. So the master seals one
/// ticket of this size before any session is forked. It covers a ticket with any server
/// name and no client certificate; a longer one (client certificates, `-J -C:`) still
/// resumes the data connections of its own session, and elsewhere costs a full
/// handshake.
const LONGEST_SHARED_TICKET: usize = 2048;

/// The server's ticket keys: the one that seals, and the one before it.
pub struct SharedTickets {
    current: Arc<dyn ProducesTickets>,
    previous: Option<Arc<dyn ProducesTickets>>,
}

impl fmt::Debug for SharedTickets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the keys.
        f.debug_struct("SharedTickets")
            .field("previous", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

impl SharedTickets {
    /// A fresh key.
    ///
    /// # Errors
    /// The system has no randomness to give.
    pub fn new() -> Result<Arc<Self>, rustls::Error> {
        Ok(Arc::new(Self {
            current: fresh_key()?,
            previous: None,
        }))
    }

    /// A fresh key that seals from now on; this one's sealing key still opens.
    ///
    /// # Errors
    /// The system has no randomness to give.
    pub fn rotated(&self) -> Result<Arc<Self>, rustls::Error> {
        Ok(Arc::new(Self {
            current: fresh_key()?,
            previous: Some(Arc::clone(&self.current)),
        }))
    }
}

/// rustls' ticketer, having sealed one ticket of [`LONGEST_SHARED_TICKET`] bytes.
fn fresh_key() -> Result<Arc<dyn ProducesTickets>, rustls::Error> {
    let ticketer = rustls::crypto::ring::Ticketer::new()?;
    ticketer
        .encrypt(&[0; LONGEST_SHARED_TICKET])
        .ok_or(rustls::Error::FailedToGetRandomBytes)?;
    Ok(ticketer)
}

impl ProducesTickets for SharedTickets {
    fn enabled(&self) -> bool {
        true
    }

    /// What clients are told: a ticket sealed just before a rotation still opens for one
    /// more rotation.
    fn lifetime(&self) -> u32 {
        u32::try_from(ROTATION.as_secs()).unwrap_or(u32::MAX)
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.current.encrypt(plain)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.current
            .decrypt(cipher)
            .or_else(|| self.previous.as_ref()?.decrypt(cipher))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_opens_until_two_rotations_later() {
        let first = SharedTickets::new().unwrap();
        let ticket = first.encrypt(b"session state").unwrap();
        assert_eq!(
            first.decrypt(&ticket).as_deref(),
            Some(&b"session state"[..])
        );
        let second = first.rotated().unwrap();
        assert_eq!(
            second.decrypt(&ticket).as_deref(),
            Some(&b"session state"[..])
        );
        let newer = second.encrypt(b"newer").unwrap();
        assert_ne!(newer, ticket);
        let third = second.rotated().unwrap();
        assert_eq!(third.decrypt(&ticket), None);
        assert_eq!(third.decrypt(&newer).as_deref(), Some(&b"newer"[..]));
        // (That a session forked before any ticket was sealed opens another session's
        // tickets takes two processes: ftpd/tests/tls_resumption.rs.)
        // Another server's keys open nothing of this one's.
        assert_eq!(SharedTickets::new().unwrap().decrypt(&newer), None);
        assert!(!format!("{third:?}").contains("key"));
    }
}
