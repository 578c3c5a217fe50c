//! The process and privilege model, and the limits: what the master and the sessions
//! do, seen from outside.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Ftp, PASSWORD, Site, USER};

/// The scoreboard records present, as (pid, text).
fn records(dir: &Path) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let pid = name.strip_prefix("session-")?.parse().ok()?;
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).ok()?)
                .trim_end_matches('\0')
                .to_string();
            Some((pid, text))
        })
        .collect()
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn wait_for(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The logged-in session of `account` from the scoreboard.
fn session_pid(site: &Site, account: &str) -> u32 {
    let mut pid = 0;
    assert!(
        wait_for(|| {
            pid = records(&site.scoreboard())
                .into_iter()
                .find(|(_, text)| text.lines().any(|l| l == format!("account={account}")))
                .map_or(0, |(pid, _)| pid);
            pid != 0
        }),
        "no scoreboard record for {account}"
    );
    pid
}

#[test]
fn sessions_run_as_the_account_inside_their_chroot() {
    if !common::require_root("checking chroot and setuid") {
        return;
    }
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("NOOP");
    let pid = session_pid(&site, USER);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().skip(1).collect::<Vec<_>>(),
        vec!["4242"; 4],
        "real, effective, saved, fs"
    );
    let gid_line = status.lines().find(|l| l.starts_with("Gid:")).unwrap();
    assert_eq!(
        gid_line.split_whitespace().skip(1).collect::<Vec<_>>(),
        vec!["4242"; 4]
    );
    let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
    assert_eq!(
        groups.split_whitespace().skip(1).collect::<Vec<_>>(),
        vec!["4242"]
    );
    let root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(
        root,
        site.home.canonicalize().unwrap(),
        "the session is chrooted to the home"
    );
}

#[test]
fn chroot_rules_a_no_chroot_home_and_minimum_uid() {
    if !common::require_root("chroot rules") {
        return;
    }
    let site = Site::with_home_suffix("");
    let open = site.ours(&[]);
    let mut ftp = Ftp::connect(open.port).0;
    ftp.cmd(&format!("USER {USER}"));
    let reply = ftp.cmd(&format!("PASS {PASSWORD}"));
    assert_eq!(
        reply.text(),
        format!("230 OK. Current directory is {}", site.home.display())
    );
    let everyone = site.ours(&["-A"]);
    let mut ftp = Ftp::connect(everyone.port).0;
    ftp.cmd(&format!("USER {USER}"));
    assert_eq!(
        ftp.cmd(&format!("PASS {PASSWORD}")).text(),
        "230 OK. Current restricted directory is /"
    );
    let trusted = site.ours(&["-a", "4242"]);
    let mut ftp = Ftp::connect(trusted.port).0;
    ftp.cmd(&format!("USER {USER}"));
    assert!(
        ftp.cmd(&format!("PASS {PASSWORD}"))
            .text()
            .starts_with("230 OK. Current directory is /")
    );
    let strict = site.ours(&["-u", "5000"]);
    let mut ftp = Ftp::connect(strict.port).0;
    ftp.cmd(&format!("USER {USER}"));
    assert_eq!(
        ftp.cmd(&format!("PASS {PASSWORD}")).text(),
        "530 Sorry, but I can't trust you"
    );
}

#[test]
fn a_missing_home_is_refused_or_created_with_j() {
    let site = Site::new();
    std::fs::rename(&site.home, site.dir.path().join("moved")).unwrap();
    let server = site.ours(&[]);
    let mut ftp = Ftp::connect(server.port).0;
    ftp.cmd(&format!("USER {USER}"));
    assert_eq!(
        ftp.cmd(&format!("PASS {PASSWORD}")).text(),
        "421 Home directory not available - aborting"
    );
    assert!(ftp.closed());
    let creating = site.ours(&["-j"]);
    let mut ftp = Ftp::login(creating.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("PWD").code, 257);
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(&site.home).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.uid(), site.uid);
    // 0777 less the default directory umask (022).
    assert_eq!(meta.mode() & 0o7777, 0o755);
    drop(ftp);

    // A link planted where the home should be is not followed: nothing is created or
    // handed to the account at its target, and the login is refused.
    std::fs::remove_dir(&site.home).unwrap();
    let target = site.dir.path().join("planted-target");
    std::os::unix::fs::symlink(&target, &site.home).unwrap();
    let mut ftp = Ftp::connect(creating.port).0;
    ftp.cmd(&format!("USER {USER}"));
    assert_eq!(ftp.cmd(&format!("PASS {PASSWORD}")).code, 421);
    assert!(!target.exists());
}

