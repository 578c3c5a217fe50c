//! Transfer logs (`-O clf:`, `stats:`, `w3c:`, `xferlog:`) and the syslog lines of
//! transfers and deletions: line by line against Debian's pure-ftpd, safe with many
//! concurrent sessions, and no name can forge a line.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Uploads `up load.bin` (1234 bytes), downloads it, deletes it, with Python's ftplib.
fn upload_download_delete(port: u16) {
    let script = r#"
import ftplib, io, sys
ftp = ftplib.FTP(); ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=30)
ftp.login(sys.argv[2], sys.argv[3])
ftp.storbinary("STOR up load.bin", io.BytesIO(b"x" * 1234))
ftp.retrbinary("RETR up load.bin", lambda chunk: None)
ftp.delete("up load.bin")
ftp.quit()
"#;
    let out = Command::new("python3")
        .args(["-c", script, &port.to_string(), USER, PASSWORD])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The log's lines with what differs between runs masked: times, the session's
/// hex start and pid, durations, and the site's directory.
fn masked(text: &str, format: &str, home: &Path) -> Vec<String> {
    let home = home.display().to_string();
    text.lines()
        .map(|line| {
            let line = line
                .replace(&home, "<home>")
                .replace(&home.replace(' ', "%20"), "<home>");
            let mut fields: Vec<String> = line.split(' ').map(str::to_string).collect();
            let mask = |fields: &mut Vec<String>, indexes: &[usize]| {
                for &i in indexes {
                    if i < fields.len() {
                        fields[i] = "#".into();
                    }
                }
            };
            match format {
                "clf" => mask(&mut fields, &[3]),
                "stats" => mask(&mut fields, &[0, 1, 6]),
                "w3c" if !line.starts_with('#') => mask(&mut fields, &[0, 1]),
                "w3c" if line.starts_with("#Date:") => mask(&mut fields, &[1, 2]),
                "xferlog" => mask(&mut fields, &[0, 1, 2, 3, 4, 5]),
                _ => {}
            }
            fields.join(" ")
        })
        .collect()
}

#[test]
fn transfer_logs_match_debians_line_by_line() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    for format in ["clf", "stats", "w3c", "xferlog"] {
        let mut seen = Vec::new();
        for binary in [Path::new(OURS), theirs.as_path()] {
            let site = Site::new();
            let log = site.dir.path().join("transfers.log");
            let spec = format!("{format}:{}", log.display());
            let server = site.start(binary, &["-O", &spec]);
            upload_download_delete(server.port);
            drop(server);
            let text = std::fs::read_to_string(&log).unwrap();
            let mode = std::fs::metadata(&log).unwrap();
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(mode.permissions().mode() & 0o777, 0o600, "{format}");
            seen.push(masked(&text, format, &site.home));
        }
        assert_eq!(seen[0], seen[1], "{format}: ours (left), Debian's (right)");
        assert!(seen[0].len() >= 2, "{format}: {:?}", seen[0]);
    }
}

#[test]
fn concurrent_sessions_never_interleave_lines() {
    let site = Site::new();
    let log = site.dir.path().join("stats.log");
    let spec = format!("stats:{}", log.display());
    let server = site.ours(&["-O", &spec, "-c", "50", "-C", "50"]);
    let port = server.port;
    let clients: Vec<_> = (0..20)
        .map(|client| {
            std::thread::spawn(move || {
                let mut ftp = Ftp::login(port, USER, PASSWORD);
                ftp.cmd("TYPE I");
                for n in 0..5 {
                    let (first, last) =
                        ftp.upload(&format!("STOR c{client}-{n}.bin"), &vec![b'z'; 70_000]);
                    assert_eq!(first.code, 150);
                    assert_eq!(last.unwrap().code, 226);
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 100);
    for line in lines {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 8, "{line}");
        assert_eq!(
            (fields[2], fields[4], fields[5]),
            (USER, "U", "70000"),
            "{line}"
        );
        assert!(
            fields[7].ends_with(".bin") && fields[7].contains("/c"),
            "{line}"
        );
    }
}

#[test]
fn names_cannot_forge_log_lines() {
    let site = Site::new();
    let dir = site.dir.path();
    let specs: Vec<String> = ["clf", "stats", "w3c", "xferlog"]
        .iter()
        .map(|f| format!("{f}:{}", dir.join(format!("{f}.log")).display()))
        .collect();
    // One server per format (one -O each, as in Pure-FTPd).
    for spec in &specs {
        let server = site.ours(&["-O", spec]);
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("TYPE I");
        let (first, _) = ftp.upload("STOR evil\r1.bin 127.0.0.1 - root [x]", b"data");
        assert_eq!(first.code, 150, "{first:?}");
    }
    for spec in &specs {
        let path = spec.split_once(':').unwrap().1;
        let text = std::fs::read(path).unwrap();
        let body: Vec<&[u8]> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
            .collect();
        assert_eq!(body.len(), 1, "{spec}: {}", String::from_utf8_lossy(&text));
        assert!(!body[0].contains(&b'\r'), "{spec}");
    }
}

#[test]
fn bad_log_options_are_start_up_errors_as_in_debian() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    for spec in ["foo:/tmp/x", "clf:relative", "relative"] {
        let ours = pureftpd_tests::run(Path::new(OURS), ["-O", spec], &[], "");
        let debian = pureftpd_tests::run(&theirs, ["-O", spec], &[], "");
        // The same status; Debian's says why only to an inetd client and syslog, ours
        // on stderr too.
        assert_eq!((ours.code, debian.code), (252, 252), "{spec}: {ours:?}");
        let why = if spec.starts_with("foo") {
            "421 Configuration error: Unknown logging format: foo"
        } else {
            "421 Configuration error: Prohibited file name: relative"
        };
        assert_eq!(ours.stderr.trim(), why);
    }
}

#[test]
fn transfer_syslog_lines_match_debians() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    let Some(syslog) = syslog::Syslog::listen() else {
        return;
    };
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        let site = Site::new();
        let server = site.start(binary, &["-f", "local3"]);
        syslog.clear();
        upload_download_delete(server.port);
        // local3.notice = 19 * 8 + 5 = <157>
        let lines = syslog.until(|lines| {
            lines
                .iter()
                .filter(|l| l.starts_with("<157>") && l.contains("Deleted"))
                .count()
                == 1
        });
        let home = site.home.display().to_string();
        let notices: Vec<String> = lines
            .iter()
            .filter(|l| l.starts_with("<157>"))
            .map(|l| {
                let text = &l[l.find("[NOTICE]").unwrap()..];
                let text = text.replace(&home, "<home>");
                // The rate depends on timing.
                match text.find(" bytes, ") {
                    Some(at) => format!("{} bytes, #KB/sec)", &text[..at]),
                    None => text,
                }
            })
            .collect();
        seen.push(notices);
    }
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
}

