//! Privilege separation before login, seen from outside through /proc: a session waiting
//! for `PASS` (in clear, or after `AUTH TLS`) is a root monitor and an unprivileged
//! pre-login process (no ids of root, no capabilities, `no_new_privs`, a removed
//! directory as its root, only sockets beyond stdio); once logged in, the account's
//! process holds no channel to it and, in clear, the pre-login process is gone and
//! reaped before the client's next command (no zombie while a session idles); under
//! TLS it stays as the relay, still unprivileged, and the session works to the end
//! (commands, a `PROT P` listing from the account's process, `QUIT`), after which no
//! process is left. Run by a real client (Python's ftplib) driven step by step.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PASSWORD, Site, USER};
use pureftpd_tests::procfs::{children_of, descriptors, uids};

/// Logs in one step at a time: prints each reply, then waits for a line on stdin.
const DRIVER: &str = r#"
import ftplib, ssl, sys
port, tls = int(sys.argv[1]), sys.argv[2] == "tls"
if tls:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    ftp = ftplib.FTP_TLS(context=context)
else:
    ftp = ftplib.FTP()
ftp.encoding = "latin-1"  # the site holds names that are not UTF-8
ftp.connect("127.0.0.1", port, timeout=20)
if tls:
    ftp.auth()
print(ftp.sendcmd("USER " + sys.argv[3]), flush=True)
sys.stdin.readline()
print(ftp.sendcmd("PASS " + sys.argv[4]).splitlines()[-1], flush=True)
sys.stdin.readline()
print(ftp.sendcmd("PWD"), flush=True)
if tls:
    ftp.prot_p()
print("listed" if "listed.txt" in ftp.nlst() else "not listed", flush=True)
print(ftp.quit(), flush=True)
"#;

