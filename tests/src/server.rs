//! A server under test: started on 127.0.0.1 and a free port, stopped (by its PID) when
//! dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A running `pure-ftpd` (ours or Debian's).
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Its stderr, for diagnostics.
    pub log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Server {
    /// Starts `binary` with `args` plus `-S 127.0.0.1,<free port>`, and waits until it
    /// accepts connections.
    ///
    /// # Panics
    /// If it does not start listening within 10 seconds.
    #[must_use]
    pub fn start(binary: &Path, args: &[&str]) -> Self {
        Self::start_with_env(binary, args, &[])
    }

    /// As [`Server::start`], with environment variables.
    ///
    /// # Panics
    /// If it does not start listening within 10 seconds.
    #[must_use]
    pub fn start_with_env(binary: &Path, args: &[&str], env: &[(&str, &Path)]) -> Self {
        Self::start_on("127.0.0.1", binary, args, env)
    }

    /// As [`Server::start_with_env`], listening on `host` (`127.0.0.1` or `::1`).
    ///
    /// # Panics
    /// If it does not start listening within 10 seconds.
    #[must_use]
    pub fn start_on(host: &str, binary: &Path, args: &[&str], env: &[(&str, &Path)]) -> Self {
        for _ in 0..5 {
            let port = crate::free_port();
            let log_dir = tempfile::tempdir().expect("a directory for the server's log");
            let log = log_dir.path().join("stderr");
            let bind = format!("{host},{port}");
            let mut command = Command::new(binary);
            command
                .args(args)
                .args(["-S", &bind])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log file"));
            for (key, value) in env {
                command.env(key, value);
            }
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = Self {
                child,
                port,
                log,
                _log_dir: log_dir,
            };
            if server.wait_listening() {
                return server;
            }
            // Someone took the port in between: try another.
        }
        panic!("{} did not start listening", binary.display());
    }

    fn wait_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if listening(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The server's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote on stderr.
    #[must_use]
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGKILL and waits for the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (at most 10 s) for the exit status.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).ok()?);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Whether a socket listens on `port`, from /proc/net/tcp: connecting to check would
/// start a session, which tests that count sessions would see.
fn listening(port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // local_address is field 1, st (0A = LISTEN) field 3.
                fields.len() > 3 && fields[1].ends_with(&wanted) && fields[3] == "0A"
            })
        })
    }) || (!Path::new("/proc/net/tcp").exists() && TcpStream::connect(("127.0.0.1", port)).is_ok())
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        if self.terminate().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
