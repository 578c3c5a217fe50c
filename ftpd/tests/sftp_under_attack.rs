//! pure-sftpd against a password guesser: 1,000 failed logins from one address (paramiko,
//! many connections at once) while an account logs in from another address and
//! transfers; the `-c`/`-C` refusals, which an SSH client must be able to show; and an
//! account that holds every directory handle it may on a large directory.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::sftp::{SSH_OPTIONS, askpass, random_bytes, start, text};
use common::{PASSWORD, Site, USER, have, require_root};

/// The guesser: `total` logins with a wrong password over `threads` connections at a
/// time, one guess per connection (the server delays each failure by 3 to 6 s, so
/// guessers reconnect rather than wait); prints how each ended.
const GUESSER: &str = r#"
import sys, threading, paramiko
port, user, total, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lock = threading.Lock()
count = {"left": total, "failed": 0, "turned away": 0, "accepted": 0}
def take():
    with lock:
        if count["left"] == 0:
            return False
        count["left"] -= 1
        return True
def note(kind):
    with lock:
        count[kind] += 1
def guess():
    while take():
        transport = None
        try:
            transport = paramiko.Transport(("127.0.0.1", port))
            transport.start_client(timeout=60)
            transport.auth_password(user, "not the password")
            note("accepted")
        except paramiko.AuthenticationException:
            note("failed")
        except (paramiko.SSHException, EOFError, OSError):
            note("turned away")
        finally:
            if transport is not None:
                transport.close()
workers = [threading.Thread(target=guess) for _ in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(count["failed"], count["turned away"], count["accepted"])
"#;

fn children(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .count()
}

#[test]
fn a_thousand_failed_logins_from_one_address_leave_the_others_alone() {
    if !require_root("switching to the account's ids") || !have("sftp") || !have("python3") {
        return;
    }
    let site = Site::new();
    let per_ip = 120;
    let server = start(&site, &["-c", "200", "-C", &per_ip.to_string()]);
    let master = server.pid();

    // The most sessions seen at once while the guesser runs.
    let stop = Arc::new(AtomicBool::new(false));
    let most = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (stop, most) = (Arc::clone(&stop), Arc::clone(&most));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                most.fetch_max(children(master), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let guesser = Command::new("timeout")
        .args([
            "600",
            "python3",
            "-c",
            GUESSER,
            &server.port.to_string(),
            USER,
        ])
        .args(["1000", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");

    // Meanwhile the account logs in from another address and transfers.
    std::thread::sleep(Duration::from_secs(5));
    let local = tempfile::tempdir().unwrap();
    let payload = random_bytes(2 * 1024 * 1024 + 3);
    std::fs::write(local.path().join("up.bin"), &payload).unwrap();
    std::fs::write(
        local.path().join("batch"),
        "put up.bin\nget up.bin back.bin\nbye\n",
    )
    .unwrap();
    let user = Command::new("timeout")
        .args([
            "120",
            "sftp",
            "-P",
            &server.port.to_string(),
            "-o",
            "BatchMode=no",
        ])
        .args(SSH_OPTIONS)
        .args(["-o", "BindAddress=127.0.0.2", "-b", "batch"])
        .arg(format!("{USER}@127.0.0.1"))
        .current_dir(local.path())
        .env("SSH_ASKPASS", askpass(local.path(), PASSWORD))
        .env("SSH_ASKPASS_REQUIRE", "force")
        .stdin(Stdio::null())
        .output()
        .expect("sftp runs");
    let guessed = guesser.wait_with_output().unwrap();
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();

    assert!(
        user.status.success(),
        "{}\n{}",
        text(&user),
        server.stderr()
    );
    assert_eq!(
        std::fs::read(local.path().join("back.bin")).unwrap(),
        payload
    );
    assert_eq!(site.read("up.bin"), payload);

    let said = String::from_utf8_lossy(&guessed.stdout);
    assert!(
        guessed.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&guessed.stderr)
    );
    let counts: Vec<usize> = said
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let [failed, turned_away, accepted] = counts[..] else {
        panic!("{said}");
    };
    assert_eq!(accepted, 0);
    assert_eq!(failed + turned_away, 1000, "{said}");
    // 100 guessers under a limit of 120 connections: turned away only while the master
    // has not yet seen a finished session go.
    assert!(failed > 500, "{said}");
    // Sessions stayed within -C (plus the account's own), and all go when it is over.
    let most = most.load(Ordering::Relaxed);
    assert!(most <= per_ip + 1, "{most} sessions at once");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while children(master) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(children(master), 0, "sessions left behind");
}

/// A connection from 127.0.0.1 that gets the server's version line and says nothing: its
/// session waits for the client's, and holds a place meanwhile.
fn silent_connection(port: u16) -> TcpStream {
    let mut held = TcpStream::connect(("127.0.0.1", port)).unwrap();
    held.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut banner = [0u8; 8];
    held.read_exact(&mut banner).unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
    held
}

#[test]
fn clients_over_the_limits_are_told_why_in_ssh() {
    if !require_root("reading the sessions' descriptors") || !have("ssh") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &["-C", "1"]);
    // One connection from 127.0.0.1 that says nothing: the session waits for its
    // version line, and holds the address's only place.
    let held = silent_connection(server.port);
    // ssh prints a disconnect at its default log level (INFO), not at SSH_OPTIONS' ERROR.
    let out = common::sftp::openssh("ssh", server.port)
        .arg(format!("{USER}@127.0.0.1"))
        .output()
        .expect("ssh runs");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Too many connections (1) from this IP"),
        "{}",
        text(&out)
    );
    // The refused connection is held by the master a moment: a session forked meanwhile
    // (a connection from another address) must not inherit it, nor any other socket of
    // the master's. (Matched by inode: a held socket whose client has hung up is in
    // TIME_WAIT, which /proc/net/tcp lists without its inode.)
    let newcomer =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    newcomer
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 2], 0)).into())
        .unwrap();
    newcomer
        .connect(&std::net::SocketAddr::from(([127, 0, 0, 1], server.port)).into())
        .unwrap();
    let mut newcomer = TcpStream::from(newcomer);
    newcomer
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut banner = [0u8; 8];
    newcomer.read_exact(&mut banner).unwrap();
    let sockets = |pid: u32| -> Vec<String> {
        pureftpd_tests::procfs::descriptors(pid)
            .into_iter()
            .filter(|d| d.starts_with("socket:["))
            .collect()
    };
    let masters = sockets(server.pid());
    let sessions = pureftpd_tests::session_processes(server.pid());
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    for monitor in sessions {
        let mut processes = pureftpd_tests::procfs::children_of(monitor);
        processes.push(monitor);
        for pid in processes {
            let shared: Vec<String> = sockets(pid)
                .into_iter()
                .filter(|s| masters.contains(s))
                .collect();
            assert!(
                shared.is_empty(),
                "{pid} holds the master's sockets {shared:?}"
            );
        }
    }
    drop(newcomer);

    // From another address there is room.
    let out = Command::new("timeout")
        .args(["30", "ssh", "-p", &server.port.to_string()])
        .args(SSH_OPTIONS)
        .args(["-o", "BatchMode=yes", "-o", "BindAddress=127.0.0.2"])
        .arg(format!("{USER}@127.0.0.1"))
        .stdin(Stdio::null())
        .output()
        .expect("ssh runs");
    assert!(text(&out).contains("Permission denied"), "{}", text(&out));
    drop(held);
}