#[test]
fn wrong_passwords_are_refused_after_a_delay() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::connect(server.port).0;
    ftp.cmd(&format!("USER {USER}"));
    let started = Instant::now();
    assert_eq!(
        ftp.cmd("PASS wrong").text(),
        "530 Login authentication failed"
    );
    // Pure-FTPd's delay: 3 s per failure plus up to 3 s (not a timing assertion on us:
    // a floor that proves the delay exists).
    assert!(started.elapsed() >= Duration::from_secs(3));
    // A login that does not exist waits as long: the second failure, 6 s at least.
    ftp.cmd("USER nosuchuser");
    let started = Instant::now();
    assert_eq!(ftp.cmd("PASS x").text(), "530 Login authentication failed");
    assert!(started.elapsed() >= Duration::from_secs(6));
    ftp.cmd(&format!("USER {USER}"));
    assert_eq!(
        ftp.cmd(&format!("PASS {PASSWORD}")).code,
        230,
        "the session goes on"
    );
}

/// The scoreboard's files by name, with their inode numbers.
fn board_files(dir: &Path) -> Vec<(String, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir).map_or_else(
        |_| Vec::new(),
        |entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let ino = e.metadata().ok()?.ino();
                    Some((e.file_name().to_string_lossy().into_owned(), ino))
                })
                .collect()
        },
    )
}

/// Sessions one after another reuse the ended ones' scoreboard files (no file made and
/// removed per session, which costs an inode on a scoreboard on disk): each live
/// record is right, never the previous session's, at most as many files as sessions
/// ran at once are left between sessions, and the master removes them when it stops.
#[test]
fn scoreboard_files_are_reused_by_the_next_sessions_and_removed_at_stop() {
    let site = Site::new();
    site.write_accounts("/./", &[("bob", "bobpw")]);
    let mut server = site.ours(&[]);
    let board = site.scoreboard();
    assert!(wait_for(|| records(&board).is_empty()));
    let mut inodes = std::collections::BTreeSet::new();
    for i in 0..30 {
        let (user, password) = if i % 2 == 0 {
            (USER, PASSWORD)
        } else {
            ("bob", "bobpw")
        };
        let mut ftp = Ftp::login(server.port, user, password);
        let live = records(&board);
        assert_eq!(live.len(), 1, "session {i}: {live:?}");
        assert!(
            live[0].1.contains(&format!("\naccount={user}\n")),
            "session {i} as {user}: {}",
            live[0].1
        );
        assert!(
            pid_alive(live[0].0),
            "session {i}: the record of a live process"
        );
        let name = format!("session-{}", live[0].0);
        inodes.extend(
            board_files(&board)
                .into_iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, ino)| ino),
        );
        assert_eq!(ftp.cmd("QUIT").code, 221);
        assert!(wait_for(|| records(&board).is_empty()), "session {i} ended");
    }
    // The fixture's probe connection and the sessions never overlapped more than two.
    assert!(
        inodes.len() <= 2,
        "one file per session: {} inodes",
        inodes.len()
    );
    // A record still open for writing when its session ends (a process the session
    // left behind) is never given to the next session.
    {
        use std::os::unix::fs::MetadataExt;
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        let live = records(&board);
        let held = std::fs::OpenOptions::new()
            .write(true)
            .open(board.join(format!("session-{}", live[0].0)))
            .unwrap();
        assert_eq!(ftp.cmd("QUIT").code, 221);
        assert!(wait_for(|| records(&board).is_empty()));
        let mut next = Ftp::login(server.port, "bob", "bobpw");
        let live = records(&board);
        let inode = std::fs::metadata(board.join(format!("session-{}", live[0].0)))
            .unwrap()
            .ino();
        assert_ne!(
            inode,
            held.metadata().unwrap().ino(),
            "the held file is not reused"
        );
        assert_eq!(held.metadata().unwrap().nlink(), 0, "it was removed");
        assert_eq!(next.cmd("QUIT").code, 221);
        assert!(wait_for(|| records(&board).is_empty()));
    }
    let files = board_files(&board);
    assert!(
        !files.is_empty() && files.len() <= 2 && files.iter().all(|(n, _)| n.starts_with("spare-")),
        "between sessions only spares are left: {files:?}"
    );
    // Then something reads every file of the directory, spares too, over and over
    // (an admin's `cat`, a backup) while sessions come and go: the master's brief lease
    // on a spare must not suffer (a file held open at that instant is only not reused).
    let reading = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reader = {
        let (reading, board) = (reading.clone(), board.clone());
        std::thread::spawn(move || {
            while reading.load(std::sync::atomic::Ordering::Relaxed) {
                for (name, _) in board_files(&board) {
                    let _ = std::fs::read(board.join(name));
                }
            }
        })
    };
    for i in 0..30 {
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        assert_eq!(ftp.cmd("QUIT").code, 221, "session {i} beside a reader");
    }
    reading.store(false, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
    // The signal an open during the lease sends (the window is too brief to hit on
    // purpose): the master takes it and goes on.
    let master = nix::unistd::Pid::from_raw(i32::try_from(server.pid()).unwrap());
    nix::sys::signal::kill(master, nix::sys::signal::Signal::SIGIO).unwrap();
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("QUIT").code, 221, "served after a SIGIO");
    assert!(wait_for(|| records(&board).is_empty()));
    assert_eq!(server.terminate(), Some(0));
    assert_eq!(
        board_files(&board),
        [],
        "the master removes its spares when it stops"
    );
}

