//! The systemd units in `packaging/systemd/`, checked with systemd's own tools:
//!
//! * `systemd-analyze verify` accepts every unit, without a warning, with its
//!   `/usr/sbin/pure-*` commands pointed at the binaries under test (Debian's
//!   `pure-ftpd-wrapper` is used as is);
//! * `systemd-analyze security` rates each unit "OK" or better (the scores go to stderr
//!   and into the README);
//! * the system-call allow-list of the server's units holds every call a traced server
//!   makes while it serves logins, TLS, listings and transfers both ways (a filter that
//!   was too tight would kill sessions with EPERM only on a real host);
//! * socket activation (`pure-ftpd.socket`, `Accept=yes`, the connection on standard
//!   input) serves two connections through `systemd-socket-activate`, systemd's own
//!   implementation of it.

mod common;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{OURS, PASSWORD, Site, USER, have, have_file};

const UNITS: [&str; 6] = [
    "pure-ftpd.service",
    "pure-ftpd.socket",
    "pure-ftpd@.service",
    "pure-authd.service",
    "pure-certd.service",
    "pure-uploadscript.service",
];

fn units_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/systemd")
}

/// The units copied into `dir`, their `/usr/sbin/pure-*` daemons replaced by ours.
fn units_under_test(dir: &Path) {
    let daemons = [
        ("pure-ftpd", PathBuf::from(OURS)),
        (
            "pure-authd",
            pureftpd_tests::workspace_binary("pure-authd", "pure-authd"),
        ),
        (
            "pure-certd",
            pureftpd_tests::workspace_binary("pure-certd", "pure-certd"),
        ),
        (
            "pure-uploadscript",
            pureftpd_tests::workspace_binary("pure-uploadscript", "pure-uploadscript"),
        ),
    ];
    for unit in UNITS {
        let mut text = std::fs::read_to_string(units_dir().join(unit)).unwrap();
        for (name, path) in &daemons {
            text = text.replace(
                &format!("/usr/sbin/{name} "),
                &format!("{} ", path.display()),
            );
        }
        std::fs::write(dir.join(unit), text).unwrap();
    }
}

/// systemd's tools and Debian's wrapper, if installed (CI requires them).
fn have_systemd_tools() -> bool {
    have("systemd-analyze") && have_file("/usr/sbin/pure-ftpd-wrapper", "pure-ftpd-common")
}

#[test]
fn systemd_analyze_verify_accepts_every_unit_without_a_warning() {
    if !have_systemd_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    units_under_test(dir.path());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .args(UNITS)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

#[test]
fn systemd_analyze_security_rates_every_service_ok() {
    if !have_systemd_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    units_under_test(dir.path());
    for unit in UNITS.iter().filter(|u| u.ends_with(".service")) {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager", unit])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let overall = text
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or_else(|| panic!("{unit}: no rating\n{text}"));
        let score: f64 = overall
            .split(':')
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{overall}"));
        eprintln!("{unit}: exposure {score}");
        assert!(score < 5.0, "{unit} is rated {overall}");
    }
}

/// Every system call in a `systemd-analyze syscall-filter` group, groups expanded.
fn expand(group: &str, seen: &mut BTreeSet<String>, calls: &mut BTreeSet<String>) {
    if !seen.insert(group.to_string()) {
        return;
    }
    let out = Command::new("systemd-analyze")
        .args(["syscall-filter", group])
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
        let word = line.trim();
        if word.is_empty() || word.starts_with('#') {
            continue;
        }
        if word.starts_with('@') {
            expand(word, seen, calls);
        } else {
            calls.insert(word.to_string());
        }
    }
}

/// The allow-list of a unit's `SystemCallFilter=` lines (allow-lists only).
fn allowed_calls(unit: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(units_dir().join(unit)).unwrap();
    let (mut seen, mut calls) = (BTreeSet::new(), BTreeSet::new());
    for line in text.lines() {
        let Some(list) = line.strip_prefix("SystemCallFilter=") else {
            continue;
        };
        assert!(
            !list.starts_with('~'),
            "deny-lists are not checked here: {line}"
        );
        for item in list.split_whitespace() {
            if item.starts_with('@') {
                expand(item, &mut seen, &mut calls);
            } else {
                calls.insert(item.to_string());
            }
        }
    }
    calls
}

