//! Listening on `/dev/log` as a syslog daemon would, to read what servers log.
//!
//! Only one capture can exist at a time on the machine; tests of one binary that use it
//! take turns on a lock. Without root, or when a real syslog daemon owns `/dev/log`,
//! [`Syslog::listen`] says why and returns `None`. Servers started before the capture
//! could not connect and log nothing here.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const SOCKET: &str = "/dev/log";

pub struct Syslog {
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    /// Milliseconds the reader still sleeps before it reads again (a slow daemon).
    pause: Arc<AtomicU64>,
    reader: Option<JoinHandle<()>>,
    _turn: MutexGuard<'static, ()>,
}

impl Syslog {
    pub fn listen() -> Option<Self> {
        if !super::require_root("binding /dev/log") {
            return None;
        }
        let turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if Path::new(SOCKET).exists() {
            eprintln!(
                "SKIP: a syslog daemon owns /dev/log; this test needs to listen there itself"
            );
            return None;
        }
        let socket = UnixDatagram::bind(SOCKET).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let pause = Arc::new(AtomicU64::new(0));
        // Drains all the time: other tests' servers log here too, and a full queue drops
        // lines (servers never wait for syslog).
        let reader = {
            let (lines, stop, pause) = (Arc::clone(&lines), Arc::clone(&stop), Arc::clone(&pause));
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while !stop.load(Ordering::Relaxed) {
                    let sleep = pause.swap(0, Ordering::Relaxed);
                    if sleep > 0 {
                        std::thread::sleep(Duration::from_millis(sleep));
                    }
                    if let Ok(n) = socket.recv(&mut buf) {
                        let line = String::from_utf8_lossy(&buf[..n]).to_string();
                        lines.lock().unwrap().push(line);
                    }
                }
            })
        };
        Some(Self {
            lines,
            stop,
            pause,
            reader: Some(reader),
            _turn: turn,
        })
    }

    /// Waits until the lines so far satisfy `done` (at most 30 s); returns them.
    pub fn until(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines = self.lines.lock().unwrap().clone();
            if Instant::now() > deadline || done(&lines) {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Reads nothing for `how_long` from now on (after the line being read, if any), as a
    /// busy syslog daemon: its queue fills up.
    pub fn pause(&self, how_long: Duration) {
        self.pause
            .store(how_long.as_millis() as u64, Ordering::Relaxed);
    }

    /// Forgets the lines read so far.
    pub fn clear(&self) {
        self.lines.lock().unwrap().clear();
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let _ = std::fs::remove_file(SOCKET);
    }
}
