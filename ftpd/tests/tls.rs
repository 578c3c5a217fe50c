//! FTPS: AUTH TLS on the control connection, PROT P on data connections, the `-Y`
//! levels, certificates, and hostile handshakes, with curl, lftp, Python and openssl.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Ftp, PASSWORD, Server, Site, USER};

/// A site with a certificate, and our server with `-Y level` and `extra`.
fn tls_site(level: &str, extra: &[&str]) -> Option<(Site, PathBuf, Server)> {
    let site = Site::new();
    let cert = common::certificate(site.dir.path(), "server")?;
    let cert_arg = cert.to_str().unwrap().to_string();
    let mut args = vec!["-Y", level, "-2", &cert_arg];
    args.extend_from_slice(extra);
    let server = site.ours(&args);
    Some((site, cert, server))
}

fn tool(name: &str) -> bool {
    let ok = Command::new(name).arg("--version").output().is_ok()
        || Command::new(name).arg("version").output().is_ok();
    if !ok {
        eprintln!("SKIP: {name} is not installed");
    }
    ok
}

#[test]
fn curl_over_ftps() {
    let Some((site, _, server)) = tls_site("1", &[]) else {
        return;
    };
    if !tool("curl") {
        return;
    }
    let user = format!("{USER}:{PASSWORD}");
    let url = |p: &str| format!("ftp://127.0.0.1:{}/{p}", server.port);
    let get = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "--ssl-reqd",
            "-k",
            "-u",
            &user,
            &url("a.txt"),
        ])
        .output()
        .unwrap();
    assert!(
        get.status.success(),
        "{}",
        String::from_utf8_lossy(&get.stderr)
    );
    assert_eq!(get.stdout, b"hello\nworld\n");
    let payload = site.dir.path().join("payload");
    std::fs::write(&payload, vec![3u8; 300_000]).unwrap();
    // Several times: curl closes an upload's connection without reading what the server
    // sent on it (see an_upload_closed_without_reading_is_stored_whole).
    for round in 0..8 {
        let name = format!("sub/up{round}.bin");
        let put = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "30",
                "--ssl-reqd",
                "-k",
                "-u",
                &user,
                "-T",
                payload.to_str().unwrap(),
                &url(&name),
            ])
            .output()
            .unwrap();
        assert!(
            put.status.success(),
            "{}",
            String::from_utf8_lossy(&put.stderr)
        );
        let stored = site.read(&name);
        assert!(
            stored == vec![3u8; 300_000],
            "upload {round}: {} of 300000 bytes stored",
            stored.len()
        );
    }
    // CCC: logs in under TLS, then goes on in clear.
    let ccc = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "--ssl-reqd",
            "--ftp-ssl-ccc",
            "-k",
            "-u",
            &user,
            &url("a.txt"),
        ])
        .output()
        .unwrap();
    assert!(
        ccc.status.success(),
        "{}",
        String::from_utf8_lossy(&ccc.stderr)
    );
    assert_eq!(ccc.stdout, b"hello\nworld\n");
}

#[test]
fn lftp_forces_tls_on_both_channels() {
    let Some((site, _, server)) = tls_site("3", &[]) else {
        return;
    };
    if !tool("lftp") {
        return;
    }
    let script = format!(
        "set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set net:max-retries 1; \
         open -u {USER},'{PASSWORD}' -p {} 127.0.0.1; cat a.txt; put {} -o lftp.txt; cls -1; bye",
        server.port,
        site.home.join("sub/inner.txt").display()
    );
    let out = Command::new("lftp").args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("hello\nworld\n") && stdout.contains("lftp.txt"),
        "{stdout}"
    );
    assert_eq!(site.read("lftp.txt"), b"inner\n");
}

/// A Python FTPS client that also checks, per TLS version, that each data connection
/// resumed the control connection's session.
const PYTHON_CLIENT: &str = r#"
import ftplib, io, socket, ssl, sys
port, user, password, version = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)

class Resuming(ftplib.FTP_TLS):
    reused = []
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
            Resuming.reused.append(conn.session_reused)
        return conn, size

