//! A server under test: started on 127.0.0.1 and a free port, stopped (by its PID) when
//! dropped.
//!
//! Neither leaves anything in the machine's scoreboard, `/var/run/pure-ftpd`: ours is
//! given one of its own (`PURE_FTPD_SCOREBOARD`, unless the test gives one), and of
//! Debian's, which always writes there and kills its sessions when it is stopped (a
//! killed session leaves its `client-<pid>` record), the records of its sessions are
//! removed once they are gone. (They piled up on the machine, a hundred a test run.)

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
    /// Its sessions when it was stopped, whose records in Debian's scoreboard are
    /// removed when it is dropped (they may outlive it: see the module's header).
    sessions_at_stop: Vec<Session>,
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
            if std::env::var_os(BOARD_VARIABLE).is_none()
                && !env.iter().any(|(key, _)| *key == BOARD_VARIABLE)
            {
                command.env(BOARD_VARIABLE, log_dir.path().join("scoreboard"));
            }
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
                sessions_at_stop: Vec::new(),
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
            if listening(self.child.id(), self.port) {
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
        self.note_sessions();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (at most 10 s) for the exit status.
    pub fn terminate(&mut self) -> Option<i32> {
        self.note_sessions();
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

/// Whether process `pid` listens on `port`: a listening socket in /proc/net/tcp (or
/// tcp6) whose inode is one of the process's descriptors. Someone else's listener on
/// the port does not count: that is another test's server, and the test would talk to
/// it. (Connecting to check would start a session, which tests that count sessions
/// would see.)
fn listening(pid: u32, port: u16) -> bool {
    if !Path::new("/proc/net/tcp").exists() {
        return TcpStream::connect(("127.0.0.1", port)).is_ok();
    }
    let wanted = format!(":{port:04X}");
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    // local_address is field 1, st (0A = LISTEN) field 3, inode field 9.
                    (fields.len() > 9 && fields[1].ends_with(&wanted) && fields[3] == "0A")
                        .then(|| format!("socket:[{}]", fields[9]))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    !inodes.is_empty()
        && std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
            })
        })
}

/// Where our server keeps its scoreboard.
const BOARD_VARIABLE: &str = "PURE_FTPD_SCOREBOARD";

/// The scoreboard Debian's server writes, whatever it is told.
const DEBIANS_BOARD: &str = "/var/run/pure-ftpd";

impl Server {
    /// Keeps the pids of its sessions, before it is stopped (then they are no longer
    /// its children).
    fn note_sessions(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.sessions_at_stop.extend(sessions_of(self.child.id()));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) && self.terminate().is_none() {
            self.kill();
        }
        remove_debians_records(&self.sessions_at_stop);
    }
}

/// A session process as it was when noted: its pid and its start time (in clock ticks
/// since boot), so that a pid the system has given another process since is never
/// taken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pid: u32,
    started: u64,
}

impl Session {
    fn started(pid: u32) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // After the comm's ')': state is the first field, starttime the 20th.
        stat.rsplit(')')
            .next()?
            .split_whitespace()
            .nth(19)?
            .parse()
            .ok()
    }

    /// Whether it still runs: the same process, not a zombie.
    fn runs(self) -> bool {
        !crate::procfs::has_exited(self.pid) && Self::started(self.pid) == Some(self.started)
    }

    fn ended_within(self, time: Duration) -> bool {
        let deadline = Instant::now() + time;
        while self.runs() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

/// The sessions (children) of the server process `pid`, noted before it is stopped.
#[must_use]
pub fn sessions_of(pid: u32) -> Vec<Session> {
    crate::procfs::children_of(pid)
        .into_iter()
        .filter_map(|pid| {
            Some(Session {
                pid,
                started: Session::started(pid)?,
            })
        })
        .collect()
}

/// Removes the records Debian's server left for `sessions` (its sessions when it was
/// stopped) in its scoreboard. Its sessions outlive its master, and one whose client
/// is still connected when the test ends would leave its record later, when it ends:
/// one still running after a second is killed (the same process only, by its start
/// time). For a test that starts a server without [`Server`].
pub fn remove_debians_records(sessions: &[Session]) {
    for &session in sessions {
        let record = Path::new(DEBIANS_BOARD).join(format!("client-{:08}", session.pid));
        if !record.exists() {
            continue;
        }
        if !session.ended_within(Duration::from_secs(1)) {
            if let Ok(pid) = i32::try_from(session.pid) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            if !session.ended_within(Duration::from_secs(5)) {
                continue;
            }
        }
        let _ = std::fs::remove_file(&record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noted_session_is_that_process_and_no_other() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let noted = sessions_of(std::process::id())
            .into_iter()
            .find(|session| session.pid == child.id())
            .expect("the child is noted");
        assert!(noted.runs());
        let other = Session {
            pid: noted.pid,
            started: noted.started + 1,
        };
        assert!(!other.runs(), "another start time is another process");
        let _ = child.kill();
        let _ = child.wait();
        assert!(noted.ended_within(Duration::from_secs(1)));
    }

    #[test]
    fn a_listener_counts_only_for_the_process_that_holds_it() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(listening(std::process::id(), port));
        let mut other = Command::new("sleep").arg("30").spawn().unwrap();
        let seen_by_other = listening(other.id(), port);
        let _ = other.kill();
        let _ = other.wait();
        assert!(
            !seen_by_other,
            "another process's listener was taken for its own"
        );
        drop(listener);
        assert!(!listening(std::process::id(), port));
    }

    #[test]
    fn free_ports_are_never_handed_out_twice_and_stay_below_the_ephemeral_range() {
        let ephemeral_start: u16 =
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
                .ok()
                .and_then(|range| range.split_whitespace().next()?.parse().ok())
                .unwrap_or(32768);
        let ports: Vec<u16> = (0..2000).map(|_| crate::free_port()).collect();
        let distinct: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len());
        assert!(ports.iter().all(|&p| p < ephemeral_start), "{ports:?}");
    }
}