/// Sessions ending and starting at the same moment, wave after wave: while the master
/// turns ended records into spares, new sessions take spares and write their records.
/// After every wave the live records are exactly the live sessions (their number, their
/// accounts, distinct live pids), and no session's record is another's.
#[test]
fn scoreboard_records_stay_right_while_sessions_end_and_start_together() {
    const PER_WAVE: usize = 12;
    let site = Site::new();
    site.write_accounts("/./", &[("bob", "bobpw")]);
    let server = site.ours(&["-c", "100", "-C", "100"]);
    let board = site.scoreboard();
    assert!(wait_for(|| records(&board).is_empty()));
    let login = move |i: usize| {
        let (user, password) = if i.is_multiple_of(2) {
            (USER, PASSWORD)
        } else {
            ("bob", "bobpw")
        };
        Ftp::login(server.port, user, password)
    };
    let mut live: Vec<Ftp> = Vec::new();
    for wave in 0..6 {
        let starting: Vec<_> = (0..PER_WAVE)
            .map(|i| std::thread::spawn(move || login(i)))
            .collect();
        // The previous wave leaves meanwhile: half with QUIT, half by closing.
        let ending: Vec<_> = live
            .drain(..)
            .enumerate()
            .map(|(i, mut ftp)| {
                std::thread::spawn(move || {
                    if i % 2 == 0 {
                        assert_eq!(ftp.cmd("QUIT").code, 221);
                    }
                })
            })
            .collect();
        for thread in ending {
            thread.join().unwrap();
        }
        live = starting.into_iter().map(|t| t.join().unwrap()).collect();
        for ftp in &mut live {
            assert_eq!(ftp.cmd("NOOP").code, 200, "wave {wave}");
        }
        assert!(
            wait_for(|| records(&board).len() == PER_WAVE),
            "wave {wave}: {} records for {PER_WAVE} sessions",
            records(&board).len()
        );
        let now = records(&board);
        let accounts = |user: &str| {
            now.iter()
                .filter(|(_, text)| text.contains(&format!("\naccount={user}\n")))
                .count()
        };
        assert_eq!(
            (accounts(USER), accounts("bob")),
            (PER_WAVE / 2, PER_WAVE / 2),
            "wave {wave}: {now:?}"
        );
        for (pid, text) in &now {
            assert!(
                text.contains(&format!("\npid={pid}\n")),
                "wave {wave}: session-{pid} holds another session's record: {text}"
            );
        }
        let pids: std::collections::BTreeSet<u32> = now.iter().map(|(pid, _)| *pid).collect();
        assert_eq!(pids.len(), PER_WAVE, "wave {wave}: distinct pids");
        assert!(
            pids.iter().all(|&pid| pid_alive(pid)),
            "wave {wave}: {pids:?}"
        );
    }
    drop(live);
    assert!(wait_for(|| records(&board).is_empty()));
    let files = board_files(&board);
    assert!(
        files.len() <= 2 * PER_WAVE + 1 && files.iter().all(|(n, _)| n.starts_with("spare-")),
        "only spares, no more than sessions ran at once: {files:?}"
    );
}

