//! pure-sftpd with real clients: OpenSSH's `sftp` and `scp -s` (batch mode, the password
//! typed by an askpass program as a user would), `curl sftp://`, `lftp sftp://`, paramiko,
//! `ssh` itself (for what must be refused) and ssh-audit, on the accounts and homes of
//! the FTP tests (`common::Site`: a `.pdb`, a chrooted home with links out of it).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::sftp::{
    SFTPD, SSH_OPTIONS, askpass, eventually, host_key_dir, paramiko_script, random_bytes, sftp,
    start, text,
};
use common::{PASSWORD, Server, Site, USER, have, require_root};

#[test]
fn openssh_sftp_works_in_the_chrooted_home_as_the_account() {
    if !require_root("switching to the account's ids") || !have("sftp") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &[]);
    let local = tempfile::tempdir().unwrap();
    let big = random_bytes(3 * 1024 * 1024 + 17);
    std::fs::write(local.path().join("big.bin"), &big).unwrap();
    let out = sftp(
        server.port,
        local.path(),
        USER,
        PASSWORD,
        "pwd\nput big.bin\nget big.bin back.bin\nmkdir made\nrename big.bin made/moved.bin\n\
         chmod 600 made/moved.bin\nls -l made\nget a.txt\ncd ..\npwd\nls\n-get escape/passwd\n\
         -get passwd-link\n-get /etc/passwd\n-symlink a.txt made/link\nrm made/moved.bin\nrmdir made\nbye\n",
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}\n{}", server.stderr());
    assert!(said.contains("Remote working directory: /\n"), "{said}");
    assert_eq!(std::fs::read(local.path().join("back.bin")).unwrap(), big);
    assert_eq!(
        std::fs::read(local.path().join("a.txt")).unwrap(),
        b"hello\nworld\n"
    );
    // `ls` at the top shows the home: the chroot holds.
    assert!(said.contains("a.txt") && said.contains("sub"), "{said}");
    assert!(
        said.contains("-rw-------") && said.contains("moved.bin"),
        "{said}"
    );
    // Nothing from outside the home came down.
    assert!(!local.path().join("passwd").exists(), "{said}");
    assert!(!local.path().join("passwd-link").exists(), "{said}");
    // No symbolic links are made (as pure-ftpd; OpenSSH's server makes them): the
    // directory could be removed, so nothing was left in it.
    assert!(
        said.contains("remote symlink file \"a.txt\" to \"/made/link\": Permission denied"),
        "{said}"
    );
    assert!(!site.home.join("made").exists());

    // scp over SFTP (OpenSSH's default since 9.0; -s says so), both ways.
    for (from, to) in [
        (
            local.path().join("big.bin").display().to_string(),
            format!("{USER}@127.0.0.1:scp.bin"),
        ),
        (
            format!("{USER}@127.0.0.1:scp.bin"),
            local.path().join("scp-back.bin").display().to_string(),
        ),
    ] {
        let scp = Command::new("timeout")
            .args([
                "60",
                "scp",
                "-s",
                "-P",
                &server.port.to_string(),
                "-o",
                "BatchMode=no",
            ])
            .args(SSH_OPTIONS)
            .args([&from, &to])
            .env("SSH_ASKPASS", askpass(local.path(), PASSWORD))
            .env("SSH_ASKPASS_REQUIRE", "force")
            .stdin(Stdio::null())
            .output()
            .expect("scp runs");
        assert!(scp.status.success(), "scp {from} {to}: {}", text(&scp));
    }
    assert_eq!(site.read("scp.bin"), big);
    assert_eq!(
        std::fs::read(local.path().join("scp-back.bin")).unwrap(),
        big
    );

    // An upload is the account's, with the -U default's mode.
    let out = sftp(
        server.port,
        local.path(),
        USER,
        PASSWORD,
        "put big.bin kept.bin\nbye\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let meta = std::fs::metadata(site.home.join("kept.bin")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (site.uid, site.gid));
    assert_eq!(meta.mode() & 0o7777, 0o644);
    assert_eq!(meta.len(), big.len() as u64);
}

