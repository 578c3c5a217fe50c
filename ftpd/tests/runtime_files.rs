//! The server's runtime files (scoreboard records, the upload pipe's lock) in places
//! another local user could reach first: a FIFO, a link or another user's directory
//! planted there must not hang a login or be trusted, and the defaults for a server
//! not started as root never name a shared directory such as `/tmp`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Ftp, PASSWORD, Site, USER, require_root};

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

/// A FIFO and links planted among the records: logins under `-y` (which read every
/// record) go on at once, and pure-ftpwho lists the real session only.
#[test]
fn planted_records_are_skipped_not_opened() {
    let site = Site::new();
    let server = site.ours(&["-y", "3:3"]);
    let board = site.scoreboard();
    // The master made the directory; plant things in it as if another user could.
    let started = Instant::now();
    while !board.is_dir() {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    mkfifo(&board.join("session-999999"));
    std::os::unix::fs::symlink("/etc/passwd", board.join("session-1")).unwrap();
    std::os::unix::fs::symlink(board.join("session-999999"), board.join("session-2")).unwrap();
    let started = Instant::now();
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert!(started.elapsed() < Duration::from_secs(5), "the login hung");
    assert_eq!(ftp.cmd("NOOP").code, 200);
    let ftpwho = pureftpd_tests::workspace_binary("pure-ftpwho", "pure-ftpwho");
    let out = Command::new(&ftpwho)
        .arg("-s")
        .env("PURE_FTPD_SCOREBOARD", &board)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(USER), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("session-999999"), "{stderr}");
}

/// A scoreboard directory that others may write to is not used: pure-ftpwho refuses
/// it, and logins under `-y` do not read it (they still work).
#[test]
fn a_directory_others_can_write_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    let board = site.scoreboard();
    std::fs::create_dir(&board).unwrap();
    std::fs::set_permissions(&board, std::fs::Permissions::from_mode(0o777)).unwrap();
    mkfifo(&board.join("session-999999"));
    // The master fixes the mode of a directory of its own; make it someone else's.
    if common::is_root() {
        nix::unistd::chown(&board, Some(nix::unistd::Uid::from_raw(4343)), None).unwrap();
    }
    let server = site.ours(&["-y", "1:1"]);
    let started = Instant::now();
    let mut first = Ftp::login(server.port, USER, PASSWORD);
    assert!(started.elapsed() < Duration::from_secs(5), "the login hung");
    assert_eq!(first.cmd("NOOP").code, 200);
    if common::is_root() {
        let ftpwho = pureftpd_tests::workspace_binary("pure-ftpwho", "pure-ftpwho");
        let out = Command::new(&ftpwho)
            .env("PURE_FTPD_SCOREBOARD", &board)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not a private directory"), "{stderr}");
    }
}

/// Not started as root, and without XDG_RUNTIME_DIR: the scoreboard and the upload
/// pipe live under the user's home, not in /tmp.
#[test]
fn unprivileged_defaults_are_private() {
    if !require_root("running the tools as another user") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    nix::unistd::chown(home.path(), Some(nix::unistd::Uid::from_raw(4343)), None).unwrap();
    let run = |program: &Path, args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=4343", "--regid=4343", "--clear-groups"])
            .arg(program)
            .args(args)
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap()
    };
    let ftpwho = pureftpd_tests::workspace_binary("pure-ftpwho", "pure-ftpwho");
    let out = run(&ftpwho, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = home.path().join(".local/state/pure-ftpd");
    assert!(
        stderr.contains(&format!("[{}/]", expected.display())),
        "{stderr}"
    );
    // The server makes its upload pipe there too (-o), and serves.
    let port = pureftpd_tests::free_port().to_string();
    let bind = format!("127.0.0.1,{port}");
    let mut server = Command::new("setpriv")
        .args(["--reuid=4343", "--regid=4343", "--clear-groups"])
        .arg(common::OURS)
        .args(["-S", &bind, "-o", "-E", "-4"])
        .env_clear()
        .env("HOME", home.path())
        .spawn()
        .unwrap();
    let pipe = home.path().join(".local/state/pure-ftpd.upload.pipe");
    let started = Instant::now();
    while !pipe.exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = server.wait();
    assert!(pipe.exists(), "no upload pipe under the home");
}

/// A FIFO planted where the upload pipe's lock file goes: the server refuses to start,
/// at once, naming the file (it used to hang opening it).
#[test]
fn a_fifo_as_the_upload_lock_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("up.pipe");
    mkfifo(&dir.path().join("up.lock"));
    let started = Instant::now();
    let out = Command::new("timeout")
        .arg("20")
        .arg(common::OURS)
        .args(["-S", "127.0.0.1,0", "-o", "-E", "-4"])
        .env("PURE_FTPD_UPLOAD_PIPE", &pipe)
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the start hung"
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("up.lock"), "{stderr}");
}
