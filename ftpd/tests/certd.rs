//! `-3 /socket` with pure-certd: the certificate presented for a TLS server name, per
//! the handler's action; compatibility both ways with Debian's pure-certd and
//! pure-ftpd; certificates read once for all sessions.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::bridge::{Daemon, our_certd};
use common::{PASSWORD, Server, Site, USER};

/// A site with a default certificate (CN=server) and another (CN=other), and a
/// handler answering per server name; it records each name asked in `asked.txt`.
struct Certs {
    site: Site,
    default: PathBuf,
    other: PathBuf,
}

impl Certs {
    fn new() -> Option<Self> {
        let site = Site::new();
        let default = common::certificate(site.dir.path(), "server")?;
        let other = common::certificate(site.dir.path(), "other")?;
        Some(Self {
            site,
            default,
            other,
        })
    }

    fn handler(&self) -> String {
        let other = self.other.display();
        format!(
            r#"echo "$CERTD_SNI_NAME" >> "$(dirname "$0")/asked.txt"
case "$CERTD_SNI_NAME" in
  strict.example) printf 'action:strict\ncert_file:{other}\nend\n' ;;
  fallback.example) printf 'action:fallback\ncert_file:/nonexistent.pem\nend\n' ;;
  fallback-ok.example) printf 'action:fallback\ncert_file:{other}\nkey_file:{other}\nend\n' ;;
  deny.example) printf 'action:deny\nend\n' ;;
  broken.example) printf 'action:strict\ncert_file:/nonexistent.pem\nend\n' ;;
  invalid.example) printf 'action:maybe\nend\n' ;;
  noend.example) printf 'action:default\n' ;;
  *) printf 'action:default\nend\n' ;;
esac"#
        )
    }

    fn server(&self, binary: &Path, certd: &Daemon, extra: &[&str]) -> Server {
        let default = self.default.to_str().unwrap().to_string();
        let socket = certd.socket.to_str().unwrap().to_string();
        let mut args = vec!["-Y", "1", "-2", &default, "-3", &socket];
        args.extend_from_slice(extra);
        self.site.start(binary, &args)
    }
}

/// The CN of the certificate presented for `name` (`None`: no SNI), or `None` when
/// the handshake failed.
fn presented(port: u16, name: Option<&str>) -> Option<String> {
    let mut command = Command::new("openssl");
    command.args([
        "s_client",
        "-starttls",
        "ftp",
        "-connect",
        &format!("127.0.0.1:{port}"),
    ]);
    match name {
        Some(name) => command.args(["-servername", name]),
        None => command.arg("-noservername"),
    };
    let out = command
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains("Cipher is ") || text.contains("Cipher is (NONE)") {
        return None;
    }
    text.lines()
        .find_map(|l| {
            l.strip_prefix("subject=CN = ")
                .or(l.strip_prefix("subject=CN="))
        })
        .map(str::to_string)
}

fn asked(certd: &Daemon) -> String {
    std::fs::read_to_string(certd.dir.path().join("asked.txt")).unwrap_or_default()
}

#[test]
fn the_handlers_action_chooses_the_certificate() {
    let Some(certs) = Certs::new() else { return };
    let certd = Daemon::start(&our_certd(), &certs.handler(), &[]);
    let server = certs.server(Path::new(common::OURS), &certd, &[]);
    let cn = |name| presented(server.port, name);
    assert_eq!(cn(Some("strict.example")).as_deref(), Some("other"));
    assert_eq!(cn(Some("fallback-ok.example")).as_deref(), Some("other"));
    assert_eq!(cn(Some("fallback.example")).as_deref(), Some("server"));
    assert_eq!(cn(Some("anything.example")).as_deref(), Some("server"));
    for refused in [
        "deny.example",
        "broken.example",
        "invalid.example",
        "noend.example",
    ] {
        assert_eq!(cn(Some(refused)), None, "{refused}");
    }
    // No SNI: the default, without asking. A name that is not a host name never
    // reaches the script either: rustls refuses the ClientHello.
    let before = asked(&certd);
    assert_eq!(cn(None).as_deref(), Some("server"));
    assert_eq!(cn(Some("bad!name")), None);
    assert_eq!(asked(&certd), before);
    assert!(before.contains("strict.example\n"), "{before}");
    // The server serves on.
    let mut ftp = common::Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("NOOP").code, 200);
}

#[test]
fn the_chosen_certificate_serves_the_whole_session() {
    let Some(certs) = Certs::new() else { return };
    let certd = Daemon::start(&our_certd(), &certs.handler(), &[]);
    let server = certs.server(Path::new(common::OURS), &certd, &[]);
    certs.site.put("listed-file.txt", b"x");
    let host = format!("strict.example:{}:127.0.0.1", server.port);
    let out = Command::new("curl")
        .args(["-sS", "-v", "-k", "--ssl-reqd", "--resolve", &host, "-u"])
        .arg(format!("{USER}:{PASSWORD}"))
        .arg(format!("ftp://strict.example:{}/", server.port))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("CN=other"), "{stderr}");
    // The listing came over a PROT P data connection under the same configuration.
    assert!(String::from_utf8_lossy(&out.stdout).contains("listed-file.txt"));
}