ftp = Resuming(context=ctx, encoding="latin-1")
ftp.connect("127.0.0.1", port, timeout=30)
print(ftp.auth())
print(ftp.login(user, password))
print(ftp.prot_p())
data = io.BytesIO()
ftp.retrbinary("RETR a.txt", data.write)
assert data.getvalue() == b"hello\nworld\n", data.getvalue()
ftp.storbinary("STOR py-" + version + ".bin", io.BytesIO(b"x" * 100000))
print(sorted(ftp.nlst())[:2])
print(ftp.prot_c())
data = io.BytesIO()
ftp.retrbinary("RETR a.txt", data.write)
assert data.getvalue() == b"hello\nworld\n"
print("reused", Resuming.reused)
print(ftp.quit())
"#;

#[test]
fn python_ftp_tls_and_data_sessions_resume_the_control_session() {
    let Some((site, _, server)) = tls_site("1", &[]) else {
        return;
    };
    for version in ["TLSv1_2", "TLSv1_3"] {
        let out = Command::new("python3")
            .args([
                "-c",
                PYTHON_CLIENT,
                &server.port.to_string(),
                USER,
                PASSWORD,
                version,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{version}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("234 AUTH TLS OK.\n230 OK. Current directory is /\n200 Data protection level set to \"private\"\n"), "{stdout}");
        assert!(
            stdout.contains("reused [True, True, True]"),
            "{version}: data connections must resume the session: {stdout}"
        );
        assert_eq!(site.read(&format!("py-{version}.bin")), vec![b'x'; 100_000]);
    }
}

/// `openssl s_client -starttls ftp` with extra arguments: (handshake succeeded, output).
fn s_client(port: u16, args: &[&str]) -> (bool, String) {
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-starttls",
            "ftp",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"QUIT\r\n");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = text.contains("Cipher is ") && !text.contains("Cipher is (NONE)");
    (ok, text)
}

#[test]
fn only_tls_12_and_13_with_forward_secret_aead_ciphers() {
    let Some((_site, _, server)) = tls_site("1", &[]) else {
        return;
    };
    let (ok, text) = s_client(server.port, &["-tls1_3"]);
    assert!(ok && text.contains("TLSv1.3"), "{text}");
    let (ok, text) = s_client(server.port, &["-tls1_2"]);
    assert!(
        ok && text.contains("ECDHE") && (text.contains("GCM") || text.contains("CHACHA20")),
        "{text}"
    );
    for old in ["-tls1_1", "-tls1"] {
        let (ok, text) = s_client(server.port, &[old, "-cipher", "DEFAULT@SECLEVEL=0"]);
        assert!(!ok, "{old} was accepted: {text}");
    }
    let (ok, text) = s_client(server.port, &["-tls1_2", "-cipher", "AES128-SHA"]);
    assert!(!ok, "a CBC, non-forward-secret suite was accepted: {text}");
    // The session ended cleanly for those clients; others are served.
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("NOOP").code, 200);
}

#[test]
fn tls_levels_and_commands() {
    let Some((_site, _, server)) = tls_site("2", &[]) else {
        return;
    };
    let (mut ftp, _) = Ftp::connect(server.port);
    assert!(ftp.cmd("FEAT").has(" AUTH TLS"));
    assert_eq!(ftp.cmd("PBSZ 0").text(), "503 PBSZ=0");
    assert_eq!(
        ftp.cmd("PROT P").text(),
        "503 PROT must be preceded by a successful PBSZ command"
    );
    assert_eq!(ftp.cmd("CCC").text(), "534 CCC not allowed at this point");
    assert_eq!(
        ftp.cmd("AUTH KERBEROS").text(),
        "500 This security scheme is not implemented"
    );
    assert_eq!(
        ftp.cmd(&format!("USER {USER}")).text(),
        "421-Sorry, cleartext sessions and weak ciphers are not accepted on this server.\n421 Please reconnect using TLS security mechanisms."
    );
    let off = Site::new();
    let plain = off.ours(&[]);
    let (mut ftp, _) = Ftp::connect(plain.port);
    assert_eq!(
        ftp.cmd("AUTH TLS").text(),
        "500 This security scheme is not implemented",
        "-Y 0"
    );
    // -Y 3 refuses data connections without PROT P (Python: a clear data channel).
    let Some((_s3, _, level3)) = tls_site("3", &[]) else {
        return;
    };
    let script = r#"
import ftplib, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=ctx); ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=30)
ftp.login(sys.argv[2], sys.argv[3])
try:
    ftp.retrlines("LIST", print)
except ftplib.error_perm as e:
    print("refused:", e)
def cmd(line):
    try:
        print(ftp.sendcmd(line))
    except ftplib.all_errors as e:
        print(e)
