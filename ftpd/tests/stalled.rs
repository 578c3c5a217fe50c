//! Clients that stop reading (the data connection, the control connection), that vanish
//! in the middle of a transfer, and that abort one: each against Debian's pure-ftpd and
//! ours at the same time, comparing how and how soon the session ends. A session that
//! waits for ever on a client that does not read holds a client slot for ever, so that
//! anyone (anonymous users too) could fill the server.
//!
//! With `-I 1` (one minute), Debian's ends a stalled download after about two minutes;
//! ours after the idle minute. The bound below only catches a session that never ends.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Ftp, PASSWORD, Site, USER};

/// Far more than either server needs with `-I 1`; a session still there after this has
/// no end.
const NO_LATER_THAN: Duration = Duration::from_secs(180);

/// A sparse file far larger than every socket buffer between server and client.
fn big_file(site: &Site) {
    let path = site.home.join("big.bin");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    if common::is_root() {
        nix::unistd::chown(
            &path,
            Some(nix::unistd::Uid::from_raw(site.uid)),
            Some(nix::unistd::Gid::from_raw(site.gid)),
        )
        .unwrap();
    }
}

/// What the client saw: the last reply before the end, and when the session ended.
#[derive(Debug)]
struct Ending {
    last: String,
    after: Duration,
}

/// Reads replies until the server closes the control connection.
fn until_closed(ftp: &mut Ftp, started: Instant) -> Ending {
    ftp.set_timeout(NO_LATER_THAN);
    let mut last = String::new();
    loop {
        let reply = ftp.reply();
        if reply.code == 0 {
            return Ending {
                last,
                after: started.elapsed(),
            };
        }
        last = reply.text();
        assert!(started.elapsed() < NO_LATER_THAN, "the session never ended");
    }
}