#[test]
fn a_wrong_password_is_refused_and_a_right_one_then_works() {
    if !have("sftp") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &[]);
    let local = tempfile::tempdir().unwrap();
    let out = sftp(server.port, local.path(), USER, "wrong", "pwd\nbye\n");
    assert!(!out.status.success());
    assert!(text(&out).contains("Permission denied"), "{}", text(&out));
    let out = sftp(
        server.port,
        local.path(),
        "nobody-here",
        PASSWORD,
        "pwd\nbye\n",
    );
    assert!(!out.status.success());
    let out = sftp(server.port, local.path(), USER, PASSWORD, "pwd\nbye\n");
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn shells_commands_terminals_and_forwarding_are_refused() {
    if !have("ssh") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &[]);
    let local = tempfile::tempdir().unwrap();
    let ssh = |extra: &[&str]| {
        Command::new("timeout")
            .args([
                "30",
                "ssh",
                "-p",
                &server.port.to_string(),
                "-o",
                "BatchMode=no",
            ])
            .args(SSH_OPTIONS)
            .args(extra)
            .arg(format!("{USER}@127.0.0.1"))
            .env("SSH_ASKPASS", askpass(local.path(), PASSWORD))
            .env("SSH_ASKPASS_REQUIRE", "force")
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs")
    };
    let command = ssh(&["id"]);
    assert!(!command.status.success());
    assert!(!String::from_utf8_lossy(&command.stdout).contains("uid="));
    let shell = ssh(&["-tt"]);
    assert!(!shell.status.success(), "{}", text(&shell));
    // Stdio forwarding asks for a direct-tcpip channel at once.
    let forward = ssh(&["-W", &format!("127.0.0.1:{}", server.port)]);
    assert!(!forward.status.success());
    assert!(
        text(&forward).contains("forwarding failed")
            || text(&forward).contains("administratively prohibited"),
        "{}",
        text(&forward)
    );
}

#[test]
fn curl_and_lftp_download_and_upload() {
    if !have("curl") || !have("lftp") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &[]);
    let local = tempfile::tempdir().unwrap();
    let data = random_bytes(700_001);
    let upload = local.path().join("up.bin");
    std::fs::write(&upload, &data).unwrap();
    let url = format!("sftp://127.0.0.1:{}/", server.port);
    let user = format!("{USER}:{PASSWORD}");
    let curl = |args: &[&str]| {
        Command::new("curl")
            .args(["-sS", "--insecure", "--max-time", "30", "-u", &user])
            .args(args)
            .output()
            .expect("curl runs")
    };
    let put = curl(&["-T", upload.to_str().unwrap(), &format!("{url}curl.bin")]);
    assert!(put.status.success(), "{}", text(&put));
    assert_eq!(site.read("curl.bin"), data);
    let get = curl(&[&format!("{url}a.txt")]);
    assert!(get.status.success(), "{}", text(&get));
    assert_eq!(get.stdout, b"hello\nworld\n");
    let listing = curl(&[&url]);
    assert!(String::from_utf8_lossy(&listing.stdout).contains("a.txt"));

    let connect = "set sftp:connect-program 'ssh -a -x -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no'";
    let script = format!("{connect}; put -O / up.bin -o lftp.bin; get curl.bin -o back.bin; bye");
    let lftp = Command::new("timeout")
        .args(["60", "lftp", "-u", &format!("{USER},{PASSWORD}"), "-p"])
        .arg(server.port.to_string())
        .args(["-e", &script, "sftp://127.0.0.1"])
        .current_dir(local.path())
        .stdin(Stdio::null())
        .output()
        .expect("lftp runs");
    assert!(lftp.status.success(), "{}", text(&lftp));
    assert_eq!(site.read("lftp.bin"), data);
    assert_eq!(std::fs::read(local.path().join("back.bin")).unwrap(), data);
}