#[test]
fn client_limits() {
    let site = Site::new();
    site.write_accounts("/./", &[("bob", "bobpw")]);
    let server = site.ours(&["-c", "3", "-C", "2", "-y", "1:0"]);
    // The fixture's own probe connection must be gone before counting.
    assert!(wait_for(|| records(&site.scoreboard()).is_empty()));
    let first = Ftp::login(server.port, USER, PASSWORD);
    // -y 1: a second session of alice is refused at PASS.
    let mut second = Ftp::connect(server.port).0;
    second.cmd(&format!("USER {USER}"));
    assert_eq!(
        second.cmd(&format!("PASS {PASSWORD}")).text(),
        "421 I can't accept more than 1 connections as the same user"
    );
    assert!(second.closed());
    // Until the master reaps it, the refused session still counts.
    assert!(wait_for(|| records(&site.scoreboard()).len() == 1));
    // -C 2: two sessions from 127.0.0.1 at most.
    let bob = Ftp::login(server.port, "bob", "bobpw");
    assert!(wait_for(|| records(&site.scoreboard()).len() == 2));
    let (mut third, greeting) = Ftp::connect(server.port);
    assert_eq!(greeting.text(), "421 Too many connections (2) from this IP");
    assert!(third.closed());
    drop((first, bob));
    assert!(
        wait_for(|| records(&site.scoreboard()).is_empty()),
        "scoreboard records of ended sessions are removed"
    );
    let again = Ftp::login(server.port, USER, PASSWORD);
    drop(again);
    let strict = site.ours(&["-c", "1"]);
    // The fixture's own probe connection must be gone before counting.
    assert!(wait_for(|| records(&site.scoreboard()).is_empty()));
    let only = Ftp::login(strict.port, USER, PASSWORD);
    let (_, greeting) = Ftp::connect(strict.port);
    assert_eq!(
        greeting.text(),
        "421 1 users (the maximum) are already logged in, sorry"
    );
    drop(only);
}

