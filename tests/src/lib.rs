//! Helpers for tests that run real binaries: finding Debian's Pure-FTPd (the oracle),
//! running a program with input and capturing everything, free loopback ports.
//!
//! A test that needs the oracle calls [`oracle`]: when the package is not installed it
//! prints why it skips and returns `None`, unless `PUREFTPD_REQUIRE_ORACLE=1` (set by
//! `.ci/run`), where a missing oracle is a failure: CI never passes by skipping.
#![forbid(unsafe_code)]

pub mod ftp;
pub mod procfs;
pub mod server;

use std::ffi::OsStr;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian's package installs each tool; then where `scripts/install-test-deps.sh`
/// unpacks Debian's MySQL, PostgreSQL and LDAP builds (`pure-ftpd-mysql`, ...), which
/// conflict with the `pure-ftpd` package and so are not installed.
const ORACLE_DIRS: [&str; 3] = ["/usr/sbin", "/usr/bin", "/opt/pureftpd-rs-oracle/usr/sbin"];

/// The path of Debian's `tool` (`pure-pw`, `pure-ftpd`, ...), or `None` after printing
/// why the calling test skips.
///
/// # Panics
/// When the tool is missing and `PUREFTPD_REQUIRE_ORACLE=1`.
#[must_use]
pub fn oracle(tool: &str) -> Option<PathBuf> {
    let found = ORACLE_DIRS
        .iter()
        .map(|dir| Path::new(dir).join(tool))
        .find(|path| path.is_file());
    if found.is_none() {
        let required = std::env::var_os("PUREFTPD_REQUIRE_ORACLE").is_some_and(|v| v == "1");
        assert!(
            !required,
            "Debian's {tool} is required (PUREFTPD_REQUIRE_ORACLE=1): apt-get install pure-ftpd"
        );
        eprintln!("SKIP: Debian's {tool} is not installed (apt-get install pure-ftpd)");
    }
    found
}

/// Whether the tests run as root (chroot, setuid, other users' files).
#[must_use]
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Prints why a root-only test skips; returns whether it may run.
#[must_use]
pub fn require_root(what: &str) -> bool {
    if !is_root() {
        let required = std::env::var_os("PUREFTPD_REQUIRE_ROOT").is_some_and(|v| v == "1");
        assert!(!required, "{what} needs root (PUREFTPD_REQUIRE_ROOT=1)");
        eprintln!("SKIP: {what} needs root");
    }
    is_root()
}

/// What a finished program did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Exit status (-1 if killed by a signal).
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

/// Runs `program` with `args`, the environment changes in `env`, and `stdin` piped in.
///
/// # Panics
/// If the program cannot be started.
pub fn run<I, S>(program: &Path, args: I, env: &[(&str, &OsStr)], stdin: &str) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    if let Some(mut input) = child.stdin.take() {
        // The program may exit without reading: a broken pipe is fine.
        let _ = input.write_all(stdin.as_bytes());
    }
    let output = child.wait_with_output().expect("wait for the program");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A TCP port on 127.0.0.1 that is free now, for a server to listen on: below the
/// system's ephemeral range, so that no client connection's own end takes it before
/// the server binds it, and not handed out twice by one test process (until its 12,000
/// ports wrap around, long after the first servers are gone). (The kernel's
/// `bind(0)` once gave two parallel tests the same port: one server could not listen,
/// and its test talked to the other test's server.)
///
/// Free now is not free later: the FTP servers under test open passive data ports
/// anywhere in 1024-65535 (Pure-FTPd's default range), and one of them can take the port
/// before the program it was chosen for binds it. So whatever listens on it starts again
/// on another port when it could not bind ([`server::Server::start`], the database
/// servers of ftpd's tests), or listens on a loopback address of its own (their relay).
///
/// # Panics
/// If no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    free_port_range(1).0
}

/// `count` consecutive ports below the system's ephemeral range (so that no client
/// connection takes one meanwhile) that are free now, for a server's `-p` range. Ranges
/// handed out by one test process never overlap.
///
/// # Panics
/// If no free range is found.
#[must_use]
pub fn free_port_range(count: u16) -> (u16, u16) {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    // A start that differs between test processes run one after another.
    let seed = u16::try_from(std::process::id() % 400).unwrap_or(0) * 25;
    let _ = NEXT.compare_exchange(0, 20_000 + seed, Ordering::SeqCst, Ordering::SeqCst);
    for _ in 0..200 {
        let mut first = NEXT.fetch_add(count, Ordering::SeqCst);
        if first > 32_000 - count {
            NEXT.store(20_000, Ordering::SeqCst);
            first = NEXT.fetch_add(count, Ordering::SeqCst);
        }
        let last = first + count - 1;
        if (first..=last).all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok()) {
            return (first, last);
        }
    }
    panic!("no {count} consecutive free ports between 20000 and 32000");
}

/// Replaces every `$argon2id$...` hash (up to the next `:` or line end) by `<hash>`,
/// to compare files whose salts differ.
#[must_use]
pub fn mask_hashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("$argon2") {
        out.push_str(&rest[..start]);
        out.push_str("<hash>");
        let tail = &rest[start..];
        let end = tail.find([':', '\n']).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The path of a binary of another workspace package, built (by cargo, which skips
/// the work when it is current) the first time a test asks for it: cargo builds only
/// the tested package's own binaries.
///
/// # Panics
/// If cargo cannot build it.
#[must_use]
pub fn workspace_binary(package: &str, binary: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    // target/<profile>/deps/<test> -> target/<profile>/<binary>
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let path = profile_dir.join(binary);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !built.iter().any(|b| b == binary) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut command = Command::new(cargo);
        command.args(["build", "-q", "-p", package, "--bin", binary]);
        if release {
            command.arg("--release");
        }
        let status = command.status().expect("cargo runs");
        assert!(
            status.success(),
            "cargo build -p {package} --bin {binary} failed"
        );
        built.push(binary.to_string());
    }
    path
}

/// The session processes of the server whose master is `master`: its children but the
/// port-20 helper a server started as root keeps for all its sessions (the one child
/// whose only capability is CAP_NET_BIND_SERVICE).
#[must_use]
pub fn session_processes(master: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .filter(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            !status
                .lines()
                .any(|l| l.starts_with("CapEff:") && l.ends_with("0000000000000400"))
        })
        .collect()
}