for line in ["PBSZ 0", "PROT S", "PROT X", "PROT C"]:
    cmd(line)
print(ftp.ccc())
cmd("NOOP")
"#;
    let out = Command::new("python3")
        .args(["-c", script, &level3.port.to_string(), USER, PASSWORD])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "refused: 521 Data connection cannot be opened with this PROT setting.\n200 PBSZ=0\n\
         200 Protection level S not understood. Fallback to \"private\"\n534 Fallback to [C]\n\
         200 Data protection level set to \"clear\"\n200 Control connection unencrypted\n200 Zzz...\n"
    );
}

#[test]
fn certificate_problems_are_start_up_errors() {
    let site = Site::new();
    let Some(cert) = common::certificate(site.dir.path(), "one") else {
        return;
    };
    let Some(other) = common::certificate(site.dir.path(), "two") else {
        return;
    };
    let run = |args: &[&str]| {
        Command::new(common::OURS)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let missing = run(&[
        "-Y",
        "1",
        "-2",
        "/nonexistent/cert.pem",
        "-S",
        "127.0.0.1,1",
    ]);
    assert_eq!(missing.status.code(), Some(252));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("Unable to read the certificate file /nonexistent/cert.pem")
    );
    let mismatched = format!(
        "{},{}",
        site.dir.path().join("one.crt").display(),
        site.dir.path().join("two.key").display()
    );
    let out = run(&["-Y", "1", "-2", &mismatched, "-S", "127.0.0.1,1"]);
    assert_eq!(out.status.code(), Some(252));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match the certificate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cbc_only = run(&[
        "-Y",
        "1",
        "-2",
        cert.to_str().unwrap(),
        "-J",
        "AES128-SHA",
        "-S",
        "127.0.0.1,1",
    ]);
    assert_eq!(
        cbc_only.status.code(),
        Some(252),
        "a -J that cannot be honoured is refused"
    );
    drop(other);
}

#[test]
fn sighup_reloads_the_certificate() {
    let Some((site, cert, mut server)) = tls_site("1", &[]) else {
        return;
    };
    let (_, before) = s_client(server.port, &["-showcerts"]);
    assert!(
        before.contains("CN=server") || before.contains("CN = server"),
        "{before}"
    );
    let Some(replacement) = common::certificate(site.dir.path(), "renewed") else {
        return;
    };
    std::fs::copy(&replacement, &cert).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (ok, after) = s_client(server.port, &["-showcerts"]);
    assert!(
        ok && (after.contains("CN=renewed") || after.contains("CN = renewed")),
        "{after}"
    );
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn client_certificates_with_j_c() {
    let site = Site::new();
    let Some(ca) = common::certificate(site.dir.path(), "server") else {
        return;
    };
    let dir = site.dir.path();
    // A client certificate signed by the server's certificate (used as the CA).
    let sh = |cmd: &str| {
        assert!(
            Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(dir)
                .status()
                .unwrap()
                .success(),
            "{cmd}"
        )
    };
    sh(
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=client -keyout client.key -out client.csr 2>/dev/null",
    );
    sh(
        "printf 'extendedKeyUsage=clientAuth\\n' > client.ext && openssl x509 -req -in client.csr -CA server.crt -CAkey server.key -CAcreateserial -days 2 -extfile client.ext -out client.crt 2>/dev/null",
    );
    let server = site.ours(&["-Y", "1", "-2", ca.to_str().unwrap(), "-J", "-C:HIGH"]);
    // TLS 1.2: the certificate is asked for within the handshake, which fails without one.
    let (without, text) = s_client(server.port, &["-tls1_2"]);
    let refused = !without
        || text.contains("alert certificate required")
        || text.contains("SSL alert number");
    assert!(refused, "a client without certificate got in: {text}");
    let crt = dir.join("client.crt");
    let key = dir.join("client.key");
    let (with, text) = s_client(
        server.port,
        &[
            "-tls1_2",
            "-cert",
            crt.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(with && !text.contains("SSL alert number"), "{text}");
}

#[test]
fn hostile_handshakes_end_only_their_session() {
    let Some((_site, _, server)) = tls_site("1", &[]) else {
        return;
    };
    let mut watcher = Ftp::login(server.port, USER, PASSWORD);
    // Garbage instead of a ClientHello.
    let (mut garbage, _) = Ftp::connect(server.port);
    assert_eq!(garbage.cmd("AUTH TLS").code, 234);
    garbage.send_raw(b"GET / HTTP/1.0\r\n\r\nthis is not TLS at all");
    assert!(garbage.closed());
    // A client that leaves right after AUTH TLS.
    let (mut leaver, _) = Ftp::connect(server.port);
    assert_eq!(leaver.cmd("AUTH TLS").code, 234);
    drop(leaver);
    // A handshake that never finishes: the session gives up after the handshake timeout.
    let mut stalled = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let _ = stalled.read(&mut buf);
    stalled.write_all(b"AUTH TLS\r\n").unwrap();
    let _ = stalled.read(&mut buf);
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = stalled.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the stalled handshake was not cut"
    );
    assert_eq!(watcher.cmd("NOOP").code, 200);
}

#[test]
fn implicit_tls_from_the_first_byte() {
    let Some((_site, _, server)) = tls_site("0", &["--implicittls"]) else {
        return;
    };
    let script = r#"
import ftplib, ssl, socket, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
class Implicit(ftplib.FTP_TLS):
    def connect(self, host, port, timeout):
        self.host, self.port = host, port
        self.sock = ctx.wrap_socket(socket.create_connection((host, port), timeout))
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        return ctx.wrap_socket(conn, session=self.sock.session), size
ftp = Implicit(context=ctx)
print(ftp.connect("127.0.0.1", int(sys.argv[1]), 30)[:4])
print(ftp.login(sys.argv[2], sys.argv[3]))
lines = []
ftp.retrbinary("RETR a.txt", lines.append)
print(b"".join(lines))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &server.port.to_string(), USER, PASSWORD])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "220-\n230 OK. Current directory is /\nb'hello\\nworld\\n'\n"
    );
}