#[test]
fn the_scoreboard_follows_the_session() {
    let site = Site::new();
    site.put("big.bin", &vec![0u8; 32 << 20]);
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let pid = session_pid(&site, USER);
    let record = || {
        records(&site.scoreboard())
            .into_iter()
            .find(|(p, _)| *p == pid)
            .map(|(_, t)| t)
            .unwrap_or_default()
    };
    let text = record();
    assert!(text.starts_with("pureftpd-rs-scoreboard 1\n"), "{text}");
    for line in [
        "state=IDLE",
        "peer=127.0.0.1",
        &format!("local_port={}", server.port),
        "encrypted=0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    let data = std::net::TcpStream::connect(address).unwrap();
    ftp.send(b"RETR big.bin");
    assert_eq!(ftp.reply().code, 150);
    assert!(wait_for(|| record().lines().any(|l| l == "state=DOWNLOAD")));
    let during = record();
    assert!(
        during.lines().any(|l| l == "file=big.bin") && during.lines().any(|l| l == "size=33554432"),
        "{during}"
    );
    drop(data);
    let _ = ftp.reply();
    assert!(wait_for(|| record().lines().any(|l| l == "state=IDLE")));
    ftp.cmd("QUIT");
    assert!(wait_for(|| records(&site.scoreboard())
        .iter()
        .all(|(p, _)| *p != pid)));
}

#[test]
fn a_pid_file_is_never_written_through_a_link_and_a_missing_directory_is_reported() {
    let site = Site::new();
    // A link planted where the pid file goes: replaced, its target untouched.
    let target = site.dir.path().join("precious");
    std::fs::write(&target, b"keep me\n").unwrap();
    let pid_file = site.dir.path().join("planted.pid");
    std::os::unix::fs::symlink(&target, &pid_file).unwrap();
    let server = site.ours(&["-g", pid_file.to_str().unwrap()]);
    assert!(wait_for(
        || std::fs::symlink_metadata(&pid_file).is_ok_and(|m| m.file_type().is_file())
    ));
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        server.pid().to_string()
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me\n");
    drop(server);

    // A directory that does not exist: the server serves, and says why there is no
    // pid file (Pure-FTPd says nothing).
    let nowhere = site.dir.path().join("no/such/dir/pure-ftpd.pid");
    let server = site.ours(&["-g", nowhere.to_str().unwrap()]);
    assert!(Ftp::login(server.port, USER, PASSWORD).cmd("PWD").code == 257);
    assert!(
        server.stderr().contains(&format!(
            "pure-ftpd: -g: cannot write the pid file {}",
            nowhere.display()
        )),
        "{}",
        server.stderr()
    );
}

#[test]
fn sigterm_stops_the_master_and_sessions_finish() {
    let site = Site::new();
    let pid_file = site.dir.path().join("pure-ftpd.pid");
    let mut server = site.ours(&["-g", pid_file.to_str().unwrap()]);
    assert!(wait_for(|| pid_file.exists()));
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        server.pid().to_string()
    );
    // Pure-FTPd's mode, whatever the umask: no one else may choose what gets killed.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&pid_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o644);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let session = session_pid(&site, USER);
    assert_eq!(server.terminate(), Some(0));
    assert!(!pid_file.exists(), "the pid file is removed");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "no longer listening"
    );
    // The session goes on, and still shows in the scoreboard.
    assert_eq!(ftp.cmd("TYPE I").code, 200);
    let (_, data, done) = ftp.download("RETR a.txt");
    assert_eq!(data, b"hello\nworld\n");
    assert_eq!(done.unwrap().code, 226);
    assert!(
        records(&site.scoreboard())
            .iter()
            .any(|(p, _)| *p == session)
    );
    assert_eq!(ftp.cmd("QUIT").code, 221);
    // A new master on the same directory removes the record the session left.
    assert!(wait_for(|| !pureftpd_scoreboard::alive(session)));
    let _again = site.ours(&[]);
    assert!(wait_for(|| records(&site.scoreboard()).is_empty()));
}

#[test]
fn stopsessions_ends_the_sessions_with_a_421() {
    let site = Site::new();
    let mut server = site.ours(&["--stopsessions"]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("NOOP").code, 200);
    assert_eq!(server.terminate(), Some(0));
    assert_eq!(
        ftp.reply().text(),
        "421 The server is shutting down - please reconnect later"
    );
    assert!(ftp.closed(), "sessions end with the server");
    assert!(records(&site.scoreboard()).is_empty());
}