/// `-c`: past the server's limit a client of any address is told why in SSH, and the
/// place is free again when a session ends.
#[test]
fn clients_over_the_servers_limit_are_told_why_and_wait_their_turn() {
    if !have("ssh") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &["-c", "1"]);
    let held = silent_connection(server.port);
    let ssh_from = |address: &str| {
        common::sftp::openssh("ssh", server.port)
            .args(["-o", &format!("BindAddress={address}")])
            .arg(format!("{USER}@127.0.0.1"))
            .output()
            .expect("ssh runs")
    };
    // Another address changes nothing: the limit is the server's.
    let out = ssh_from("127.0.0.2");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("1 users (the maximum) are already logged in, sorry"),
        "{}",
        text(&out)
    );
    drop(held);
    // Once the held session is gone, its place is free (BatchMode: no password, so
    // the login itself is refused).
    assert!(
        common::sftp::eventually(|| text(&ssh_from("127.0.0.2")).contains("Permission denied")),
        "{}",
        server.stderr()
    );
}

/// Opens `sys.argv[4]` (a directory) as often as the server allows, reads one batch from
/// each handle, says how many it holds, waits for a line, then lists the directory whole
/// through one more handle and prints how many names it had.
const HANDLES_ON_A_BIG_DIRECTORY: &str = crate::paramiko_sftp!(
    r#"
from paramiko.sftp import CMD_OPENDIR, CMD_READDIR, CMD_CLOSE
handles = []
while True:
    try:
        _, msg = sftp._request(CMD_OPENDIR, sys.argv[4])
    except IOError:
        break
    handle = msg.get_binary()
    sftp._request(CMD_READDIR, handle)
    handles.append(handle)
print("holding", len(handles), flush=True)
sys.stdin.readline()
for handle in handles:
    sftp._request(CMD_CLOSE, handle)
print("listed", len(sftp.listdir(sys.argv[4])), flush=True)
"#
);

/// SFTP's OPENDIR read every name of the directory into the handle: 256 handles on a
/// directory of a million names held gigabytes. A handle now holds the open directory
/// and reads a batch per READDIR, as OpenSSH's server does: the session stays small
/// with every handle open on 10,000 long names (1.2 GB before), and a listing through
/// batches still has every name.
#[test]
fn every_handle_on_a_big_directory_leaves_the_session_small() {
    use std::io::{BufRead, BufReader, Write};
    if !require_root("switching to the account's ids") || !have("python3") {
        return;
    }
    let site = Site::new();
    let big = site.home.join("big");
    std::fs::create_dir(&big).unwrap();
    let names = 10_000;
    for i in 0..names {
        std::fs::File::create(big.join(format!("{i:05}-{}", "n".repeat(200)))).unwrap();
    }
    let server = start(&site, &[]);
    let mut client = Command::new("timeout")
        .args(["300", "python3", "-c", HANDLES_ON_A_BIG_DIRECTORY])
        .args([&server.port.to_string(), USER, PASSWORD, "big"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut said = BufReader::new(client.stdout.take().unwrap());
    let mut line = String::new();
    said.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "holding 256", "{}", server.stderr());
    let sessions = pureftpd_tests::session_processes(server.pid());
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let rss_kib: u64 = pureftpd_tests::procfs::status(sessions[0], "VmRSS")
        .trim_end_matches(" kB")
        .parse()
        .unwrap();
    // A directory stream's buffer is 32 KiB: 8 MiB for 256, besides the session's own.
    eprintln!("the session holds {rss_kib} KiB with 256 handles on the directory");
    assert!(rss_kib < 100 * 1024, "the session holds {rss_kib} KiB");
    let stdin = client.stdin.as_mut().unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
    line.clear();
    said.read_line(&mut line).unwrap();
    assert_eq!(
        line.trim(),
        format!("listed {names}"),
        "{}",
        server.stderr()
    );
    assert!(client.wait().unwrap().success());
}
