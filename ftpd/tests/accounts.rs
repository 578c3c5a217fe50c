//! Anonymous FTP and system accounts (`-l unix`). They need accounts that
//! `scripts/install-test-deps.sh` creates as root: `ftp` (home /srv/ftp) and
//! `pureftpd-tester` (password "Tester pw 1", a yescrypt hash in /etc/shadow).

mod common;

use common::anonymous::{AnonArea, account_exists};
use common::{Ftp, Server};

const TESTER: &str = "pureftpd-tester";
const TESTER_PASSWORD: &str = "Tester pw 1";

/// A server and its scoreboard directory, removed once the server has stopped.
struct Started {
    server: Server,
    _board: tempfile::TempDir,
}

impl std::ops::Deref for Started {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

fn start(extra: &[&str]) -> Started {
    let board = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        std::path::Path::new(common::OURS),
        &[&["-H", "-4"][..], extra].concat(),
        &[("PURE_FTPD_SCOREBOARD", board.path())],
    );
    Started {
        server,
        _board: board,
    }
}

#[test]
fn anonymous_ftp() {
    if !common::require_root("anonymous FTP (it chroots to ftp's home)") || !account_exists("ftp") {
        return;
    }
    let area = AnonArea::new();
    let server = start(&[]);
    let (mut ftp, _) = Ftp::connect(server.port);
    assert_eq!(
        ftp.cmd("USER anonymous").text(),
        "230 Anonymous user logged in"
    );
    assert_eq!(
        ftp.cmd("PASS me@example.com").text(),
        "230 Any password will work"
    );
    assert_eq!(ftp.cmd("USER ftp").text(), "230 Anonymous user logged in");
    assert_eq!(ftp.cmd(&format!("CWD {}", area.name)).code, 250);
    let (_, data, _) = ftp.download("RETR readme.txt");
    assert_eq!(data, b"public\r\n");
    let (_, data, _) = ftp.download("LIST -a");
    let listing = String::from_utf8_lossy(&data).to_string();
    assert!(
        listing.contains(" readme.txt\r\n") && !listing.contains(".secret"),
        "{listing}"
    );
    assert_eq!(
        ftp.download("RETR .secret").0.text(),
        "553 Prohibited file name: .secret"
    );
    assert_eq!(
        ftp.cmd("DELE readme.txt").text(),
        "550 Anonymous users can not delete files"
    );
    assert_eq!(
        ftp.cmd("RMD x").text(),
        "550 Sorry, anonymous users are not allowed to remove directories"
    );
    assert_eq!(
        ftp.cmd("MKD x").text(),
        "550 Sorry, anonymous users are not allowed to create directories"
    );
    assert_eq!(
        ftp.cmd("RNFR readme.txt").text(),
        "550 Anonymous users are not allowed to move/rename files"
    );
    // Refused for what the session is, not for the missing RNFR (Pure-FTPd's order).
    assert_eq!(
        ftp.cmd("RNTO x").text(),
        "550 Anonymous users are not allowed to move/rename files"
    );
    assert_eq!(
        ftp.cmd("SITE CHMOD 777 readme.txt").text(),
        "550 Anonymous users can not change perms"
    );
    assert_eq!(
        ftp.upload("STOR nonempty.txt", b"x").0.text(),
        "550 Anonymous users may not overwrite existing files"
    );
    assert_eq!(
        ftp.upload("STOR empty.txt", b"filled").0.code,
        150,
        "an empty file may be overwritten"
    );
    assert_eq!(ftp.upload("STOR new.txt", b"new").0.code, 150);
    assert_eq!(std::fs::read(area.path.join("new.txt")).unwrap(), b"new");
    use std::os::unix::fs::MetadataExt;
    let ftp_uid = nix::unistd::User::from_name("ftp")
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    assert_eq!(
        std::fs::metadata(area.path.join("new.txt")).unwrap().uid(),
        ftp_uid
    );
    assert_eq!(
        ftp.cmd("CWD /../../..").text(),
        "250 OK. Current directory is /",
        "chrooted to ftp's home"
    );
}