/// The FTPS commands in every state, for the comparison with Debian's server: before
/// AUTH, inside TLS, after login, over PROT P and PROT C, after CCC.
const COMPARED_SESSION: &str = r#"
import ftplib, ssl, socket, sys
port, user, password, level = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def cmd(ftp, line):
    try:
        reply = ftp.sendcmd(line)
    except ftplib.all_errors as e:
        reply = str(e)
    print(">", line); print(reply)
def listing(ftp, what):
    lines = []
    try:
        print(ftp.retrlines(what, lines.append)); print(sorted(lines))
    except ftplib.all_errors as e:
        print(e)
clear = ftplib.FTP(encoding="latin-1"); clear.connect("127.0.0.1", port, timeout=30)
for line in ["PBSZ 0", "PROT P", "CCC", "AUTH NONSENSE", "AUTH tls x", "USER " + user]:
    cmd(clear, line)
ftp = ftplib.FTP_TLS(context=ctx, encoding="latin-1"); ftp.connect("127.0.0.1", port, timeout=30)
print(ftp.auth())
for line in ["AUTH TLS", "CCC", "PBSZ 10", "PBSZ x", "PBSZ 0", "PROT Q", "PROT E", "PROT S",
             "PROT C", "PROT P", "PROT P x", "PROT"]:
    cmd(ftp, line)
print(ftp.login(user, password))
listing(ftp, "NLST")
print(ftp.prot_p())
listing(ftp, "NLST")
print(ftp.prot_c())
listing(ftp, "LIST a.txt")
cmd(ftp, "PBSZ 0")
print(ftp.ccc())
for line in ["NOOP", "AUTH TLS", "PROT P"]:
    cmd(ftp, line)
listing(ftp, "NLST")
"#;

#[test]
fn ftps_replies_match_debian() {
    let Some(theirs) = common::oracle("pure-ftpd") else {
        return;
    };
    if !common::require_root("running Debian's pure-ftpd (it switches to the account's uid)") {
        return;
    }
    for level in ["1", "2", "3"] {
        let mut transcripts = Vec::new();
        for binary in [theirs.as_path(), std::path::Path::new(common::OURS)] {
            let site = Site::new();
            let Some(cert) = common::certificate(site.dir.path(), "server") else {
                return;
            };
            let server = site.start(binary, &["-Y", level, "-2", cert.to_str().unwrap()]);
            let out = Command::new("python3")
                .args([
                    "-c",
                    COMPARED_SESSION,
                    &server.port.to_string(),
                    USER,
                    PASSWORD,
                    level,
                ])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                out.status.success(),
                "{}: {text}{}",
                binary.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            // The listing's date column is the tree's, which differs between the two sites.
            let masked: Vec<String> = text
                .lines()
                .map(|l| match l.find("a.txt") {
                    Some(end) if l.starts_with("['-") => l[end..].to_string(),
                    _ => l.to_string(),
                })
                .collect();
            transcripts.push(masked);
        }
        assert_eq!(
            transcripts[0], transcripts[1],
            "-Y {level}: Debian's replies (left) differ from ours (right)"
        );
        assert!(transcripts[1].len() > 40, "{:?}", transcripts[1]);
    }
}