#[test]
fn debug_replies_and_host_names_are_logged_as_debian_logs_them() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    let Some(syslog) = syslog::Syslog::listen() else {
        return;
    };
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        let site = Site::new();
        let login = format!("puredb:{}", site.pdb.display());
        // No -H: the client's name is looked up (127.0.0.1 is localhost); -d -d logs
        // commands and replies.
        let server = Server::start(binary, &["-l", &login, "-4", "-d", "-d", "-f", "local2"]);
        syslog.clear();
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("NOOP");
        ftp.cmd("CWD sub");
        ftp.cmd("QUIT");
        // Other tests' servers log too: only local2 (facility 18) counts here.
        let lines = syslog.until(|lines| {
            lines
                .iter()
                .any(|l| l.starts_with("<150>") && l.ends_with("[INFO] Logout."))
                && lines
                    .iter()
                    .any(|l| l.starts_with("<151>") && l.ends_with("221 Logout."))
        });
        let ours: Vec<String> = lines
            .iter()
            // local2 is facility 18: priorities <144> to <151>.
            .filter(|l| l.starts_with("<14") || l.starts_with("<15"))
            // "<151>Nov 22 08:51:58 pure-ftpd: ...": the priority, then what follows the time.
            .map(|l| format!("{}{}", &l[..5], &l[20..]))
            // The greeting's local time and the farewell's counters may differ.
            .filter(|l| !l.contains("Local time is now") && !l.contains("Goodbye"))
            .collect();
        seen.push(ours);
    }
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    assert!(
        seen[0]
            .iter()
            .any(|l| l.contains("(?@localhost) [INFO] New connection from localhost")),
        "{:#?}",
        seen[0]
    );
    assert!(
        seen[0]
            .iter()
            .any(|l| l.contains("[DEBUG] 250 OK. Current directory is /sub"))
    );
}

/// The syslog daemon's queue is short (`net.unix.max_dgram_qlen`, 10 on Debian): a
/// session logging a burst (`-d -d`) while the daemon is busy for a moment must not lose
/// lines (ours dropped them; Pure-FTPd's glibc `syslog()` waits).
#[test]
fn a_busy_syslog_daemon_loses_no_line() {
    let Some(syslog) = syslog::Syslog::listen() else {
        return;
    };
    let site = Site::new();
    let server = site.ours(&["-d", "-d", "-f", "local1"]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    syslog.clear();
    syslog.pause(std::time::Duration::from_millis(500));
    for _ in 0..12 {
        assert_eq!(ftp.cmd("NOOP").code, 200);
    }
    assert_eq!(ftp.cmd("QUIT").code, 221);
    // local1 is facility 17: priorities <136> to <143>.
    let ours = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| {
                l.get(1..4)
                    .and_then(|p| p.parse::<u16>().ok())
                    .is_some_and(|p| (136..=143).contains(&p))
            })
            .cloned()
            .collect()
    };
    let lines = ours(&syslog.until(|lines| ours(lines).iter().any(|l| l.ends_with("221 Logout."))));
    let count = |needle: &str| lines.iter().filter(|l| l.ends_with(needle)).count();
    assert_eq!(count("Command [noop] []"), 12, "{lines:#?}");
    assert_eq!(count("200 Zzz..."), 12, "{lines:#?}");
    assert_eq!(count("[INFO] Logout."), 1, "{lines:#?}");
    assert_eq!(count("221 Logout."), 1, "{lines:#?}");
}