/// The master killed with a download and an upload in flight (40 MB each, throttled
/// to 8 MB/s, so both are still running): with Debian's and with ours, both transfers
/// complete, whole, and the master is gone.
#[test]
fn transfers_in_flight_survive_sigterm_as_with_debian() {
    // Ours with SIGTERM and with SIGKILL (sessions are processes of their own, so a
    // master that dies without a word cuts nothing either), Debian's with SIGTERM.
    let mut runs = vec![
        (std::path::PathBuf::from(common::OURS), true),
        (std::path::PathBuf::from(common::OURS), false),
    ];
    runs.extend(common::oracle("pure-ftpd").map(|debian| (debian, true)));
    for (binary, gently) in runs {
        let site = Site::new();
        let blob: Vec<u8> = (0..40u32 << 20).map(|i| (i % 251) as u8).collect();
        site.put("big.bin", &blob);
        let mut server = site.start(&binary, &["-T", "8192"]);
        let script = format!(
            r#"
import ftplib, hashlib, io, threading, time, sys
blob = bytes(i % 251 for i in range(40 << 20))
results = {{}}
def down():
    f = ftplib.FTP(); f.connect("127.0.0.1", {port}, timeout=60); f.login("{USER}", "{PASSWORD}")
    h = hashlib.sha256(); n = [0]
    def got(b): h.update(b); n[0] += len(b)
    results["down"] = (f.retrbinary("RETR big.bin", got), n[0], h.hexdigest())
def up():
    f = ftplib.FTP(); f.connect("127.0.0.1", {port}, timeout=60); f.login("{USER}", "{PASSWORD}")
    results["up"] = f.storbinary("STOR up.bin", io.BytesIO(blob))
threads = [threading.Thread(target=down), threading.Thread(target=up)]
[t.start() for t in threads]
time.sleep(1.5)
print("signal", flush=True)
sys.stdin.readline()
[t.join() for t in threads]
print(results["down"][0].splitlines()[-2] if "\n" in results["down"][0] else results["down"][0])
print(results["down"][1], results["down"][2] == hashlib.sha256(blob).hexdigest())
print(results["up"].splitlines()[0])
"#,
            port = server.port
        );
        let mut child = std::process::Command::new("timeout")
            .args(["120", "python3", "-c", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert_eq!(line, "signal\n");
        if gently {
            assert_eq!(server.terminate(), Some(0), "{}", binary.display());
        } else {
            server.kill();
        }
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"go\n").unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        assert!(
            child.wait().unwrap().success(),
            "{}: {rest}",
            binary.display()
        );
        let lines: Vec<&str> = rest.lines().collect();
        assert!(lines[0].starts_with("226"), "{}: {rest}", binary.display());
        assert_eq!(
            lines[1],
            format!("{} True", 40u32 << 20),
            "{}",
            binary.display()
        );
        assert!(lines[2].starts_with("226"), "{}: {rest}", binary.display());
        assert_eq!(site.read("up.bin").len(), 40 << 20, "{}", binary.display());
        assert!(site.read("up.bin") == blob, "{}", binary.display());
    }
}

#[test]
fn configuration_errors_exit_252() {
    for args in [
        &["-p", "80:90"][..],
        &["--bogus"],
        &["-l", "nosuch"],
        &["stray"],
    ] {
        let out = std::process::Command::new(common::OURS)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(252), "{args:?}");
        // After getopt's complaint, if any (cli/tests/getopt_as_debians.rs).
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("421 Configuration error: ")),
            "{args:?}: {stderr}"
        );
    }
    let out = std::process::Command::new(common::OURS)
        .arg("-h")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("-S\t--bind\t<opt>\n"));
}

#[test]
fn inetd_mode_serves_the_connection_on_standard_input() {
    let site = Site::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let login = format!("puredb:{}", site.pdb.display());
    let board = site.scoreboard();
    let (started, pid) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let fd = std::os::fd::OwnedFd::from(stream);
        let mut child = std::process::Command::new(common::OURS)
            .args(["-l", &login, "-H", "-4"])
            .env("PURE_FTPD_SCOREBOARD", board)
            .env_remove("GLIBC_TUNABLES")
            .stdin(std::process::Stdio::from(fd))
            .spawn()
            .unwrap();
        started.send(child.id()).unwrap();
        child.wait().unwrap()
    });
    let mut ftp = Ftp::login(port, USER, PASSWORD);
    assert_eq!(ftp.cmd("PWD").text(), "257 \"/\" is your current location");
    // Alone in its process, a session does not run itself again without malloc's
    // cache (a standalone master does, for the sessions it forks): the process started
    // serves with the environment it was given.
    let pid = pid.recv().unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(!environ.contains("GLIBC_TUNABLES"), "{environ:?}");
    ftp.cmd("QUIT");
    assert!(server.join().unwrap().success());
}