#[test]
fn renegotiation_is_refused_and_others_are_served() {
    let Some((_site, _, server)) = tls_site("1", &[]) else {
        return;
    };
    let mut watcher = Ftp::login(server.port, USER, PASSWORD);
    // Interactive s_client renegotiates on a line "R" (TLS 1.2 only: 1.3 has no renegotiation).
    let mut child = Command::new("openssl")
        .args(["s_client", "-starttls", "ftp", "-tls1_2", "-connect"])
        .arg(format!("127.0.0.1:{}", server.port))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in ["NOOP\r\n", "R\n", "NOOP\r\n"] {
        std::thread::sleep(Duration::from_millis(400));
        let _ = stdin.write_all(line.as_bytes());
    }
    std::thread::sleep(Duration::from_millis(400));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("200 Zzz..."), "{text}");
    assert!(text.contains("RENEGOTIATING"), "{text}");
    assert!(
        text.contains("no renegotiation"),
        "the renegotiation was not refused: {text}"
    );
    assert_eq!(text.matches("200 Zzz...").count(), 1, "{text}");
    assert_eq!(watcher.cmd("NOOP").code, 200);
}

#[test]
fn a_clear_data_connection_under_prot_p_is_refused() {
    let Some((_site, _, server)) = tls_site("1", &[]) else {
        return;
    };
    let mut watcher = Ftp::login(server.port, USER, PASSWORD);
    let script = r#"
import ftplib, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
class ClearData(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        # Skips FTP_TLS's wrapping: the data connection stays in the clear.
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        conn.sendall(b"plain bytes, not a ClientHello\r\n")
        return conn, size
ftp = ClearData(context=ctx); ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=30)
ftp.login(sys.argv[2], sys.argv[3]); ftp.prot_p()
try:
    ftp.retrbinary("RETR a.txt", lambda b: print("received", b))
except ftplib.all_errors as e:
    print("refused:", e)
"#;
    let out = Command::new("python3")
        .args(["-c", script, &server.port.to_string(), USER, PASSWORD])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The client may read the server's TLS alert, never the file.
    assert!(
        !stdout.contains("hello"),
        "the file went out in the clear: {stdout}"
    );
    assert!(
        stdout.contains("refused: 421 TLS handshake failed on the data connection"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(watcher.cmd("NOOP").code, 200);
}

#[test]
fn the_scoreboard_shows_which_sessions_are_encrypted() {
    let Some((site, _, server)) = tls_site("1", &[]) else {
        return;
    };
    // The client reads its own session's scoreboard record at each step.
    let script = r#"
import ftplib, os, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
board = sys.argv[4]
def encrypted(account):
    for name in os.listdir(board):
        text = open(os.path.join(board, name), "rb").read().rstrip(b"\0").decode()
        if "account=" + account + "\n" in text:
            return [l for l in text.splitlines() if l.startswith("encrypted=")]
clear = ftplib.FTP(); clear.connect("127.0.0.1", int(sys.argv[1]), timeout=30)
ftp = ftplib.FTP_TLS(context=ctx); ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=30)
ftp.login(sys.argv[2], sys.argv[3])
print("tls", encrypted(sys.argv[2]))
print("clear", encrypted("?"))
ftp.ccc()
ftp.voidcmd("NOOP")
print("after ccc", encrypted(sys.argv[2]))
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            &server.port.to_string(),
            USER,
            PASSWORD,
            site.scoreboard().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "tls ['encrypted=1']\nclear ['encrypted=0']\nafter ccc ['encrypted=0']\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tls_sessions_are_logged_as_debian_logs_them() {
    let Some(theirs) = common::oracle("pure-ftpd") else {
        return;
    };
    let Some(syslog) = common::syslog::Syslog::listen() else {
        return;
    };
    let script = r#"
import ftplib, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
    ctx.maximum_version = version
    ftp = ftplib.FTP_TLS(context=ctx); ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=30)
    ftp.login(sys.argv[2], sys.argv[3]); ftp.quit()
"#;
    let mut logs = Vec::new();
    for binary in [theirs.as_path(), std::path::Path::new(common::OURS)] {
        let site = Site::new();
        let Some(cert) = common::certificate(site.dir.path(), "server") else {
            return;
        };
        // local4: 20 * 8 + 6 (INFO) = <166>.
        let args = ["-Y", "1", "-2", cert.to_str().unwrap(), "-f", "local4"];
        let server = site.start(binary, &args);
        syslog.clear();
        let out = Command::new("python3")
            .args(["-c", script, &server.port.to_string(), USER, PASSWORD])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = |l: &String| l.starts_with("<16");
        let lines = syslog.until(|ls| {
            ls.iter()
                .filter(|l| ours(l) && l.ends_with("[INFO] Logout."))
                .count()
                == 2
        });
        let lines: Vec<String> = lines
            .iter()
            .filter(|l| ours(l))
            // "<166>Nov 22 08:51:58 pure-ftpd: ...": the priority, then what follows the time.
            .map(|l| format!("{}{}", &l[..5], &l[20..]))
            .collect();
        logs.push(lines);
    }
    assert_eq!(logs[0], logs[1], "Debian's lines (left), ours (right)");
    assert!(
        logs[1].contains(
            &"<166> pure-ftpd: (?@127.0.0.1) [INFO] TLS: Enabled TLSv1.3 with TLS_AES_256_GCM_SHA384, 256 secret bits cipher"
                .to_string()
        ),
        "{:?}",
        logs[1]
    );
}