#[test]
fn configuration_errors_stop_the_start_saying_why() {
    let run = |args: &[&str]| {
        Command::new(SFTPD)
            .args(args)
            .output()
            .expect("pure-sftpd runs")
    };
    // An FTP-only option is refused, not ignored.
    let tls = run(&["-Y", "1", "-S", "127.0.0.1,1"]);
    assert_eq!(tls.status.code(), Some(252));
    assert!(text(&tls).contains("configuration error"), "{}", text(&tls));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let keys = format!("--hostkeydir={}", file.display());
    let not_dir = run(&[&keys, "-S", "127.0.0.1,1"]);
    assert_eq!(not_dir.status.code(), Some(252));
    assert!(
        text(&not_dir).contains("not a directory"),
        "{}",
        text(&not_dir)
    );
    let help = run(&["-h"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--hostkeydir"));
}

/// Logs in with paramiko one step at a time: prints what happened, then waits for a line.
const DRIVER: &str = r#"
import paramiko, sys
t = paramiko.Transport(("127.0.0.1", int(sys.argv[1])))
t.start_client(timeout=20)
print("connected", flush=True)
sys.stdin.readline()
t.auth_password(sys.argv[2], sys.argv[3])
sftp = paramiko.SFTPClient.from_transport(t)
print("logged in at " + sftp.normalize("."), flush=True)
sys.stdin.readline()
print("listed" if "a.txt" in sftp.listdir("/") else "not listed", flush=True)
sftp.close()
t.close()
"#;

/// The inodes of the TCP sockets on this machine (`socket:[n]`), from /proc/net.
fn tcp_sockets() -> Vec<String> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|table| {
            std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().nth(9).map(|i| format!("socket:[{i}]")))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn ssh_runs_unprivileged_and_the_account_never_touches_the_network() {
    use pureftpd_tests::procfs::{children_of, descriptors, status, uids};
    use std::io::{BufRead, BufReader, Write};
    if !require_root("privilege separation") || !have("python3") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &[]);
    let mut driver = Command::new("python3")
        .args(["-c", DRIVER, &server.port.to_string(), USER, PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut out = BufReader::new(driver.stdout.take().unwrap());
    let mut step = |go_on: bool| {
        if go_on {
            let stdin = driver.stdin.as_mut().unwrap();
            stdin.write_all(b"\n").unwrap();
            stdin.flush().unwrap();
        }
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    };
    // Keys exchanged, no login yet: a root monitor and SSH in an unprivileged process.
    assert_eq!(
        step(false),
        "connected",
        "paramiko needs installing? {}",
        server.stderr()
    );
    let sessions = pureftpd_tests::session_processes(server.pid());
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let monitor = sessions[0];
    assert_eq!(uids(monitor), [0, 0, 0, 0]);
    let pre_login = children_of(monitor);
    assert_eq!(pre_login.len(), 1, "{pre_login:?}");
    let pre_login = pre_login[0];
    let check_pre_login = || {
        pureftpd_tests::procfs::assert_unprivileged(pre_login);
        // Sockets (the client, the channel, the pipe, syslog) and the event loop's
        // epoll and eventfd: no file, no directory.
        let held = descriptors(pre_login);
        let sockets = held.iter().filter(|d| d.starts_with("socket:[")).count();
        assert!(
            held.iter()
                .all(|d| d.starts_with("socket:[") || d.starts_with("anon_inode:[event"))
                && sockets <= 4,
            "{held:?}"
        );
    };
    check_pre_login();

    // Logged in: the monitor is the account now, and holds no TCP socket.
    let logged_in = step(true);
    assert_eq!(logged_in, "logged in at /", "{}", server.stderr());
    assert_eq!(uids(monitor), [site.uid; 4]);
    assert_eq!(status(monitor, "CapEff"), "0000000000000000");
    let network = tcp_sockets();
    let held = descriptors(monitor);
    assert!(
        !held.iter().any(|d| network.contains(d)),
        "the account's process holds a TCP socket: {held:?}"
    );
    assert_eq!(children_of(monitor), [pre_login]);
    check_pre_login();
    assert_eq!(step(true), "listed");
    let _ = driver.wait();
    assert!(
        eventually(|| pureftpd_tests::session_processes(server.pid()).is_empty()),
        "session processes left: {:?}",
        pureftpd_tests::session_processes(server.pid())
    );
}

#[test]
fn ssh_audit_finds_no_failing_algorithm() {
    if !have("ssh-audit") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &[]);
    let audit = Command::new("timeout")
        .args([
            "60",
            "ssh-audit",
            "-j",
            "-p",
            &server.port.to_string(),
            "127.0.0.1",
        ])
        .output()
        .expect("ssh-audit runs");
    let report: serde_json::Value = serde_json::from_slice(&audit.stdout)
        .unwrap_or_else(|e| panic!("ssh-audit's JSON: {e}: {}", text(&audit)));
    let failures = &report["recommendations"]["critical"];
    assert!(
        failures.is_null() || failures.as_object().is_some_and(serde_json::Map::is_empty),
        "ssh-audit fails: {failures}"
    );
    // What it saw is what the server offers: the hybrid post-quantum exchange first.
    assert_eq!(
        report["kex"][0]["algorithm"], "mlkem768x25519-sha256",
        "{report}"
    );
    assert!(
        report["key"]
            .as_array()
            .is_some_and(|keys| keys.iter().any(|k| k["algorithm"] == "ssh-ed25519"))
    );
}

/// Hostile clients beside a well-behaved one: an SFTP packet over the limit, a packet
/// of an unknown type, a client that vanishes in the middle of an upload. Prints one
/// line per finding.
const HOSTILE: &str = r#"
import paramiko, struct, sys, os, time, subprocess
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def connect():
    t = paramiko.Transport(("127.0.0.1", port))
    t.connect(username=user, password=password)
    return t
calm = connect()
calm_sftp = paramiko.SFTPClient.from_transport(calm)
print("calm lists", "a.txt" in calm_sftp.listdir("/"), flush=True)

def raw_sftp():
    t = connect()
    c = t.open_session()
    c.invoke_subsystem("sftp")
    c.settimeout(20)
    c.sendall(struct.pack(">IBI", 5, 1, 3))
    head = c.recv(4)
    body = c.recv(struct.unpack(">I", head)[0])
    return t, c, body[0]
t, c, kind = raw_sftp()
print("version packet", kind == 2, flush=True)
# Unknown packet type: a status reply, and the session goes on.
c.sendall(struct.pack(">IBI", 5, 200, 7))
head = c.recv(4)
body = c.recv(struct.unpack(">I", head)[0])
print("unknown type answered with a status", body[0] == 101, flush=True)
c.sendall(struct.pack(">IBI", 10, 16, 8) + struct.pack(">I", 1) + b"/")
head = c.recv(4)
body = c.recv(struct.unpack(">I", head)[0])
print("still serving", body[0] == 104, flush=True)
# Over the limit: the session ends, without reading the body as packets.
c.sendall(struct.pack(">I", 10 * 1024 * 1024) + b"\x03" * 65536)
ended = False
deadline = time.time() + 20
while time.time() < deadline:
    try:
        if c.recv(65536) == b"":
            ended = True
            break
    except Exception:
        ended = True
        break
print("oversized packet ends the session", ended, flush=True)
t.close()

# A client that vanishes mid-upload (killed, no goodbye).
vanisher = subprocess.Popen([sys.executable, "-c", """
import paramiko, sys
t = paramiko.Transport(("127.0.0.1", %d))
t.connect(username=%r, password=%r)
s = paramiko.SFTPClient.from_transport(t)
f = s.open("vanished.bin", "w")
print("writing", flush=True)
while True:
    f.write(b"v" * 32768)
""" % (port, user, password)], stdout=subprocess.PIPE)
vanisher.stdout.readline()
time.sleep(0.5)
vanisher.kill()
vanisher.wait()
print("calm still lists", "a.txt" in calm_sftp.listdir("/"), flush=True)
with calm_sftp.open("calm.bin", "w") as f:
    f.write(b"c" * 100000)
print("calm still uploads", calm_sftp.stat("calm.bin").st_size == 100000, flush=True)
calm_sftp.close()
calm.close()
"#;

#[test]
fn hostile_packets_and_a_vanishing_client_disturb_nobody_else() {
    if !have("python3") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &[]);
    let out = paramiko_script(120, HOSTILE, server.port);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for finding in [
        "calm lists True",
        "version packet True",
        "unknown type answered with a status True",
        "still serving True",
        "oversized packet ends the session True",
        "calm still lists True",
        "calm still uploads True",
    ] {
        assert!(said.contains(finding), "{finding}: {said}");
    }
    // The vanished client's session ended: only the files it wrote remain, and no
    // session process is left once the calm client is gone too.
    assert!(
        eventually(|| pureftpd_tests::session_processes(server.pid()).is_empty()),
        "session processes left: {:?}",
        pureftpd_tests::session_processes(server.pid())
    );
}

/// Tries an SFTP login while `hold` other sessions of the account are open; prints
/// whether it got in.
const SECOND_LOGIN: &str = r#"
import paramiko, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
try:
    t = paramiko.Transport(("127.0.0.1", port))
    t.connect(username=user, password=password)
    paramiko.SFTPClient.from_transport(t).listdir("/")
    print("in", flush=True)
except Exception as e:
    print("refused", type(e).__name__, flush=True)
"#;

#[test]
fn per_user_limits_count_ftp_and_sftp_sessions_together() {
    if !have("python3") {
        return;
    }
    let site = Site::new();
    let sftpd = start(&site, &["-y", "1:1"]);
    let ftpd = site.ours(&[]);
    let try_sftp = || {
        let out = paramiko_script(60, SECOND_LOGIN, sftpd.port);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(try_sftp(), "in", "alone, the account gets in");
    // An FTP session of the account, on the same scoreboard, uses its one session.
    let mut ftp = common::Ftp::login(ftpd.port, USER, PASSWORD);
    assert!(try_sftp().starts_with("refused"), "{}", sftpd.stderr());
    // OpenSSH's client shows why, in pure-ftpd's words.
    let local = tempfile::tempdir().unwrap();
    let told = Command::new("timeout")
        .args([
            "60",
            "sftp",
            "-P",
            &sftpd.port.to_string(),
            "-o",
            "BatchMode=no",
        ])
        .args(["-o", "StrictHostKeyChecking=no"])
        .args([
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "PubkeyAuthentication=no",
        ])
        .arg(format!("{USER}@127.0.0.1"))
        .env("SSH_ASKPASS", askpass(local.path(), PASSWORD))
        .env("SSH_ASKPASS_REQUIRE", "force")
        .stdin(Stdio::null())
        .output()
        .expect("sftp runs");
    let said = text(&told);
    assert!(
        said.contains("I can't accept more than 1 connections as the same user"),
        "{said}"
    );
    ftp.cmd("QUIT");
    assert!(
        eventually(|| try_sftp() == "in"),
        "the FTP session ended: its place is free again"
    );
}

#[test]
fn quotas_are_shared_with_ftp_and_an_upload_over_them_leaves_nothing() {
    if !have("sftp") {
        return;
    }
    let site = Site::new();
    let sftpd = start(&site, &["-n", "1000:1"]);
    let ftpd = site.ours(&["-n", "1000:1"]);
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("600k.bin"), random_bytes(600 * 1024)).unwrap();
    let usage = || {
        let text = String::from_utf8(site.read(".ftpquota")).unwrap();
        let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().unwrap());
        (fields.next().unwrap(), fields.next().unwrap())
    };
    let out = sftp(
        sftpd.port,
        local.path(),
        USER,
        PASSWORD,
        "put 600k.bin first.bin\n-put 600k.bin second.bin\n-get .ftpquota\nbye\n",
    );
    let said = text(&out);
    assert!(said.contains("second.bin"), "{said}");
    assert_eq!(site.read("first.bin").len(), 600 * 1024, "{said}");
    assert!(
        !site.home.join("second.bin").exists(),
        "over the quota: {said}"
    );
    assert!(!local.path().join(".ftpquota").exists(), "{said}");
    let (files, bytes) = usage();
    assert!(
        (600 * 1024..1024 * 1024).contains(&bytes),
        "{files} {bytes}"
    );

    // The FTP session of the account sees the same counters.
    let mut ftp = common::Ftp::login(ftpd.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("TYPE I").code, 200);
    let (reply, done) = ftp.upload("STOR by-ftp.bin", &random_bytes(600 * 1024));
    let refused = done.as_ref().unwrap_or(&reply);
    assert_eq!(refused.code, 552, "{}", refused.text());
    assert!(!site.home.join("by-ftp.bin").exists());

    // Removing over SFTP gives the room back, to both.
    let out = sftp(
        sftpd.port,
        local.path(),
        USER,
        PASSWORD,
        "rm first.bin\nbye\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(usage(), (files - 1, bytes - 600 * 1024));
    let (reply, done) = ftp.upload("STOR by-ftp.bin", &random_bytes(600 * 1024));
    assert_eq!(done.map_or(reply.code, |d| d.code), 226);
    assert_eq!(usage(), (files, bytes));

    // A client that leaves without closing its file: the upload is counted when its
    // session ends.
    let leaver = r#"
import paramiko, sys, os
t = paramiko.Transport(("127.0.0.1", int(sys.argv[1])))
t.connect(username=sys.argv[2], password=sys.argv[3])
f = paramiko.SFTPClient.from_transport(t).open("left-open.bin", "w")
f.write(b"L" * 100000)
f.flush()
os._exit(0)
"#;
    let out = paramiko_script(60, leaver, sftpd.port);
    assert!(out.status.success(), "{}", text(&out));
    eventually(|| usage() == (files + 1, bytes + 100_000));
    assert_eq!(usage(), (files + 1, bytes + 100_000));
    assert_eq!(site.read("left-open.bin").len(), 100_000);
}

#[test]
fn transfers_are_logged_as_pure_ftpds_syslog_and_transfer_log_lines() {
    let Some(syslog) = common::syslog::Syslog::listen() else {
        return;
    };
    if !have("sftp") {
        return;
    }
    let site = Site::new();
    let xferlog = site.dir.path().join("xferlog");
    let spec = format!("xferlog:{}", xferlog.display());
    let server = start(&site, &["-f", "local3", "-O", &spec]);
    syslog.clear();
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("up.bin"), random_bytes(4321)).unwrap();
    let out = sftp(
        server.port,
        local.path(),
        USER,
        PASSWORD,
        "put up.bin\nget a.txt\nbye\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let lines = syslog.until(|lines| lines.iter().any(|l| l.contains("Logout.")));
    let ours: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("pure-sftpd: "))
        .collect();
    let home = site.home.display().to_string();
    for expected in [
        "[INFO] New connection from 127.0.0.1".to_string(),
        format!("[INFO] {USER} is now logged in"),
        format!("({USER}@127.0.0.1) [NOTICE] {home}//up.bin uploaded  (4321 bytes, "),
        format!("({USER}@127.0.0.1) [NOTICE] {home}//a.txt downloaded  (12 bytes, "),
        format!("({USER}@127.0.0.1) [INFO] Logout."),
    ] {
        assert!(
            ours.iter().any(|l| l.contains(&expected)),
            "{expected}: {ours:#?}"
        );
    }
    // local3.notice = 19 * 8 + 5
    assert!(ours.iter().any(|l| l.starts_with("<157>")), "{ours:#?}");
    let log = std::fs::read_to_string(&xferlog).unwrap();
    let entries: Vec<&str> = log.lines().collect();
    assert_eq!(entries.len(), 2, "{log}");
    assert!(
        entries[0].contains(&format!(" 4321 {home}/up.bin b _ i r {USER} ftp 1 * c")),
        "{log}"
    );
    assert!(
        entries[1].contains(&format!(" 12 {home}/a.txt b _ o r {USER} ftp 1 * c")),
        "{log}"
    );
}

