//! An idle logged-in session costs nothing while it waits: its processes sleep until the
//! client speaks or the idle time runs out, and no timer wakes them meanwhile. With
//! thousands of sessions held (`many_clients.rs`), a wake-up of each twice a second is
//! thousands of context switches a second for nothing. Measured as the context switches
//! of all the server's processes but the master over a few seconds of silence.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::sftp;
use common::{Ftp, PASSWORD, Site, USER, have};

/// How long the sessions are watched.
const QUIET: Duration = Duration::from_secs(3);
/// Context switches allowed over [`QUIET`] for all of them: none is expected; a few for
/// whatever the kernel does to a process now and then (a wake-up every 500 ms is 6).
const ALLOWED: u64 = 2;

/// All processes below `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut next = vec![pid];
    while let Some(parent) = next.pop() {
        for child in pureftpd_tests::procfs::children_of(parent) {
            found.push(child);
            next.push(child);
        }
    }
    found
}

/// Context switches of every thread of `pids` so far, per process.
fn switches(pids: &[u32]) -> Vec<(u32, u64)> {
    pids.iter()
        .map(|&pid| {
            let total = std::fs::read_dir(format!("/proc/{pid}/task"))
                .map(|tasks| {
                    tasks
                        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("status")).ok())
                        .flat_map(|status| {
                            status
                                .lines()
                                .filter(|l| l.contains("ctxt_switches:"))
                                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                                .collect::<Vec<_>>()
                        })
                        .sum()
                })
                .unwrap_or(0);
            (pid, total)
        })
        .collect()
}

/// The sessions under `master` over [`QUIET`], once what their last request left
/// (progress written 500 ms after it, at most) is done.
fn assert_quiet(master: u32, what: &str) {
    std::thread::sleep(Duration::from_secs(1));
    let pids = descendants(master);
    assert!(
        !pids.is_empty(),
        "{what}: no session process under {master}"
    );
    let before = switches(&pids);
    std::thread::sleep(QUIET);
    let after = switches(&pids);
    let woke: Vec<(u32, u64)> = before
        .iter()
        .zip(&after)
        .map(|(&(pid, was), &(_, now))| (pid, now.saturating_sub(was)))
        .collect();
    let total: u64 = woke.iter().map(|(_, n)| n).sum();
    println!("{what}: {total} context switches in {QUIET:?} ({woke:?})");
    assert!(
        total <= ALLOWED,
        "{what}: an idle session woke {total} times in {QUIET:?} (per process: {woke:?})"
    );
}

#[test]
fn an_idle_ftp_session_sleeps() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("PWD").code, 257);
    assert_quiet(server.pid(), "FTP");
    assert_eq!(ftp.cmd("NOOP").code, 200);
}

/// The SFTP session's account process runs a runtime with a task that writes transfer
/// progress to the scoreboard: it must wait for progress, not poll for it.
#[test]
fn an_idle_sftp_session_sleeps() {
    if !have("python3") {
        return;
    }
    let site = Site::new();
    site.put("some.bin", &sftp::random_bytes(100_000));
    let server = sftp::start(&site, &[]);
    // A transfer first, so that the progress task has had work, then silence.
    let script = r#"
import paramiko, sys
t = paramiko.Transport(("127.0.0.1", int(sys.argv[1])))
t.connect(username=sys.argv[2], password=sys.argv[3])
s = paramiko.SFTPClient.from_transport(t)
with s.open("some.bin") as f:
    f.read()
print("idle", flush=True)
sys.stdin.readline()
s.stat("/")
print("still there", flush=True)
"#;
    let mut client = Command::new("python3")
        .args(["-c", script, &server.port.to_string(), USER, PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(client.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "idle");
    assert_quiet(server.pid(), "SFTP");
    use std::io::Write;
    client.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "still there");
    let _ = client.wait();
}