#[test]
fn ipv6_listening_and_passive_rules() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("SKIP: no IPv6 loopback");
        return;
    }
    let site = Site::new();
    // Stopped when dropped, even when an assertion below fails.
    let server = site.start_on("::1", Path::new(common::OURS), &[]);
    let stream = std::net::TcpStream::connect(("::1", server.port)).unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut reply = || {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
            all.push_str(&line);
            if line.len() > 3 && line.as_bytes()[3] == b' ' {
                return all;
            }
        }
    };
    let greeting = reply();
    assert!(
        !greeting.contains("IPv6 connections are also welcome"),
        "an IPv6 client: {greeting}"
    );
    let mut send = |line: &str| {
        std::io::Write::write_all(&mut writer, format!("{line}\r\n").as_bytes()).unwrap()
    };
    send(&format!("USER {USER}"));
    reply();
    send(&format!("PASS {PASSWORD}"));
    assert!(reply().starts_with("230 "));
    send("PASV");
    assert_eq!(
        reply(),
        "425 You cannot use PASV on IPv6 connections. Use EPSV instead.\r\n"
    );
    send("EPSV");
    assert!(reply().starts_with("229 Extended Passive mode OK (|||"));
    send("EPRT |2|::1|50000|");
    assert_eq!(reply(), "200 PORT command successful\r\n");
    // Pure-FTPd reads an IPv6 address of hexadecimal digits and colons only.
    send("EPRT |2|::ffff:127.0.0.1|50000|");
    assert_eq!(reply(), "501 Syntax error in IP address\r\n");
    send("EPRT |2|2001:db8::1|50000|");
    assert_eq!(
        reply(),
        "500 I won't open a connection to 2001:db8::1 (only to ::1)\r\n"
    );
    // As Debian's: the port is read by atoi and nothing needs to follow it; `::` is
    // not the client (and with FXP allowed ours still refuses it: it is this host).
    for (line, answer) in [
        ("EPRT |2|::1|50000", "200 PORT command successful"),
        ("EPRT |2|::1| +50000x", "200 PORT command successful"),
        ("EPRT |2|::1|0|", "501 Syntax error in IP address"),
        ("EPRT |2|zz|50000|", "501 Syntax error in IP address"),
        (
            "EPRT |2|::|50000|",
            "500 I won't open a connection to :: (only to ::1)",
        ),
    ] {
        send(line);
        assert_eq!(reply(), format!("{answer}\r\n"), "{line}");
    }
}

#[test]
fn syslog_lines_never_contain_passwords() {
    let Some(syslog) = common::syslog::Syslog::listen() else {
        return;
    };
    let site = Site::new();
    let server = site.ours(&["-d", "-f", "local3", "-1"]);
    let mut ftp = Ftp::connect(server.port).0;
    ftp.cmd(&format!("USER {USER}"));
    ftp.cmd("PASS wrong-secret-123");
    ftp.cmd(&format!("USER {USER}"));
    ftp.cmd(&format!("PASS {PASSWORD}"));
    ftp.cmd("NOOP");
    ftp.cmd("QUIT");
    let mut lines = syslog.until(|ls| {
        ls.iter()
            .any(|l| l.starts_with("<15") && l.ends_with("[INFO] Logout."))
    });
    // Other tests' servers may log here too (facility ftp); ours uses local3.
    lines.retain(|l| l.starts_with("<15"));
    let all = lines.join("\n");
    assert!(
        !all.contains("wrong-secret-123") && !all.contains(PASSWORD),
        "a password was logged:\n{all}"
    );
    // local3 (19) * 8 + priority; glibc's "Mmm dd hh:mm:ss" header; ident with the pid
    // (-1); Pure-FTPd's line layout.
    let glibc_header = |l: &str| {
        let stamp = l.get(5..21).unwrap_or_default().as_bytes();
        stamp[..3].iter().all(u8::is_ascii_alphabetic)
            && (stamp[4] == b' ' || stamp[4].is_ascii_digit())
            && stamp[5].is_ascii_digit()
            && stamp[9] == b':'
            && stamp[12] == b':'
            && stamp[15] == b' '
            && l[21..].starts_with("pure-ftpd[")
    };
    assert!(
        lines.iter().any(|l| l.starts_with("<158>")
            && glibc_header(l)
            && l.contains("]: (?@127.0.0.1) [INFO] New connection from 127.0.0.1")),
        "{all}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("(?@127.0.0.1) [WARNING] Authentication failed for user [alice]")),
        "{all}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("(?@127.0.0.1) [INFO] alice is now logged in")),
        "{all}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[DEBUG] Command [pass] [<*>]")),
        "{all}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[DEBUG] Command [noop] []")),
        "{all}"
    );
}

