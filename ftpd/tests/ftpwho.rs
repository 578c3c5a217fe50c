//! pure-ftpwho against a live server: idle, anonymous-before-login, downloading and
//! uploading sessions, in every format; hostile file names; dead and corrupt records;
//! and the same sessions on Debian's pure-ftpd read by Debian's pure-ftpwho, compared
//! field by field.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;

fn ftpwho() -> PathBuf {
    pureftpd_tests::workspace_binary("pure-ftpwho", "pure-ftpwho")
}

/// Runs `binary args` reading the scoreboard in `board` (ours) or the system one.
fn who(binary: &Path, board: Option<&Path>, args: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(binary);
    command.args(args).env_remove("GATEWAY_INTERFACE");
    if let Some(board) = board {
        command.env("PURE_FTPD_SCOREBOARD", board);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A download read slowly (about 2.5 MB/s) until dropped, so that it stays in progress.
struct SlowDownload {
    _control: Ftp,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl SlowDownload {
    fn start(port: u16, user: &str, password: &str, file: &str) -> Self {
        let mut control = Ftp::login(port, user, password);
        control.cmd("TYPE I");
        let address = control.pasv();
        let mut data = TcpStream::connect(address).unwrap();
        let reply = control.cmd(&format!("RETR {file}"));
        assert_eq!(reply.code, 150, "{reply:?}");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            let deadline = Instant::now() + Duration::from_secs(60);
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                if matches!(data.read(&mut buf), Ok(0) | Err(_)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self {
            _control: control,
            stop,
            reader: Some(reader),
        }
    }
}

impl Drop for SlowDownload {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// An upload that sent `bytes` and pauses, until dropped.
fn paused_upload(port: u16, name: &str, bytes: usize) -> (Ftp, TcpStream) {
    let mut control = Ftp::login(port, USER, PASSWORD);
    control.cmd("TYPE I");
    let address = control.pasv();
    let mut data = TcpStream::connect(address).unwrap();
    let reply = control.cmd(&format!("STOR {name}"));
    assert_eq!(reply.code, 150, "{reply:?}");
    data.write_all(&vec![7u8; bytes]).unwrap();
    (control, data)
}

/// Debian's pure-ftpwho reads the one scoreboard of the machine: a session of another
/// Debian pure-ftpd (a person's, another program's) would show among the test's. Waits
/// up to 10 s for such sessions to end, then says which. Records left by sessions that
/// were killed are removed first, as Debian's pure-ftpwho removes them, and so are those
/// whose pid now belongs to another program than `debians` (which Debian's would list).
fn no_other_debian_session(debians: &Path) {
    let board = Path::new("/var/run/pure-ftpd");
    let live = || -> Vec<String> {
        std::fs::read_dir(board)
            .map(|dir| {
                dir.flatten()
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let pid: u32 = name.strip_prefix("client-")?.parse().ok()?;
                        let program = std::fs::read_link(format!("/proc/{pid}/exe"));
                        if program.is_ok_and(|program| program == debians) {
                            return Some(name);
                        }
                        let _ = std::fs::remove_file(e.path());
                        None
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !live().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let others = live();
    assert!(
        others.is_empty(),
        "sessions of another Debian pure-ftpd are live on this machine ({others:?} in \
         /var/run/pure-ftpd); Debian's pure-ftpwho would list them with the test's"
    );
}

/// Waits until `check` holds for the `-s` output (at most 10 s).
fn until_shell(board: Option<&Path>, binary: &Path, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, out, _) = who(binary, board, &["-s", "-H"]);
        if check(&out) || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn fields(line: &str) -> Vec<&str> {
    line.split('|').collect()
}

#[test]
fn every_format_shows_the_live_sessions() {
    let site = Site::new();
    site.put("big.bin", &vec![1u8; 64 << 20]);
    let server = site.ours(&[]);
    let board = site.scoreboard();
    let _idle = Ftp::login(server.port, USER, PASSWORD);
    let (_stranger, _) = Ftp::connect(server.port);
    let _download = SlowDownload::start(server.port, USER, PASSWORD, "big.bin");
    let _upload = paused_upload(server.port, "up.bin", 300_000);
    let shell = until_shell(Some(&board), &ftpwho(), |out| {
        out.lines().count() == 4
            && out
                .lines()
                .any(|l| l.contains("| DL |") && fields(l)[8] != "0")
            && out
                .lines()
                .any(|l| l.contains("| UL |") && fields(l)[8] != "0")
    });
    let lines: Vec<&str> = shell.lines().collect();
    assert_eq!(lines.len(), 4, "{shell}");
    let port = server.port.to_string();
    for line in &lines {
        let f = fields(line);
        assert_eq!(f.len(), 12, "{line}");
        assert_eq!(
            (f[5], f[6], f[7]),
            ("127.0.0.1", "127.0.0.1", port.as_str()),
            "{line}"
        );
    }
    let state = |s: &str| {
        lines
            .iter()
            .map(|l| fields(l))
            .find(|f| f[3] == s && (s != "IDLE" || f[1] == USER))
            .unwrap_or_else(|| panic!("no {s} in {shell}"))
    };
    let dl = state(" DL ");
    assert_eq!((dl[1], dl[4], dl[9]), (USER, "big.bin", "65536"));
    let percent: u64 = dl[10].parse().unwrap();
    assert!((1..=100).contains(&percent), "{shell}");
    let ul = state(" UL ");
    assert_eq!((ul[4], ul[9], ul[10]), ("up.bin", "0", "0"));
    assert!(ul[8].parse::<u64>().unwrap() >= 1, "{shell}");
    assert_eq!(state("IDLE")[4], "");
    assert!(lines.iter().any(|l| fields(l)[1] == "?"), "{shell}");

    // The table: header, two lines and a rule per session.
    let (code, text, _) = who(&ftpwho(), Some(&board), &["-H"]);
    assert_eq!(code, 0);
    assert!(text.starts_with(
        "\n+------+---------+-------+------+-------------------------------------------+\n\
         | PID  |  Login  |For/Spd| What |                 File/IP                   |\n"
    ));
    assert_eq!(text.lines().count(), 1 + 3 + 4 * 3 + 1, "{text}");
    assert!(
        text.contains(&format!("| {USER:<8}| 00:00 |  DL  | big.bin")),
        "{text}"
    );
    let (_, verbose, _) = who(&ftpwho(), Some(&board), &["-H", "-v"]);
    assert!(
        verbose.contains("| Total size:    65536 Transferred:"),
        "{verbose}"
    );
    assert!(
        verbose.contains(&format!(
            "| <-                        127.0.0.1:{port:<5} |"
        )),
        "{verbose}"
    );

    // XML, HTML and plist parse as XML; JSON as JSON.
    for args in [&["-x"][..], &["-w"], &["-W"], &["-p"]] {
        let (_, out, _) = who(&ftpwho(), Some(&board), args);
        let parsed = Command::new("python3")
            .args([
                "-c",
                "import sys, xml.dom.minidom as m; m.parseString(sys.stdin.buffer.read().replace(b'&nbsp;', b'&#160;'))",
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(out.as_bytes())?;
                child.wait()
            })
            .unwrap();
        assert!(parsed.success(), "{args:?}: {out}");
        assert_eq!(
            out.matches(&format!(">{}<", server.port)).count()
                + out.matches(&format!("\"{}\"", server.port)).count()
                + out.matches(&format!(":{}<", server.port)).count(),
            4,
            "{args:?}: {out}"
        );
    }
    let (_, cgi, _) = who(&ftpwho(), Some(&board), &["-c"]);
    assert!(
        cgi.starts_with("Content-Type: text/html\n\n<div id=\"ftp-status\">"),
        "{cgi}"
    );
    // -C is Pure-FTPd's other spelling of -c (both "CGI"): the same page.
    let (_, cgi_upper, _) = who(&ftpwho(), Some(&board), &["-C"]);
    assert_eq!(
        cgi_upper.lines().map(mask_numbers).collect::<Vec<_>>(),
        cgi.lines().map(mask_numbers).collect::<Vec<_>>()
    );
    let (_, json, _) = who(&ftpwho(), Some(&board), &["--json"]);
    let sessions: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 4);
    assert!(
        sessions
            .iter()
            .any(|s| s["state"] == "download" && s["total_size"] == 64 << 20)
    );
}

#[test]
fn hostile_names_cannot_forge_lines_or_markup() {
    let site = Site::new();
    let server = site.ours(&[]);
    let board = site.scoreboard();
    // Backslashes and control characters never get this far: the server refuses such
    // names, as Pure-FTPd does (pure-ftpwho's own tests cover their escaping).
    let name = "a|b<c>&\"d'e.bin";
    let _upload = paused_upload(server.port, name, 1000);
    let shell = until_shell(Some(&board), &ftpwho(), |out| out.contains("| UL |"));
    let line = shell.lines().find(|l| l.contains("| UL |")).unwrap();
    assert!(line.contains("|a\\|b<c>&\"d'e.bin|"), "{line}");
    let (_, xml, _) = who(&ftpwho(), Some(&board), &["-x"]);
    assert!(
        xml.contains("file=\"a|b&lt;c&gt;&amp;&quot;d'e.bin\""),
        "{xml}"
    );
    let (_, text, _) = who(&ftpwho(), Some(&board), &["-H"]);
    assert!(text.contains("a|b<c>&\"d'e.bin"), "{text}");
    let mut refused = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(refused.cmd("STOR a\\b\tc.bin").code, 553);
}

#[test]
fn dead_and_corrupt_records_never_show() {
    let site = Site::new();
    let server = site.ours(&[]);
    let board = site.scoreboard();
    let _idle = Ftp::login(server.port, USER, PASSWORD);
    until_shell(Some(&board), &ftpwho(), |out| out.lines().count() == 1);
    // A record left by a process that is gone, and a torn one.
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let live = std::fs::read_dir(&board)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("session-")
        })
        .unwrap();
    let text = std::fs::read_to_string(&live).unwrap();
    let pid_line = text.lines().nth(1).unwrap().to_string();
    let stale = board.join(format!("session-{gone_pid}"));
    std::fs::write(
        &stale,
        text.replacen(&pid_line, &format!("pid={gone_pid}"), 1),
    )
    .unwrap();
    let torn = board.join("session-1");
    std::fs::write(&torn, &text.as_bytes()[..60]).unwrap();
    let (code, out, err) = who(&ftpwho(), Some(&board), &["-s"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!out.contains(&format!("{gone_pid}|")));
    assert!(
        err.contains("skipping") && err.contains("session-1"),
        "{err}"
    );
    assert!(!stale.exists(), "the dead session's record stays");
}

#[test]
fn a_missing_scoreboard_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = who(&ftpwho(), Some(&dir.path().join("none")), &[]);
    assert_eq!(code, 255);
    assert!(
        err.starts_with("Unable to open the ftpwho scoreboard"),
        "{err}"
    );
}

#[test]
fn a_thousand_sessions_are_all_listed() {
    let dir = tempfile::tempdir().unwrap();
    let me = std::process::id();
    let mut record = pureftpd_scoreboard::Record::new(
        me,
        "127.0.0.1:40000".parse().unwrap(),
        "127.0.0.1:21".parse().unwrap(),
        1,
    );
    record.account = b"someone".to_vec();
    for n in 0..1000 {
        // All name this (live) process; the file names differ.
        std::fs::write(
            dir.path().join(format!("session-{}", 100_000 + n)),
            record.render(),
        )
        .unwrap();
    }
    let started = Instant::now();
    let (code, out, _) = who(&ftpwho(), Some(dir.path()), &["-s", "-H"]);
    eprintln!(
        "pure-ftpwho -s with 1,000 sessions: {:?}",
        started.elapsed()
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1000);
}

/// Lines of `-s` for the sessions on `port`, pid and times masked.
fn masked_shell(out: &str, port: u16) -> Vec<String> {
    let mut lines: Vec<String> = out
        .lines()
        .filter(|l| fields(l).get(7) == Some(&port.to_string().as_str()))
        .map(|l| {
            let mut f: Vec<String> = fields(l).iter().map(|s| (*s).to_string()).collect();
            f[0] = "<pid>".into();
            f[2] = "<time>".into();
            f[7] = "<port>".into();
            // Progress depends on timing: keep whether it moved.
            for i in [8, 10] {
                f[i] = if f[i] == "0" {
                    "0".into()
                } else {
                    "<n>".into()
                };
            }
            // The rate needs a whole second of transfer: it may still be 0.
            f[11] = "<bw>".into();
            f.join("|")
        })
        .collect();
    lines.sort();
    lines
}

/// Every run of digits as `#`, the padding around numbers collapsed (a number's width
/// changes the spaces a table puts beside it), and rates blanked.
fn mask_numbers(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_number = false;
    for c in line.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    let mut collapsed = String::with_capacity(out.len());
    for c in out.chars() {
        if !(c == ' ' && collapsed.ends_with(' ')) {
            collapsed.push(c);
        }
    }
    // The rate needs a whole second of transfer, which one server may not have had yet.
    for unit in ["b", "K", "M", "G"] {
        collapsed = collapsed.replace(&format!(" #{unit}/s|"), " '' |");
    }
    collapsed
}

/// The `-v` table: header, then the blocks of the sessions on `port` (sorted), with
/// pid, time, speed, percentage, sizes and port masked (they depend on timing).
fn masked_table(table: &str, port: u16) -> Vec<String> {
    const RULE: &str =
        "+------+---------+-------+------+-------------------------------------------+";
    let separator = format!("{RULE}\n");
    let mut parts = table.split(&separator);
    let mut out: Vec<String> = parts.by_ref().take(2).map(str::to_string).collect();
    let port_cell = format!(":{port:<5} |");
    let mut blocks: Vec<String> = parts
        .filter(|block| block.contains(&port_cell))
        .map(|block| {
            block
                .lines()
                .map(|line| {
                    let mut line = line.replace(&port_cell, ":<port> |");
                    if line.len() > 25 && !line.starts_with("|  ''") {
                        line.replace_range(1..6, "<pid>");
                        line.replace_range(19..24, "hh:mm");
                    } else if line.starts_with("|  ''  |    ''   |") && line.contains(" ->") {
                        line.replace_range(17..32, "<speed>|<pct>|");
                    }
                    if let Some(at) = line.find("Transferred:") {
                        line.replace_range(at + 12.., "<n> |");
                    }
                    line
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    blocks.sort();
    out.extend(blocks);
    out
}

#[test]
fn the_same_sessions_read_by_debians_pure_ftpwho() {
    let (Some(their_server), Some(their_who)) = (oracle("pure-ftpd"), oracle("pure-ftpwho")) else {
        return;
    };
    if !require_root("Debian's pure-ftpwho and its scoreboard in /var/run/pure-ftpd") {
        return;
    }
    let mut seen = Vec::new();
    for (server_binary, who_binary, ours) in [
        (PathBuf::from(OURS), ftpwho(), true),
        (their_server, their_who, false),
    ] {
        if !ours {
            no_other_debian_session(&server_binary);
        }
        let site = Site::new();
        site.put("big.bin", &vec![1u8; 64 << 20]);
        let server = site.start(&server_binary, &[]);
        let board = ours.then(|| site.scoreboard());
        let _idle = Ftp::login(server.port, USER, PASSWORD);
        let (_stranger, _) = Ftp::connect(server.port);
        let _download = SlowDownload::start(server.port, USER, PASSWORD, "big.bin");
        let _upload = paused_upload(server.port, "up.bin", 300_000);
        let port = server.port;
        let shell = until_shell(board.as_deref(), &who_binary, |out| {
            let mine = masked_shell(out, port);
            mine.len() == 4
                && mine
                    .iter()
                    .any(|l| l.contains("| UL |up.bin|") && l.contains("|<n>|0|0|"))
                && mine
                    .iter()
                    .any(|l| l.contains("| DL |") && l.contains("|<n>|65536|<n>|"))
        });
        let (_, xml, _) = who(&who_binary, board.as_deref(), &["-x", "-H"]);
        let xml_lines: Vec<String> = xml
            .lines()
            .filter(|l| !l.contains("<client") || l.contains(&format!("localport=\"{port}\"")))
            .map(|l| {
                // pid, time, port and progress numbers masked.
                let mut l = l.to_string();
                for key in [
                    "pid",
                    "time",
                    "localport",
                    "current_size",
                    "percentage",
                    "bandwidth",
                ] {
                    if let Some(start) = l.find(&format!(" {key}=\"")) {
                        let value_start = start + key.len() + 3;
                        let end = value_start + l[value_start..].find('"').unwrap();
                        l.replace_range(value_start..end, "#");
                    }
                }
                l
            })
            .collect();
        // Debian lists in directory order, we by pid: compare as sets.
        let mut xml_lines = xml_lines;
        xml_lines.sort();
        let (_, table, _) = who(&who_binary, board.as_deref(), &["-v", "-H"]);
        // The other formats: their lines as a multiset, numbers masked (pids, times and
        // progress differ, and so does the order of the sessions).
        let mut others = Vec::new();
        for args in [
            &["-H"][..],
            &["-n"],
            &["-v", "-n"],
            &["-s", "-n"],
            &["-w", "-H"],
            &["-W", "-H"],
            &["-c", "-H"],
            &["-C", "-H"],
            &["-p", "-H"],
        ] {
            let (_, out, _) = who(&who_binary, board.as_deref(), args);
            let mut lines: Vec<String> = out.lines().map(mask_numbers).collect();
            lines.sort();
            others.push((args.join(" "), lines));
        }
        seen.push((
            masked_shell(&shell, port),
            xml_lines,
            masked_table(&table, port),
            others,
        ));
    }
    assert_eq!(seen[0].0, seen[1].0, "-s: ours (left), Debian's (right)");
    assert_eq!(seen[0].1, seen[1].1, "-x: ours (left), Debian's (right)");
    assert_eq!(seen[0].2, seen[1].2, "-v: ours (left), Debian's (right)");
    for (ours, theirs) in seen[0].3.iter().zip(&seen[1].3) {
        assert_eq!(ours, theirs, "ours (left), Debian's (right)");
    }
}

#[test]
fn help_and_bad_options_as_debians() {
    let Some(their_who) = oracle("pure-ftpwho") else {
        return;
    };
    for args in [&["-h"][..], &["-q"]] {
        let ours = who(&ftpwho(), None, args);
        let theirs = who(&their_who, None, args);
        // Ours lists one option more.
        let json = "--json : output JSON (one object per session)\n";
        assert!(ours.1.contains(json), "{}", ours.1);
        let ours_without_json = ours.1.replace(json, "");
        assert_eq!(
            (ours.0, &ours_without_json),
            (theirs.0, &theirs.1),
            "{args:?}"
        );
        assert!(ours.1.contains("-n : synonym for -H"), "{}", ours.1);
    }
}

/// The progress pure-ftpwho shows for a download agrees with what the client received:
/// bytes (give or take what the socket buffers hold and half a second of updates),
/// percentage of the size, and bytes per second.
#[test]
fn live_progress_follows_the_transfer() {
    let site = Site::new();
    let total: u64 = 64 << 20;
    site.put("big.bin", &vec![1u8; total as usize]);
    let server = site.ours(&[]);
    let board = site.scoreboard();
    let mut control = Ftp::login(server.port, USER, PASSWORD);
    control.cmd("TYPE I");
    let address = control.pasv();
    let mut data = TcpStream::connect(address).unwrap();
    assert_eq!(control.cmd("RETR big.bin").code, 150);
    let started = Instant::now();
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (count, flag) = (received.clone(), stop.clone());
    // About 2.5 MB/s, for at most 30 s.
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        while !flag.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(30) {
            match data.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => count.fetch_add(n as u64, Ordering::Relaxed),
            };
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_secs(4));
    let before = received.load(Ordering::Relaxed);
    let (_, json, _) = who(&ftpwho(), Some(&board), &["--json"]);
    let after = received.load(Ordering::Relaxed);
    let client_rate = after as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    let sessions: serde_json::Value = serde_json::from_str(&json).unwrap();
    let download = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == "download")
        .unwrap_or_else(|| panic!("{json}"));
    let current = download["current_size"].as_u64().unwrap();
    assert_eq!(download["total_size"].as_u64(), Some(total));
    let half_second = (client_rate / 2.0) as u64;
    assert!(
        current + half_second >= before && current <= after + (16 << 20),
        "shown {current}, client got {before}..{after}"
    );
    assert_eq!(
        download["percentage"].as_u64(),
        Some((current * 200 + total) / (total * 2)),
        "{json}"
    );
    let bandwidth = download["bandwidth"].as_u64().unwrap() as f64;
    eprintln!(
        "client got {before}..{after} bytes at {client_rate:.0} B/s; shown {current} bytes, {bandwidth:.0} B/s"
    );
    assert!(
        bandwidth > client_rate * 0.5 && bandwidth < client_rate * 2.5,
        "shown {bandwidth:.0} B/s, client got {client_rate:.0} B/s"
    );
}