/// Runs Python `body` after an FTP_TLS login with `PROT P` and `TYPE I` (the session is
/// `ftp`); returns what it printed, after checking it succeeded.
fn logged_in_ftps_script(port: u16, body: &str) -> String {
    let script = format!(
        "{}{body}",
        r#"
import ftplib, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=ctx); ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=30)
ftp.login(sys.argv[2], sys.argv[3]); ftp.prot_p(); ftp.voidcmd("TYPE I")
"#
    );
    let out = Command::new("python3")
        .args(["-c", &script, &port.to_string(), USER, PASSWORD])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn an_upload_closed_without_reading_is_stored_whole() {
    let Some((site, _, server)) = tls_site("1", &[]) else {
        return;
    };
    // As curl does: send everything, then close the socket at once, without close_notify
    // and without reading anything the server sent on that connection. Whatever is unread
    // turns the close into a reset, which drops what the client's kernel has not sent yet.
    let script = r#"
for round in range(3):
    conn = ftp.transfercmd("STOR abrupt%d.bin" % round)
    conn.sendall(b"u" * (8 << 20))
    conn.close()
    print(ftp.voidresp())
"#;
    let stdout = logged_in_ftps_script(server.port, script);
    for round in 0..3 {
        assert_eq!(
            site.read(&format!("abrupt{round}.bin")).len(),
            8 << 20,
            "upload {round} was cut: {stdout}"
        );
    }
}

#[test]
fn a_forged_record_in_an_upload_fails_that_transfer_only() {
    let Some((site, _, server)) = tls_site("1", &[]) else {
        return;
    };
    // After the data connection's handshake and some genuine data, bytes written under
    // TLS's feet: a record the client's keys did not protect.
    let script = r#"
import os, time
conn = ftp.transfercmd("STOR forged.bin")
conn.sendall(b"g" * 100000)
os.write(conn.fileno(), bytes([23, 3, 3, 0, 64]) + b"\x55" * 64)
time.sleep(0.5)
try:
    print(ftp.getresp())
except ftplib.Error as e:
    print(e)
conn.close()
# The session goes on: a clean upload on a new data connection.
ftp.storbinary("STOR after.bin", __import__("io").BytesIO(b"a" * 70000))
print(ftp.voidcmd("NOOP"))
"#;
    let stdout = logged_in_ftps_script(server.port, script);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("451"), "{stdout}");
    assert_eq!(lines.last(), Some(&"200 Zzz..."), "{stdout}");
    assert_eq!(site.read("after.bin").len(), 70000);
    // Nothing of the forged record reached the file.
    assert!(site.read("forged.bin").iter().all(|&b| b == b'g'));
}
