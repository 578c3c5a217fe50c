//! Every tool's command line against Debian's same tool: for mistakes, `-h` and
//! missing values, the same status, the same stdout and the same stderr (getopt's
//! complaints word for word), both run under the same `argv[0]`.
//!
//! pure-ftpd alone differs on purpose: where Debian's logs its `421 Configuration
//! error` line to syslog, ours also prints it on stderr, after getopt's complaint.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, PartialEq, Eq)]
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `binary` as `name` with `args` (at most 10 s: a line taken as valid would
/// start a daemon, which is then killed and shows as no status).
fn run(binary: &Path, name: &str, args: &[&str]) -> Run {
    let mut child = Command::new(binary)
        .arg0(name)
        .args(args)
        .env_remove("GATEWAY_INTERFACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Run {
        status,
        stdout,
        stderr,
    }
}

fn ours(tool: &str) -> PathBuf {
    let package = match tool {
        "pure-ftpd" => "ftpd",
        other => other,
    };
    pureftpd_tests::workspace_binary(package, tool)
}

/// Compares ours and Debian's `tool` on each line, once the help lines of our own
/// options (those containing a string of `ours_only`) are taken out of our stdout.
fn compare(tool: &str, ours_only: &[&str], lines: &[&[&str]]) {
    let Some(theirs) = pureftpd_tests::oracle(tool) else {
        return;
    };
    let ours = ours(tool);
    let mut differences = Vec::new();
    for args in lines {
        let (mut a, b) = (run(&ours, tool, args), run(&theirs, tool, args));
        assert!(b.status.is_some(), "Debian's {tool} {args:?} did not stop");
        a.stdout = a
            .stdout
            .split_inclusive('\n')
            .filter(|line| !ours_only.iter().any(|o| line.contains(o)))
            .collect();
        if a != b {
            differences.push(format!("{tool} {args:?}\n  ours:   {a:?}\n  Debian: {b:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn pure_authd_and_pure_certd() {
    let lines: &[&[&str]] = &[
        &["-x"],
        &["--bogus"],
        &["--bogus=1"],
        &["-r"],
        &["--run"],
        &["--ru"],
        &["--daemonize=1"],
        &["--s"],
        &["-h"],
        &["--he"],
        &["-hx"],
        &["-u"],
        &["-s", "/x"],
        &["-r", "relative", "-s", "/x"],
        &["-s", "/x", "-r"],
        &["-B", "-g"],
    ];
    let ours_only = ["--max-running", "--timeout"];
    compare("pure-authd", &ours_only, lines);
    compare("pure-certd", &ours_only, lines);
}

#[test]
fn pure_uploadscript() {
    compare(
        "pure-uploadscript",
        &[],
        &[
            &[],
            &["-x"],
            &["-s"],
            &["--bogus"],
            &["--bogus=x"],
            &["-r"],
            &["--run"],
            &["--pid"],
            &["--daemonize=yes"],
            &["-B"],
            &["-h"],
            &["--h"],
            &["word", "-h"],
        ],
    );
}

#[test]
fn pure_quotacheck() {
    compare(
        "pure-quotacheck",
        &[],
        &[
            &[],
            &["-q"],
            &["--bogus"],
            &["-u"],
            &["-d"],
            &["-h"],
            &["-u", "0"],
            &["-d", "/x", "-d", "/y"],
            &["-d", "/nonexistent", "-u", "0"],
            &["-d", "/nonexistent", "-u", "1000000"],
            &["-g", "1", "-g", "2"],
            &["-u", "1000000", "-d"],
        ],
    );
}

#[test]
fn pure_ftpwho() {
    // Debian's refuses to run without root before it reads its options.
    if !pureftpd_tests::require_root("Debian's pure-ftpwho") {
        return;
    }
    compare(
        "pure-ftpwho",
        &["--json"],
        &[&["-q"], &["--bogus"], &["-h"], &["-s", "-h"], &["-y", "-s"]],
    );
}

#[test]
fn pure_pw() {
    compare(
        "pure-pw",
        &[],
        &[
            &[],
            &["bogus"],
            &["useradd"],
            &["useradd", "joe", "-X"],
            &["useradd", "joe", "-u"],
            &["useradd", "joe", "--uid"],
            &["useradd", "joe", "-h"],
            &["show", "joe", "-mX"],
            &["usermod", "-u", "-X"],
        ],
    );
}

#[test]
fn pure_ftpd() {
    let Some(theirs) = pureftpd_tests::oracle("pure-ftpd") else {
        return;
    };
    let ours = ours("pure-ftpd");
    let free = pureftpd_tests::free_port().to_string();
    let bind = format!("127.0.0.1,{free}");
    for args in [
        &["--bogus"][..],
        &["--bogus=1"],
        &["-c"],
        &["--maxc"],
        &["--max"],
        &["--maxclientsn"],
        &["--help=3"],
        &["-9"],
        &["-Bq"],
        &["--login"],
        &["--tls"],
    ] {
        // Bound to a free loopback port first, in case a line were taken as valid.
        let line: Vec<&str> = ["-S", bind.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let (a, b) = (
            run(&ours, "pure-ftpd", &line),
            run(&theirs, "pure-ftpd", &line),
        );
        assert_eq!(
            (a.status, &a.stdout),
            (Some(252), &String::new()),
            "{args:?}"
        );
        assert_eq!(
            (b.status, &b.stdout),
            (Some(252), &String::new()),
            "{args:?}"
        );
        let complaint = b.stderr.lines().next().expect("Debian's complains");
        assert_eq!(
            a.stderr,
            format!("{complaint}\n421 Configuration error: Unknown run-time option\r\n"),
            "{args:?}"
        );
    }
    // The help: the same lines in the same order, the version aside.
    let (a, b) = (
        run(&ours, "pure-ftpd", &["-h"]),
        run(&theirs, "pure-ftpd", &["-h"]),
    );
    let without_version = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with("pure-ftpd v"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!((a.status, b.status), (Some(0), Some(0)));
    assert_eq!(without_version(&a.stdout), without_version(&b.stdout));
    assert_eq!(
        a.stdout.starts_with("pure-ftpd v"),
        b.stdout.starts_with("pure-ftpd v"),
        "the version line only for root, as Debian's"
    );
}