#[test]
fn anonymous_switches() {
    if !common::require_root("anonymous FTP") || !account_exists("ftp") {
        return;
    }
    let area = AnonArea::new();
    let no_uploads = start(&["-i", "-M"]);
    let mut ftp = Ftp::login(no_uploads.port, "ftp", "x");
    ftp.cmd(&format!("CWD {}", area.name));
    assert_eq!(
        ftp.upload("STOR new.txt", b"x").0.text(),
        "550 Anonymous users may not overwrite existing files"
    );
    // Refused for -i before the name is looked at (Pure-FTPd's order).
    assert_eq!(
        ftp.cmd("STOR .hidden").text(),
        "550 Anonymous users may not overwrite existing files"
    );
    assert_eq!(ftp.cmd("MKD made").code, 257, "-M allows anonymous MKD");
    let loaded = start(&["-m", "0.000001"]);
    let mut ftp = Ftp::login(loaded.port, "ftp", "x");
    ftp.cmd(&format!("CWD {}", area.name));
    let refused = ftp.download("RETR readme.txt").0;
    assert_eq!(refused.code, 550);
    assert!(
        refused.lines[0].starts_with("550-The load was ") && refused.lines[2] == "550 allowed.",
        "{refused:?}"
    );
    let private = start(&["-E"]);
    let (mut ftp, greeting) = Ftp::connect(private.port);
    assert!(
        greeting.has("This is a private system - No anonymous login"),
        "{greeting:?}"
    );
    assert_eq!(
        ftp.cmd("USER ftp").text(),
        "331 User ftp OK. Password required"
    );
    let only = start(&["-e"]);
    let (mut ftp, greeting) = Ftp::connect(only.port);
    assert!(
        greeting.has("Only anonymous FTP is allowed here"),
        "{greeting:?}"
    );
    assert_eq!(
        ftp.cmd("USER somebody").text(),
        "230 Anonymous user logged in"
    );
}

#[test]
fn system_accounts_with_shadow_hashes() {
    if !common::require_root("the unix backend (it reads /etc/shadow)") || !account_exists(TESTER) {
        return;
    }
    let server = start(&["-l", "unix", "-E"]);
    let mut ftp = Ftp::connect(server.port).0;
    ftp.cmd(&format!("USER {TESTER}"));
    let reply = ftp.cmd(&format!("PASS {TESTER_PASSWORD}"));
    let home = nix::unistd::User::from_name(TESTER).unwrap().unwrap().dir;
    assert_eq!(
        reply.text(),
        format!("230 OK. Current directory is {}", home.display()),
        "no chroot for a plain home"
    );
    assert_eq!(
        ftp.cmd("PWD").text(),
        format!("257 \"{}\" is your current location", home.display())
    );
    let chrooted = start(&["-l", "unix", "-E", "-A"]);
    let mut ftp = Ftp::connect(chrooted.port).0;
    ftp.cmd(&format!("USER {TESTER}"));
    assert_eq!(
        ftp.cmd(&format!("PASS {TESTER_PASSWORD}")).text(),
        "230 OK. Current restricted directory is /"
    );
    let (_, data, _) = ftp.download("LIST /etc/passwd");
    assert!(data.is_empty(), "chrooted: no /etc");
    let mut wrong = Ftp::connect(chrooted.port).0;
    wrong.cmd(&format!("USER {TESTER}"));
    assert_eq!(
        wrong.cmd("PASS nope").text(),
        "530 Login authentication failed"
    );
}

/// `-w` allows FXP to users only; `-W` to anonymous sessions too (issue 5's "-W FXP").
#[test]
fn anonymous_fxp_only_with_capital_w_as_debian() {
    if !common::require_root("anonymous FTP") || !account_exists("ftp") {
        return;
    }
    let theirs = common::oracle("pure-ftpd");
    let mut binaries = vec![std::path::PathBuf::from(common::OURS)];
    binaries.extend(theirs);
    let mut seen = Vec::new();
    for binary in &binaries {
        let mut replies = Vec::new();
        for flag in ["-w", "-W"] {
            let board = tempfile::tempdir().unwrap();
            let server = Server::start_with_env(
                binary,
                &["-H", "-4", flag],
                &[("PURE_FTPD_SCOREBOARD", board.path())],
            );
            let mut ftp = Ftp::login(server.port, "ftp", "x");
            replies.push(ftp.cmd("PORT 10,0,0,1,200,10").text());
        }
        seen.push(replies);
    }
    assert_eq!(
        seen[0],
        [
            "500 I won't open a connection to 10.0.0.1 (only to 127.0.0.1)",
            "200-FXP transfer: from 127.0.0.1 to 10.0.0.1\n200 PORT command successful"
        ]
    );
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    }
}
