//! Hostile input as a table, run against Debian's pure-ftpd and ours on the same tree:
//! globs built to make a matcher backtrack or an expansion explode, `..` and `.*`
//! walks, odd REST offsets, names Pure-FTPd refuses. For each row both servers must
//! answer in bounded time (a hang or a CPU-bound session fails the row), the session
//! must still answer afterwards, and the replies must be equal, or, where ours differs
//! on purpose, be what the row says.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Ftp, PASSWORD, Site, USER, oracle};

/// How a row's replies are judged.
enum Expect {
    /// Debian's and ours are the same.
    Same,
    /// Ours differs on purpose: its reply text.
    Ours(&'static str),
}
use Expect::{Ours, Same};

/// Long enough for any honest answer on a loaded machine; Debian's come in
/// milliseconds, and the matcher that backtracked took from 7 s to forever.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

fn rows() -> Vec<(String, Expect)> {
    let mut rows = vec![
        ("STAT *a*a*a*a*a*a*a*a*a*a*ab".to_string(), Same),
        (format!("STAT {}", "*a".repeat(12)), Same),
        (format!("STAT {}", "*?".repeat(16)), Same),
        ("STAT *a*b*".to_string(), Same),
        ("STAT *a*b*c*".to_string(), Same),
        ("STAT ../*".to_string(), Same),
        ("STAT ../../../*.txt".to_string(), Same),
        ("STAT [a-z]*.txt".to_string(), Same),
        ("STAT [".to_string(), Same),
        ("STAT a[".to_string(), Same),
        ("STAT ?".to_string(), Same),
        // Debian's glob follows `..` after a wildcard; ours never does (see vfs/glob.rs).
        ("STAT */..".to_string(), Ours("213-STAT\n213 End.")),
        (
            format!("STAT {}", "*/../".repeat(815)),
            Ours(
                "213-STAT\n213-Out of memory during globbing of <pattern>\n\
                 213-(This probably means \"Permission denied\")\n213 End.",
            ),
        ),
        (format!("STAT {}", ".*/".repeat(300)), Same),
        ("REST -1".to_string(), Same),
        ("REST -0".to_string(), Same),
        ("REST +7".to_string(), Same),
        ("REST 100x".to_string(), Same),
        ("REST 9223372036854775808".to_string(), Same),
        ("REST 99999999999999999999999".to_string(), Same),
        ("REST 18446744073709551615".to_string(), Same),
        ("DELE ..".to_string(), Same),
        ("DELE .".to_string(), Same),
        ("DELE /".to_string(), Same),
        ("MKD a\\b".to_string(), Same),
        ("MKD \\lead".to_string(), Same),
        ("RNFR trail\\".to_string(), Same),
        ("CWD a\\b".to_string(), Same),
        ("DELE a\\b".to_string(), Same),
        ("RMD a\\b".to_string(), Same),
        ("SIZE ../../../../etc/passwd".to_string(), Same),
        ("CWD ../../../..".to_string(), Same),
        ("PWD".to_string(), Same),
        (format!("SIZE {}", "x".repeat(2000)), Same),
        (format!("CWD {}", "../".repeat(600)), Same),
    ];
    // A name that made the old matcher backtrack for seconds per pattern.
    rows.push(("STAT *b".to_string(), Same));
    rows
}

/// Replaces what differs between runs (the 4,000-byte pattern echoed back).
fn masked(reply: &str) -> String {
    let long = "*/../".repeat(815);
    reply.replace(&long, "<pattern>")
}

struct Row {
    reply: String,
    elapsed: Duration,
    alive: bool,
}

fn run_rows(binary: &Path, site: &Site) -> Vec<Row> {
    let server = site.start(binary, &[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let mut out = Vec::new();
    for (command, _) in rows() {
        let started = Instant::now();
        let reply = ftp.cmd(&command).text();
        let elapsed = started.elapsed();
        let alive = ftp.cmd("NOOP").code == 200;
        if !alive {
            ftp = Ftp::login(server.port, USER, PASSWORD);
        }
        out.push(Row {
            reply: masked(&reply),
            elapsed,
            alive,
        });
    }
    out
}

#[test]
fn hostile_commands_against_debian_and_ours() {
    let Some(debian) = oracle("pure-ftpd") else {
        return;
    };
    let site = Site::new();
    // Listings of names with line breaks and of links out of the root differ on purpose
    // (README); they are tested elsewhere, not here.
    for name in ["new\nline.txt", "escape", "passwd-link"] {
        std::fs::remove_file(site.home.join(name)).unwrap();
    }
    // Names for the globs to chew on.
    site.put(&"a".repeat(40), b"forty");
    site.put("b.txt", b"b");
    let theirs = run_rows(&debian, &site);
    let ours = run_rows(Path::new(common::OURS), &site);
    let mut failures = Vec::new();
    for (((command, expect), theirs), ours) in rows().iter().zip(&theirs).zip(&ours) {
        let shown = command.chars().take(60).collect::<String>();
        eprintln!(
            "{shown}: Debian {:?} ours {:?}",
            theirs.elapsed, ours.elapsed
        );
        assert!(theirs.alive, "Debian's session died on {shown}");
        if !ours.alive {
            failures.push(format!("{shown}: our session died"));
        }
        if ours.elapsed > ANSWER_WITHIN {
            failures.push(format!("{shown}: ours took {:?}", ours.elapsed));
        }
        let wanted = match expect {
            Same => theirs.reply.clone(),
            Ours(text) => (*text).to_string(),
        };
        if ours.reply != wanted {
            failures.push(format!(
                "{shown}:\n  ours:   {:?}\n  wanted: {wanted:?}",
                ours.reply
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether the greeting says IPv6 clients are welcome, for a server on 127.0.0.1 with
/// and without `-4`: Pure-FTPd says it whenever the kernel has IPv6 and `-4` is not
/// given, whatever `-S` names.
#[test]
fn the_ipv6_welcome_line_as_debian() {
    let Some(debian) = oracle("pure-ftpd") else {
        return;
    };
    let site = Site::new();
    let login = format!("puredb:{}", site.pdb.display());
    let board = site.scoreboard();
    let mut seen = Vec::new();
    for binary in [Path::new(common::OURS), debian.as_path()] {
        for ipv4_only in [false, true] {
            let mut args = vec!["-l", login.as_str(), "-H"];
            if ipv4_only {
                args.push("-4");
            }
            let server = common::Server::start_with_env(
                binary,
                &args,
                &[("PURE_FTPD_SCOREBOARD", board.as_path())],
            );
            let (_, greeting) = Ftp::connect(server.port);
            seen.push(greeting.has("IPv6 connections are also welcome on this server."));
        }
    }
    assert_eq!(seen[..2], seen[2..], "ours, Debian's");
    assert!(!seen[1], "never with -4");
}