#[test]
fn a_replaced_certificate_file_is_read_again() {
    let Some(certs) = Certs::new() else { return };
    let certd = Daemon::start(&our_certd(), &certs.handler(), &[]);
    let server = certs.server(Path::new(common::OURS), &certd, &[]);
    assert_eq!(
        presented(server.port, Some("strict.example")).as_deref(),
        Some("other")
    );
    let fresh = common::certificate(certs.site.dir.path(), "renewed").unwrap();
    std::fs::rename(&fresh, &certs.other).unwrap();
    assert_eq!(
        presented(server.port, Some("strict.example")).as_deref(),
        Some("renewed")
    );
}

#[test]
fn certificates_are_read_once_for_all_sessions() {
    let Some(certs) = Certs::new() else { return };
    let Some(syslog) = common::syslog::Syslog::listen() else {
        return;
    };
    let certd = Daemon::start(&our_certd(), &certs.handler(), &[]);
    let server = certs.server(Path::new(common::OURS), &certd, &["-f", "local5"]);
    syslog.clear();
    for round in 0..3 {
        let started = std::time::Instant::now();
        let cn = presented(server.port, Some("strict.example"));
        // It failed once, on the first run on a fresh machine, after about 9 s (the
        // time a session spends retrying an unreachable handler). The likely cause,
        // since mended in the harness: the kernel gave a parallel test's server the
        // same port, this server could not listen, and the test talked to the other
        // one, whose pure-certd went away with its test. Should it ever happen again,
        // say everything that could tell why.
        assert_eq!(
            cn.as_deref(),
            Some("other"),
            "round {round} after {:?}; handler asked for: {:?}; pure-certd: {:?}; \
             pure-ftpd: {:?}; syslog: {:#?}",
            started.elapsed(),
            asked(&certd),
            certd.stderr(),
            server.stderr(),
            syslog.until(|_| true)
        );
    }
    let notes = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.starts_with("<175>") && l.contains("Certificate for [strict.example]"))
            .map(|l| l.rsplit_once('(').unwrap().1.to_string())
            .collect()
    };
    let lines = syslog.until(|lines| notes(lines).len() == 3);
    // The first session read the files; the master loaded them after its report, and
    // the sessions forked since inherited them.
    assert_eq!(
        notes(&lines),
        ["read now)", "already loaded)", "already loaded)"],
        "{lines:#?}"
    );
}

#[test]
fn debians_pure_ftpd_asks_our_pure_certd() {
    let Some(theirs) = common::oracle("pure-ftpd") else {
        return;
    };
    let Some(certs) = Certs::new() else { return };
    let certd = Daemon::start(&our_certd(), &certs.handler(), &[]);
    let server = certs.server(&theirs, &certd, &[]);
    assert_eq!(
        presented(server.port, Some("strict.example")).as_deref(),
        Some("other")
    );
    assert_eq!(
        presented(server.port, Some("anything.example")).as_deref(),
        Some("server")
    );
    assert_eq!(presented(server.port, Some("deny.example")), None);
}

#[test]
fn our_pure_ftpd_asks_debians_pure_certd() {
    let Some(theirs) = common::oracle("pure-certd") else {
        return;
    };
    if !common::require_root("Debian's pure-certd") {
        return;
    }
    let Some(certs) = Certs::new() else { return };
    let certd = Daemon::start(&theirs, &certs.handler(), &[]);
    let server = certs.server(Path::new(common::OURS), &certd, &[]);
    assert_eq!(
        presented(server.port, Some("strict.example")).as_deref(),
        Some("other")
    );
    assert_eq!(presented(server.port, Some("deny.example")), None);
    assert_eq!(
        presented(server.port, Some("fallback.example")).as_deref(),
        Some("server")
    );
}

#[test]
fn pure_certd_command_line_as_debians() {
    let Some(theirs) = common::oracle("pure-certd") else {
        return;
    };
    if !common::require_root("Debian's pure-certd refuses to run otherwise") {
        return;
    }
    for args in [&["-s", "/tmp/x"][..], &["-r", "/bin/true"]] {
        let ours = pureftpd_tests::run(&our_certd(), args, &[], "");
        let debian = pureftpd_tests::run(&theirs, args, &[], "");
        assert_eq!(
            (ours.code, &ours.stderr),
            (debian.code, &debian.stderr),
            "{args:?}"
        );
    }
}
