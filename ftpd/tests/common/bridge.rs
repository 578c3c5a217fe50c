//! pure-authd / pure-certd under test (ours or Debian's), running a shell script
//! written for the test; stopped by its PID when dropped.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Our pure-authd.
pub fn our_authd() -> PathBuf {
    pureftpd_tests::workspace_binary("pure-authd", "pure-authd")
}

/// Our pure-certd.
pub fn our_certd() -> PathBuf {
    pureftpd_tests::workspace_binary("pure-certd", "pure-certd")
}

pub struct Daemon {
    child: Child,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub pid_file: PathBuf,
    pub script: PathBuf,
    log: PathBuf,
}

/// Whether a Unix socket listens at `path`: its line in /proc/net/unix has the
/// accepting flag (`__SO_ACCEPTCON`, 0x10000). The kernel shows the name a socket was
/// bound to: ours bind to `<path>.<pid>.new` and rename it into place once listening,
/// so that name, with the path present, counts too.
fn listening(path: &Path) -> bool {
    if !path.exists() {
        return false;
    }
    let wanted = path.display().to_string();
    let temporary = format!("{wanted}.");
    std::fs::read_to_string("/proc/net/unix")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Num RefCount Protocol Flags Type St Inode Path
            fields.len() >= 8
                && (fields[7] == wanted
                    || (fields[7].starts_with(&temporary) && fields[7].ends_with(".new")))
                && u32::from_str_radix(fields[3], 16).is_ok_and(|flags| flags & 0x10000 != 0)
        })
}

impl Daemon {
    /// Starts `binary -s <dir>/socket -r <dir>/handler.sh -p <dir>/pid extra...`, the
    /// handler being `#!/bin/sh` and `body`; waits for the socket.
    pub fn start(binary: &Path, body: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = dir.path().join("handler.sh");
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let socket = dir.path().join("socket");
        let pid_file = dir.path().join("pid");
        let log = dir.path().join("stderr");
        let child = Command::new(binary)
            .arg("-s")
            .arg(&socket)
            .arg("-r")
            .arg(&script)
            .arg("-p")
            .arg(&pid_file)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let daemon = Self {
            child,
            dir,
            socket,
            pid_file,
            script,
            log,
        };
        // Listening, not only there: Debian's daemons (and ours before they bound under a
        // temporary name) create the path at bind(), and a connect before their listen()
        // is refused. /proc/net/unix tells without connecting (a probe would be a request).
        let deadline = Instant::now() + Duration::from_secs(10);
        while !listening(&daemon.socket) {
            assert!(
                Instant::now() < deadline,
                "{} made no listening socket",
                binary.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        daemon
    }

    /// What the daemon wrote on stderr.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit status (within 10 s).
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}