/// The names of the system calls in an `strace -f` log.
fn traced_calls(log: &str) -> BTreeSet<String> {
    let mut calls = BTreeSet::new();
    for line in log.lines() {
        // "<pid>  name(args...) = result", or "<pid>  <... name resumed>..."
        let rest = line
            .split_once(char::is_whitespace)
            .map_or(line, |(_, r)| r)
            .trim();
        let rest = rest.strip_prefix("<... ").unwrap_or(rest);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let follows = rest[name.len()..].chars().next();
        if !name.is_empty() && matches!(follows, Some('(' | ' ')) && !rest.starts_with("+++") {
            calls.insert(name);
        }
    }
    calls
}

fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "-u",
            &format!("{USER}:{PASSWORD}"),
        ])
        .args(args)
        .output()
        .unwrap()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_servers_system_call_filter_holds_every_call_it_makes() {
    if !have_systemd_tools() || !have("strace") || !have("curl") {
        return;
    }
    let site = Site::new();
    let Some(certificate) = common::certificate(site.dir.path(), "server") else {
        return;
    };
    site.put("down.bin", &vec![7u8; 300_000]);
    let upload = site.dir.path().join("up.bin");
    std::fs::write(&upload, vec![9u8; 300_000]).unwrap();
    let trace = site.dir.path().join("trace");
    let port = pureftpd_tests::free_port();
    let login = format!("puredb:{}", site.pdb.display());
    let bind = format!("127.0.0.1,{port}");
    let metrics = format!("127.0.0.1:{}", pureftpd_tests::free_port());
    let mut server = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .arg(OURS)
        .args(["-l", &login, "-H", "-4", "-S", &bind, "-Y", "1", "-2"])
        .arg(&certificate)
        .args(["--metrics", &metrics])
        .env("PURE_FTPD_SCOREBOARD", site.scoreboard())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port);
    let base = format!("ftp://127.0.0.1:{port}/");
    let up = upload.display().to_string();
    for tls in [false, true] {
        let mut extra = vec![];
        if tls {
            extra = vec!["--ssl-reqd", "-k"];
        }
        let list = curl(&[extra.as_slice(), &[base.as_str()]].concat());
        assert!(
            String::from_utf8_lossy(&list.stdout).contains("down.bin"),
            "{list:?}"
        );
        let down = curl(
            &[
                extra.as_slice(),
                &[&format!("{base}down.bin"), "-o", "/dev/null"],
            ]
            .concat(),
        );
        assert!(down.status.success(), "{down:?}");
        let put = curl(
            &[
                extra.as_slice(),
                &["-T", &up, &format!("{base}up-{tls}.bin")],
            ]
            .concat(),
        );
        assert!(put.status.success(), "{put:?}");
    }
    // The metrics process's calls too: a scrape.
    let scraped = curl(&[&format!("http://{metrics}/metrics")]);
    assert!(
        String::from_utf8_lossy(&scraped.stdout).contains("pureftpd_logins_total"),
        "{scraped:?}"
    );
    // strace ignores SIGTERM: the server, its child, is the one stopped.
    let tracer = server.id();
    let children = std::fs::read_to_string(format!("/proc/{tracer}/task/{tracer}/children"))
        .unwrap_or_default();
    let traced: i32 = children
        .split_whitespace()
        .next()
        .and_then(|pid| pid.parse().ok())
        .expect("strace runs the server");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(traced),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = server.kill();
            panic!("the traced server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let used = traced_calls(&std::fs::read_to_string(&trace).unwrap());
    assert!(
        used.contains("sendfile") || used.contains("splice"),
        "{used:?}"
    );
    for unit in ["pure-ftpd.service", "pure-ftpd@.service"] {
        let allowed = allowed_calls(unit);
        let refused: Vec<&String> = used.difference(&allowed).collect();
        assert!(refused.is_empty(), "{unit} would refuse {refused:?}");
    }
}

#[test]
fn socket_activation_serves_each_connection_from_standard_input() {
    if !have("systemd-socket-activate") || !have("curl") {
        return;
    }
    let site = Site::new();
    site.put("hello.txt", b"activated\n");
    let port = pureftpd_tests::free_port();
    let login = format!("puredb:{}", site.pdb.display());
    let mut activator = Command::new("systemd-socket-activate")
        .args(["-l", &format!("127.0.0.1:{port}"), "--accept", "--inetd"])
        .args([
            "-E",
            &format!("PURE_FTPD_SCOREBOARD={}", site.scoreboard().display()),
        ])
        .arg(OURS)
        .args(["-l", &login, "-H"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port);
    for _ in 0..2 {
        let out = curl(&[&format!("ftp://127.0.0.1:{port}/hello.txt")]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "activated\n",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = activator.kill();
    let _ = activator.wait();
}