#[test]
fn uploads_are_reported_to_pure_uploadscript() {
    use std::os::unix::fs::PermissionsExt;
    if !have("sftp") {
        return;
    }
    let site = Site::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pipe = dir.path().join("upload.pipe");
    let ran = dir.path().join("ran.txt");
    let script = dir.path().join("on-upload.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$1 $UPLOAD_SIZE $UPLOAD_VUSER\" >> '{}'\n",
            ran.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let login = format!("puredb:{}", site.pdb.display());
    let keys = host_key_dir().display().to_string();
    let board = site.scoreboard();
    let server = Server::start_with_env(
        Path::new(SFTPD),
        &["-l", &login, "-H", "--hostkeydir", &keys, "-o"],
        &[
            ("PURE_FTPD_SCOREBOARD", &board),
            ("PURE_FTPD_UPLOAD_PIPE", &pipe),
        ],
    );
    let mut reader = Command::new(pureftpd_tests::workspace_binary(
        "pure-uploadscript",
        "pure-uploadscript",
    ))
    .arg("-r")
    .arg(&script)
    .env("PURE_FTPD_UPLOAD_PIPE", &pipe)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("up.bin"), random_bytes(2222)).unwrap();
    let out = sftp(
        server.port,
        local.path(),
        USER,
        PASSWORD,
        "put up.bin reported.bin\nbye\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let expected = format!("{}/reported.bin 2222 {USER}", site.home.display());
    let seen = || std::fs::read_to_string(&ran).unwrap_or_default();
    let reported = eventually(|| seen().contains(&expected));
    let _ = reader.kill();
    let _ = reader.wait();
    assert!(reported, "{expected}: {:?}", seen());
}

#[test]
fn dot_files_deletion_renaming_and_chmod_follow_the_servers_flags() {
    use std::os::unix::fs::PermissionsExt;
    if !have("sftp") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &["-X", "-K", "-G", "-R"]);
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("up.bin"), b"up").unwrap();
    let mode_before = std::fs::metadata(site.home.join("a.txt"))
        .unwrap()
        .permissions()
        .mode();
    let out = sftp(
        server.port,
        local.path(),
        USER,
        PASSWORD,
        "-get .hidden\n-rm a.txt\n-rename a.txt b.txt\n-chmod 600 a.txt\n-put up.bin .dot\n\
         -mkdir .dir\nput up.bin ok.bin\nbye\n",
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(!local.path().join(".hidden").exists(), "-X: {said}");
    assert!(
        site.home.join("a.txt").exists() && !site.home.join("b.txt").exists(),
        "-K, -G: {said}"
    );
    let mode_after = std::fs::metadata(site.home.join("a.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode_before, mode_after, "-R: {said}");
    assert!(
        !site.home.join(".dot").exists() && !site.home.join(".dir").exists(),
        "{said}"
    );
    assert_eq!(site.read("ok.bin"), b"up");
    assert!(said.contains("Permission denied"), "{said}");
}

/// SETSTAT keeps the owner in as pure-ftpd's SITE CHMOD does: the session's root keeps
/// u+rwx, and under a quota every directory keeps u+rx (a directory the count cannot
/// enter would hide its files from it); files are left as asked.
#[test]
fn chmod_keeps_the_root_and_under_a_quota_directories_open_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    if !have("sftp") {
        return;
    }
    for (flags, directory) in [(&[][..], 0o000), (&["-n", "1000:10"][..], 0o500)] {
        let site = Site::new();
        let server = start(&site, flags);
        let local = tempfile::tempdir().unwrap();
        let out = sftp(
            server.port,
            local.path(),
            USER,
            PASSWORD,
            "chmod 000 a.txt\nchmod 000 sub\nchmod 000 /\nbye\n",
        );
        let said = text(&out);
        assert!(out.status.success(), "{flags:?}: {said}");
        let mode = |name: &str| {
            std::fs::metadata(site.home.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        let seen = (mode("a.txt"), mode("sub"), mode(""));
        for name in ["sub", ""] {
            std::fs::set_permissions(site.home.join(name), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        assert_eq!(seen, (0o000, directory, 0o700), "{flags:?}: {said}");
    }
}

/// Logs in, reads some of a file and waits; then closes it and waits again.
const READER: &str = r#"
import paramiko, sys
t = paramiko.Transport(("127.0.0.1", int(sys.argv[1])))
t.connect(username=sys.argv[2], password=sys.argv[3])
s = paramiko.SFTPClient.from_transport(t)
f = s.open("big.bin")
for _ in range(3):
    f.read(32768)
print("reading", flush=True)
sys.stdin.readline()
f.close()
s.stat("/")
print("closed", flush=True)
sys.stdin.readline()
"#;

#[test]
fn pure_ftpwho_shows_sftp_sessions_and_their_transfers() {
    use std::io::{BufRead, BufReader, Write};
    if !have("python3") {
        return;
    }
    let site = Site::new();
    site.put("big.bin", &random_bytes(1_000_000));
    let server = start(&site, &[]);
    let ftpwho = pureftpd_tests::workspace_binary("pure-ftpwho", "pure-ftpwho");
    let sessions = || -> Vec<serde_json::Value> {
        let out = Command::new(&ftpwho)
            .arg("--json")
            .env("PURE_FTPD_SCOREBOARD", site.scoreboard())
            .output()
            .unwrap();
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let mut reader = Command::new("python3")
        .args(["-c", READER, &server.port.to_string(), USER, PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(reader.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "reading");
    let now = sessions();
    assert_eq!(now.len(), 1, "{now:?}");
    let entry = &now[0];
    assert_eq!(entry["protocol"], "sftp", "{entry}");
    assert_eq!(entry["account"], USER, "{entry}");
    assert_eq!(entry["encrypted"], true, "{entry}");
    assert_eq!(entry["state"], "download", "{entry}");
    assert_eq!(entry["file"], "/big.bin", "{entry}");
    // Three reads in a burst, then a stall: the scoreboard catches up with the last.
    assert!(
        eventually(|| sessions()[0]["current_size"] == 3 * 32768),
        "{:?}",
        sessions()
    );
    reader.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "closed");
    let entry = &sessions()[0];
    assert_eq!(entry["state"], "idle", "{entry}");
    reader.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
    let _ = reader.wait();
}

/// Names as OpenSSH's sftp-server hands them to the kernel: a trailing `/` wants a
/// directory, and a last `.` or `..` is not the directory it cleans to.
const DIRECTORY_NAMES: &str = crate::paramiko_sftp!(
    r#"
def try_(what, call):
    try:
        call()
        print(what, "done")
    except IOError as e:
        print(what, "refused")
try_("remove a.txt/", lambda: sftp.remove("a.txt/"))
try_("open new/", lambda: sftp.open("new/", "w").close())
try_("rename a.txt b.txt/", lambda: sftp.rename("a.txt", "b.txt/"))
try_("rmdir sub/.", lambda: sftp.rmdir("sub/."))
try_("rmdir sub/..", lambda: sftp.rmdir("sub/.."))
try_("mkdir made/", lambda: sftp.mkdir("made/"))
print("realpath", sftp.normalize("sub/"))
"#
);

#[test]
fn trailing_slashes_and_last_dots_as_the_kernel_takes_them() {
    if !require_root("switching to the account's ids") || !have("python3") {
        return;
    }
    let site = Site::new();
    std::fs::remove_file(site.home.join("sub/inner.txt")).unwrap();
    let server = start(&site, &[]);
    let out = paramiko_script(60, DIRECTORY_NAMES, server.port);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    for line in [
        "remove a.txt/ refused",
        "open new/ refused",
        "rename a.txt b.txt/ refused",
        "rmdir sub/. refused",
        "rmdir sub/.. refused",
        "mkdir made/ done",
        "realpath /sub",
    ] {
        assert!(said.lines().any(|l| l == line), "{line}: {said}");
    }
    assert!(site.home.join("a.txt").is_file());
    assert!(site.home.join("sub").is_dir());
    assert!(!site.home.join("new").exists() && !site.home.join("b.txt").exists());
    assert!(site.home.join("made").is_dir());
}
