//! `pure-ftpd /path/to/pure-ftpd.conf`: the same file gives the same server as
//! Debian's, and mistakes are start-up errors naming the line.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A server started with only a configuration file; killed when dropped.
struct Configured(Child);

impl Drop for Configured {
    fn drop(&mut self) {
        let sessions = pureftpd_tests::server::sessions_of(self.0.id());
        let _ = self.0.kill();
        let _ = self.0.wait();
        pureftpd_tests::server::remove_debians_records(&sessions);
    }
}

/// `binary` with its configuration file `conf`, listening on `port`; ours keeps its
/// scoreboard in `board` (Debian's has no such setting).
fn start(binary: &Path, conf: &Path, port: u16, board: &Path) -> Configured {
    let child = Command::new(binary)
        .arg(conf)
        .env("PURE_FTPD_SCOREBOARD", board)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} did not listen",
            binary.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Configured(child)
}

#[test]
fn the_same_file_gives_the_same_server_as_debians() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        let site = Site::new();
        let port = pureftpd_tests::free_port();
        let conf = site.dir.path().join("pure-ftpd.conf");
        std::fs::write(
            &conf,
            format!(
                "# as an admin writes it\n\
                 Bind                127.0.0.1,{port}\n\
                 PureDB              {}\n\
                 IPV4Only            yes\n\
                 DontResolve         yes\n\
                 NoAnonymous         yes\n\
                 AnonymousOnly       no\n\
                 MaxIdleTime         7\n\
                 PassivePortRange    30000 30100\n\
                 UserBandwidth       100 200\n\
                 UserRatio           1 3\n\
                 PIDFile             {}\n",
                site.pdb.display(),
                site.dir.path().join("pid").display()
            ),
        )
        .unwrap();
        let _server = start(binary, &conf, port, &site.scoreboard());
        let (mut ftp, greeting) = Ftp::connect(port);
        ftp.cmd(&format!("USER {USER}"));
        let login = ftp.cmd(&format!("PASS {PASSWORD}"));
        let passive = ftp.pasv().port();
        assert!((30000..=30100).contains(&passive), "{passive}");
        let greeting: Vec<String> = greeting
            .lines
            .into_iter()
            .filter(|l| !l.contains("Local time") && !l.contains("user number"))
            .collect();
        seen.push((greeting, login.lines));
    }
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    assert!(seen[0].1.iter().any(|l| l.contains("1:3 (UL/DL) ratio")));
}

#[test]
fn mistakes_are_start_up_errors_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "Bind 127.0.0.1,21\nFooBar yes\n").unwrap();
    let outcome = pureftpd_tests::run(Path::new(OURS), [&conf], &[], "");
    assert_eq!(outcome.code, 252, "{outcome:?}");
    assert!(
        outcome
            .stderr
            .contains(":2:1: property not found line 2: [FooBar yes]."),
        "{}",
        outcome.stderr
    );
    let missing = pureftpd_tests::run(Path::new(OURS), ["/nonexistent.conf"], &[], "");
    assert_eq!(missing.code, 252);
    assert!(
        missing
            .stderr
            .contains("Unable to open [/nonexistent.conf]")
    );
}