/// The targets of a process's descriptors that are sockets or pipes.
fn socket_and_pipe_fds(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|target| target.display().to_string())
                .filter(|t| t.starts_with("socket:") || t.starts_with("pipe:"))
                .collect()
        })
        .unwrap_or_default()
}

/// The signals a process catches (SigCgt of /proc/<pid>/status), as a bit mask.
fn caught_signals(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("SigCgt:")).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

/// A session keeps nothing of the master: none of its sockets or pipes (the listeners,
/// the self-pipes its signal handlers write to), none of its handlers. Otherwise any
/// process of the account could `kill -HUP` its session to make the root master reload
/// its certificate, and a compromised session could stop or wake the master.
#[test]
fn sessions_hold_no_descriptor_or_signal_handler_of_the_master() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let session = session_pid(&site, USER);
    let master_fds = socket_and_pipe_fds(server.pid());
    assert!(master_fds.len() >= 4, "the master's own: {master_fds:?}");
    // Inherited by both from the test harness (if any) does not count.
    let harness = socket_and_pipe_fds(std::process::id());
    let session_fds = socket_and_pipe_fds(session);
    let shared: Vec<&String> = session_fds
        .iter()
        .filter(|fd| master_fds.contains(fd) && !harness.contains(fd))
        .collect();
    assert!(
        shared.is_empty(),
        "the session holds the master's {shared:?}"
    );
    let hup = 1u64 << (nix::libc::SIGHUP - 1);
    let term = 1u64 << (nix::libc::SIGTERM - 1);
    assert_ne!(
        caught_signals(server.pid()) & hup,
        0,
        "the master handles SIGHUP"
    );
    assert_eq!(
        caught_signals(session) & (hup | term),
        0,
        "the session handles none"
    );
    assert_eq!(ftp.cmd("NOOP").code, 200);
    // SIGHUP now has its default effect on a session: it ends; the master serves on.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(session as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    assert!(ftp.closed());
    assert!(wait_for(|| records(&site.scoreboard()).is_empty()));
    assert_eq!(
        Ftp::login(server.port, USER, PASSWORD).cmd("NOOP").code,
        200
    );
}

/// `-B` leaves the caller's pipes (as Pure-FTPd does): a caller that reads the
/// command's output, as `$(...)`, ssh or Rust's `Command::output` do, gets its end of
/// file when the parent exits, not when the daemon does.
#[test]
fn daemonize_releases_the_callers_output() {
    let site = Site::new();
    let pid_file = site.dir.path().join("daemon.pid");
    let port = pureftpd_tests::free_port();
    let login = format!("puredb:{}", site.pdb.display());
    let (done, finished) = std::sync::mpsc::channel();
    let args = vec![
        "-B".to_string(),
        "-l".into(),
        login,
        "-H".into(),
        "-4".into(),
        "-g".into(),
        pid_file.display().to_string(),
        "-S".into(),
        format!("127.0.0.1,{port}"),
    ];
    let board = site.scoreboard();
    std::thread::spawn(move || {
        let out = std::process::Command::new(common::OURS)
            .args(&args)
            .env("PURE_FTPD_SCOREBOARD", board)
            .output();
        let _ = done.send(out.map(|o| o.status.success()));
    });
    let returned = finished.recv_timeout(Duration::from_secs(10));
    assert!(wait_for(|| pid_file.exists()), "the daemon started");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(common::logs_in(port, USER, PASSWORD));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    );
    assert!(
        matches!(returned, Ok(Ok(true))),
        "the caller still waited for the daemon's output: {returned:?}"
    );
}