struct Driver {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Driver {
    fn start(port: u16, tls: bool) -> Self {
        let mut child = Command::new("python3")
            .args(["-c", DRIVER, &port.to_string()])
            .arg(if tls { "tls" } else { "clear" })
            .args([USER, PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let out = BufReader::new(child.stdout.take().unwrap());
        Self { child, out }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    fn go_on(&mut self) -> String {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
        self.line()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The inodes of the Unix sockets of type `SOCK_SEQPACKET`, from /proc/net/unix.
fn seqpacket_inodes() -> Vec<String> {
    std::fs::read_to_string("/proc/net/unix")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            // Num RefCount Protocol Flags Type St Inode [Path]
            (fields.len() > 6 && fields[4] == "0005").then(|| format!("socket:[{}]", fields[6]))
        })
        .collect()
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

/// The pre-login process of a session waiting for PASS: checks it, returns its pid.
fn check_waiting_session(master: u32) -> (u32, u32) {
    let sessions = pureftpd_tests::session_processes(master);
    assert_eq!(sessions.len(), 1, "one session: {sessions:?}");
    let monitor = sessions[0];
    assert_eq!(uids(monitor), [0, 0, 0, 0], "the monitor stays root");
    let pre_login = children_of(monitor);
    assert_eq!(pre_login.len(), 1, "one pre-login process: {pre_login:?}");
    let pre_login = pre_login[0];
    pureftpd_tests::procfs::assert_unprivileged(pre_login);
    let held = descriptors(pre_login);
    assert!(
        held.iter().all(|d| d.starts_with("socket:[")) && held.len() <= 4,
        "only the client, the channel, the pipe and syslog: {held:?}"
    );
    (monitor, pre_login)
}

fn session_through(tls: bool) {
    if !common::require_root("privilege separation needs root") {
        return;
    }
    if !common::have("python3") {
        return;
    }
    let site = Site::new();
    site.put("listed.txt", b"x");
    let certificate = common::certificate(site.dir.path(), "server");
    let server = if tls {
        let Some(certificate) = &certificate else {
            return;
        };
        site.ours(&["-Y", "1", "-2", certificate.to_str().unwrap()])
    } else {
        site.ours(&[])
    };
    let mut client = Driver::start(server.port, tls);
    assert!(client.line().starts_with("331 "), "USER is answered");
    let (monitor, pre_login) = check_waiting_session(server.pid());

    assert_eq!(client.go_on(), "230 OK. Current directory is /");
    assert_eq!(
        uids(monitor),
        [site.uid; 4],
        "the monitor is the account now"
    );
    let channels = seqpacket_inodes();
    if tls {
        assert!(
            children_of(monitor).contains(&pre_login),
            "under TLS, the pre-login process stays as the relay"
        );
        assert!(uids(pre_login).iter().all(|&id| id != 0 && id != site.uid));
    } else {
        // It exits right after the handover and is reaped while the client sends
        // nothing more: an idle session leaves no zombie in `ps`.
        assert!(
            wait_for(|| !std::path::Path::new(&format!("/proc/{pre_login}")).exists()),
            "in clear, the pre-login process is gone and reaped, not a zombie: {:?}",
            std::fs::read_to_string(format!("/proc/{pre_login}/stat"))
        );
        let held = descriptors(monitor);
        assert!(
            !held.iter().any(|d| channels.contains(d)),
            "no channel to a pre-login process is left: {held:?}"
        );
    }
    assert_eq!(client.go_on(), "257 \"/\" is your current location");
    assert_eq!(client.line(), "listed");
    assert!(client.line().starts_with("221"));
    assert!(
        wait_for(|| pureftpd_tests::session_processes(server.pid()).is_empty()),
        "the session and its pre-login process are gone"
    );
    assert!(!std::path::Path::new(&format!("/proc/{pre_login}")).exists());
}

#[test]
fn a_session_in_clear_waits_for_its_password_unprivileged() {
    session_through(false);
}

#[test]
fn a_session_under_tls_waits_for_its_password_unprivileged_and_relays() {
    session_through(true);
}

/// Through the relay, both ways at volume: a directory's worth of `STAT` on the control
/// connection (hundreds of KiB of reply), and 500 commands sent in one write, each
/// answered in order; then `CCC` hands the connection back in clear, and the session
/// goes on in the account's process alone.
const VOLUME: &str = r#"
import ftplib, ssl, sys
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=context)
ftp.encoding = "latin-1"
ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=20)
ftp.auth()
ftp.login(sys.argv[2], sys.argv[3])
listing = ftp.sendcmd("STAT -la many")
print(sum(1 for line in listing.splitlines() if "name-with-a-long-tail" in line), flush=True)
ftp.sock.sendall(b"NOOP\r\n" * 500)
print(sum(1 for _ in range(500) if ftp.getresp().startswith("200")), flush=True)
ftp.sendcmd("PBSZ 0")
print(ftp.sendcmd("CCC"), flush=True)
ftp.sock = ftp.sock.unwrap()
ftp.file = ftp.sock.makefile("r", encoding="latin-1")
print(ftp.sendcmd("PWD"), flush=True)
print(ftp.quit(), flush=True)
"#;

#[test]
fn the_tls_relay_carries_volume_both_ways_and_hands_back_on_ccc() {
    if !common::require_root("privilege separation needs root") || !common::have("python3") {
        return;
    }
    let site = Site::new();
    let many = site.home.join("many");
    std::fs::create_dir_all(&many).unwrap();
    for i in 0..3000 {
        std::fs::write(many.join(format!("{i:05}-name-with-a-long-tail.txt")), b"").unwrap();
    }
    let Some(certificate) = common::certificate(site.dir.path(), "server") else {
        return;
    };
    let server = site.ours(&["-Y", "1", "-2", certificate.to_str().unwrap()]);
    let out = Command::new("python3")
        .args(["-c", VOLUME, &server.port.to_string(), USER, PASSWORD])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "3000",
            "500",
            "200 Control connection unencrypted",
            "257 \"/\" is your current location",
            "221-Goodbye. You uploaded 0 and downloaded 0 kbytes.",
            "221 Logout.",
        ],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        wait_for(|| pureftpd_tests::session_processes(server.pid()).is_empty()),
        "the session and its relay are gone"
    );
}

/// `CCC` many times over, in parallel sessions: the client answers the `200` with its
/// close_notify at once, which must never reach the relay before it knows that TLS is
/// ending (it would take it for the client leaving, and the session would drop).
const MANY_CCC: &str = r#"
import ftplib, ssl, sys, threading
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
results = []
def session():
    try:
        ftp = ftplib.FTP_TLS(context=context)
        ftp.connect("127.0.0.1", port, timeout=20)
        ftp.auth()
        ftp.login(user, password)
        ftp.sendcmd("PBSZ 0")
        reply = ftp.sendcmd("CCC")
        ftp.sock = ftp.sock.unwrap()
        ftp.file = ftp.sock.makefile("r", encoding="latin-1")
        results.append((reply, ftp.sendcmd("PWD"), ftp.quit()))
    except Exception as e:
        results.append(repr(e))
for _ in range(SESSIONS // PARALLEL):
    threads = [threading.Thread(target=session) for _ in range(PARALLEL)]
    for t in threads: t.start()
    for t in threads: t.join(60)
for r in results: print(r)
"#;

#[test]
fn ccc_under_the_relay_never_loses_the_session() {
    if !common::require_root("privilege separation needs root") || !common::have("python3") {
        return;
    }
    const SESSIONS: usize = 120;
    let site = Site::new();
    let Some(certificate) = common::certificate(site.dir.path(), "server") else {
        return;
    };
    let server = site.ours(&["-Y", "1", "-2", certificate.to_str().unwrap(), "-c", "50"]);
    let script = MANY_CCC
        .replace("SESSIONS", &SESSIONS.to_string())
        .replace("PARALLEL", "8");
    let out = Command::new("python3")
        .args(["-c", &script, &server.port.to_string(), USER, PASSWORD])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = "('200 Control connection unencrypted', '257 \"/\" is your current location', \
                    '221-Goodbye. You uploaded 0 and downloaded 0 kbytes.\\n221 Logout.')";
    let failed: Vec<&str> = text.lines().filter(|line| *line != expected).collect();
    assert!(
        failed.is_empty() && text.lines().count() == SESSIONS,
        "{} of {SESSIONS} sessions went wrong: {:?}\n{}",
        failed.len(),
        &failed[..failed.len().min(5)],
        String::from_utf8_lossy(&out.stderr)
    );
}
