//! SSH clients the master has turned away (`-c`, `-C`, a failed fork), held a moment
//! after their refusal. An SSH client writes as soon as it has read the server's
//! version line (its key exchange offer), before it reads the disconnect that follows
//! it: were the socket closed at once, that write would meet a reset and the client
//! would report a broken pipe, not the reason. Half-closed and held, the socket takes
//! the client's bytes; the client reads the reason and hangs up itself.
//!
//! Bounded: at most [`MOST`] sockets, each for at most [`HOLD`] (the oldest goes first
//! when a flood of refusals fills the list). FTP clients read the `421` before they
//! write, and are not held.

use std::collections::VecDeque;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// How long a refused connection is held.
pub(super) const HOLD: Duration = Duration::from_secs(2);
/// Most refused connections held at once.
pub(super) const MOST: usize = 128;

/// The held connections, oldest first.
#[derive(Default)]
pub(super) struct TurnedAway {
    held: VecDeque<(TcpStream, Instant)>,
}

impl TurnedAway {
    /// Holds `stream`, whose refusal has been written.
    pub(super) fn hold(&mut self, stream: TcpStream) {
        let _ = stream.shutdown(Shutdown::Write);
        if self.held.len() >= MOST {
            self.held.pop_front();
        }
        self.held.push_back((stream, Instant::now() + HOLD));
    }

    /// Closes those held long enough.
    pub(super) fn release_due(&mut self) {
        let now = Instant::now();
        while self.held.front().is_some_and(|(_, due)| *due <= now) {
            self.held.pop_front();
        }
    }

    /// When the next one is due, if any is held.
    pub(super) fn next_due_in(&self) -> Option<Duration> {
        self.held
            .front()
            .map(|(_, due)| due.saturating_duration_since(Instant::now()))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn held_sockets_are_bounded_half_closed_and_released() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        let mut turned_away = TurnedAway::default();
        for _ in 0..MOST + 5 {
            clients.push(TcpStream::connect(address).unwrap());
            turned_away.hold(listener.accept().unwrap().0);
        }
        assert_eq!(turned_away.len(), MOST);
        // The oldest were closed; the newest are half-closed: the client reads the end.
        let mut byte = [0u8; 1];
        clients[0]
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(clients[0].read(&mut byte).unwrap(), 0);
        let last = clients.last_mut().unwrap();
        last.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(last.read(&mut byte).unwrap(), 0);
        assert!(turned_away.next_due_in().is_some_and(|d| d <= HOLD));
        turned_away.release_due();
        assert_eq!(turned_away.len(), MOST);
        std::thread::sleep(HOLD);
        turned_away.release_due();
        assert_eq!(turned_away.len(), 0);
        assert_eq!(turned_away.next_due_in(), None);
    }
}