/// RETR of a big file whose data connection the client opens and never reads.
fn stalled_download(binary: &Path) -> Ending {
    let site = Site::new();
    big_file(&site);
    let server = site.start(binary, &["-I", "1"]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    let data = TcpStream::connect(address).unwrap();
    let opened = ftp.cmd("RETR big.bin");
    assert_eq!(opened.code, 150, "{opened:?}");
    let started = Instant::now();
    let ending = until_closed(&mut ftp, started);
    drop(data);
    // The server itself goes on.
    let mut again = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(again.cmd("NOOP").code, 200);
    ending
}

/// The server's session processes (its children).
fn sessions(server_pid: u32) -> Vec<u32> {
    pureftpd_tests::session_processes(server_pid)
}

/// A client that sends `STAT *` (a listing on the control connection) until the
/// server's replies fill every buffer, and never reads: the session must end by itself.
fn stalled_control(binary: &Path) -> Ending {
    let site = Site::new();
    for i in 0..300 {
        site.put(&format!("file-with-a-long-name-{i:04}.txt"), b"x");
    }
    let server = site.start(binary, &["-I", "1"]);
    let mut raw = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    raw.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let login = format!("USER {USER}\r\nPASS {PASSWORD}\r\n");
    raw.write_all(login.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sessions(server.pid()).len(), 1);
    // Until the server stops taking commands (its replies fill both socket buffers).
    for _ in 0..200_000 {
        if raw.write_all(b"STAT *\r\n").is_err() {
            break;
        }
    }
    let started = Instant::now();
    while !sessions(server.pid()).is_empty() {
        if started.elapsed() > NO_LATER_THAN {
            // Never, as far as the test can wait (the process is stopped with its server).
            return Ending {
                last: "still there".to_string(),
                after: started.elapsed(),
            };
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let ending = Ending {
        last: String::new(),
        after: started.elapsed(),
    };
    drop(raw);
    let mut again = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(again.cmd("NOOP").code, 200);
    ending
}

/// Runs `scenario` on every server at once; a server whose session never ended is a
/// panic naming it.
fn on_every_server(scenario: fn(&Path) -> Ending) -> Vec<Ending> {
    let runs: Vec<_> = common::ours_and_debians()
        .into_iter()
        .map(|binary| {
            (
                binary.clone(),
                std::thread::spawn(move || scenario(&binary)),
            )
        })
        .collect();
    runs.into_iter()
        .map(|(binary, run)| {
            run.join()
                .unwrap_or_else(|_| panic!("{}: see the panic above", binary.display()))
        })
        .collect()
}

#[test]
fn a_download_nobody_reads_ends_the_session() {
    let endings = on_every_server(stalled_download);
    eprintln!("ours, Debian's: {endings:?}");
    let ours = &endings[0];
    assert_eq!(ours.last, "421 Timeout", "{ours:?}");
    assert!(ours.after >= Duration::from_secs(50), "{ours:?}");
    if let Some(debian) = endings.get(1) {
        assert!(debian.after < NO_LATER_THAN, "{debian:?}");
    }
}

/// Debian's 1.0.50 waits for ever here (seen: its session still there after 180 s);
/// ours gives up after the idle time, as when nothing is read from a data connection.
#[test]
fn replies_nobody_reads_end_the_session() {
    let endings = on_every_server(stalled_control);
    eprintln!("ours, Debian's: {endings:?}");
    let ours = &endings[0];
    assert!(
        ours.last.is_empty() && ours.after < NO_LATER_THAN,
        "{ours:?}"
    );
    assert!(ours.after >= Duration::from_secs(50), "{ours:?}");
}

/// Python's ftplib.abort() sends ABOR as urgent data and keeps the data connection
/// open while it waits for the replies. Ours answers at once, whether the download is
/// throttled (`-t`: it used to wait 2 s for the client to close first) or stalled by a
/// client that does not read (it used to sit in sendfile until the client read).
/// Debian's 1.0.50 answers neither: ftplib's urgent byte is the final LF, which its
/// parser then never sees (tried: no reply within 30 s), so there is nothing to compare.
#[test]
fn abor_during_a_download_is_answered_at_once() {
    let script = |port: u16| {
        format!(
            r#"
import ftplib, time
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", {port}, timeout=30)
ftp.login("{USER}", "{PASSWORD}")
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("RETR big.bin")
conn.recv(65536)
started = time.monotonic()
reply = ftp.abort()
took = time.monotonic() - started
print(reply, "%.2f" % took)
print(ftp.getmultiline())
conn.close()
print(ftp.voidcmd("NOOP"))
"#
        )
    };
    for flags in [&["-t", "200"][..], &[][..]] {
        let site = Site::new();
        big_file(&site);
        let server = site.ours(flags);
        let out = std::process::Command::new("timeout")
            .args(["60", "python3", "-c", &script(server.port)])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{flags:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines = stdout.lines();
        let first = lines.next().unwrap();
        assert!(first.starts_with("426 ABORT "), "{flags:?}: {stdout}");
        let took: f64 = first.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(
            lines.next().unwrap().starts_with("226-Transfer aborted"),
            "{stdout}"
        );
        assert!(stdout.contains("200 Zzz..."), "{stdout}");
        // Not a speed test: the 2 s wait (or the endless one) is what must be gone.
        assert!(took < 1.5, "{flags:?}: ABOR took {took} s");
    }
}

/// A client that vanishes (reset) in the middle of a download and of an upload: the
/// session ends at once, and other sessions are untouched.
#[test]
fn a_client_that_vanishes_mid_transfer() {
    let site = Site::new();
    big_file(&site);
    let server = site.ours(&[]);
    let mut bystander = Ftp::login(server.port, USER, PASSWORD);
    bystander.cmd("TYPE I");
    for command in ["RETR big.bin", "STOR vanishing.bin"] {
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("TYPE I");
        let address = ftp.pasv();
        let mut data = TcpStream::connect(address).unwrap();
        assert_eq!(ftp.cmd(command).code, 150);
        if command.starts_with("STOR") {
            data.write_all(&[1u8; 100_000]).unwrap();
        } else {
            let mut some = [0u8; 10_000];
            data.read_exact(&mut some).unwrap();
        }
        // A reset on both connections: SO_LINGER 0, then close.
        for socket in [&data, ftp.stream()] {
            socket2::SockRef::from(socket)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
        drop(data);
        drop(ftp);
    }
    assert_eq!(bystander.cmd("NOOP").code, 200);
    let (_, data, done) = bystander.download("RETR a.txt");
    assert_eq!(data, b"hello\nworld\n");
    assert_eq!(done.unwrap().code, 226);
    // Only the bystander's session is left (the others ended, promptly).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sessions = std::fs::read_dir(site.scoreboard()).map_or(0, |dir| {
            dir.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("session-"))
                .count()
        });
        if sessions == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{sessions} sessions left");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The same under `PROT P`: the client finishes the data connection's TLS handshake,
/// then reads nothing. The session ends after the idle time, as in clear text.
#[test]
fn a_tls_download_nobody_reads_ends_the_session() {
    let site = Site::new();
    big_file(&site);
    let Some(cert) = common::certificate(site.dir.path(), "server") else {
        return;
    };
    let cert = cert.display().to_string();
    let server = site.ours(&["-I", "1", "-Y", "1", "-2", &cert]);
    let script = format!(
        r#"
import ftplib, ssl, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=ctx)
ftp.connect("127.0.0.1", {port}, timeout=200)
ftp.login("{USER}", "{PASSWORD}")
ftp.prot_p()
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("RETR big.bin")
started = time.monotonic()
try:
    reply = ftp.getmultiline()
except EOFError:
    reply = "<closed>"
print(reply, "%.0f" % (time.monotonic() - started))
"#,
        port = server.port
    );
    let out = std::process::Command::new("timeout")
        .args(["200", "python3", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (reply, seconds) = stdout.trim().rsplit_once(' ').unwrap();
    let seconds: u64 = seconds.parse().unwrap();
    assert_eq!(reply, "421 Timeout", "{stdout}");
    assert!((50..NO_LATER_THAN.as_secs()).contains(&seconds), "{stdout}");
}
