//! TLS sessions resumed across control connections: every session process of one
//! server opens the tickets any other one sealed (the master's shared keys,
//! `ftpd/src/tls_tickets.rs`), with TLS 1.3 and TLS 1.2, also after a reload; another
//! server's tickets never resume. (Data connections resuming their control
//! connection's session: `tls.rs`.)

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Server, Site};

fn tls_server(site: &Site) -> Option<Server> {
    let cert = common::certificate(site.dir.path(), "server")?;
    Some(site.ours(&["-Y", "1", "-2", cert.to_str().unwrap()]))
}

/// One control connection with openssl: AUTH TLS, QUIT, and the server's close (so that
/// TLS 1.3 tickets, sent after the handshake, are read). `session`: `-sess_out` on the
/// first connection, `-sess_in` afterwards. Returns openssl's `New, ...`/`Reused, ...`
/// line.
fn connect(port: u16, version: &str, session: &Path, first: bool) -> String {
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            version,
            "-ign_eof",
            "-starttls",
            "ftp",
            "-connect",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .arg(if first { "-sess_out" } else { "-sess_in" })
        .arg(session)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(b"QUIT\r\n");
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.starts_with("New, ") || l.starts_with("Reused, "))
        .unwrap_or_else(|| panic!("no handshake: {text}"))
        .to_string()
}

#[test]
fn a_client_that_reconnects_resumes_its_session_in_another_process() {
    let site = Site::new();
    let Some(server) = tls_server(&site) else {
        return;
    };
    for version in ["-tls1_3", "-tls1_2"] {
        let session = site.dir.path().join(format!("session{version}"));
        let first = connect(server.port, version, &session, true);
        assert!(first.starts_with("New, "), "{version}: {first}");
        // Each connection is a new session process, forked after the first one sealed
        // its ticket.
        for round in 0..3 {
            let again = connect(server.port, version, &session, false);
            assert!(
                again.starts_with("Reused, "),
                "{version}, reconnection {round}: {again}"
            );
        }
    }
}

#[test]
fn tickets_still_resume_after_a_reload_and_never_on_another_server() {
    let site = Site::new();
    let Some(server) = tls_server(&site) else {
        return;
    };
    let session = site.dir.path().join("session");
    assert!(connect(server.port, "-tls1_3", &session, true).starts_with("New, "));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let after = connect(server.port, "-tls1_3", &session, false);
    assert!(after.starts_with("Reused, "), "after SIGHUP: {after}");
    // Another server has keys of its own.
    let other_site = Site::new();
    let Some(other) = tls_server(&other_site) else {
        return;
    };
    let elsewhere = connect(other.port, "-tls1_3", &session, false);
    assert!(elsewhere.starts_with("New, "), "{elsewhere}");
}
