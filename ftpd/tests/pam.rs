//! `-l pam`: a real PAM conversation through the system's `/etc/pam.d/pure-ftpd` (the
//! one Debian's pure-ftpd package installs: pam_listfile, pam_unix, pam_shells), the
//! same logins through Debian's pure-ftpd and ours, and the chain passing on what PAM
//! refuses.

mod common;

use std::path::Path;

use common::{Ftp, OURS, PASSWORD, Server, Site, USER, login_attempts};

/// The account `scripts/install-test-deps.sh` creates, with a shadow password.
const SYSTEM_USER: &str = "pureftpd-tester";
const SYSTEM_PASSWORD: &str = "Tester pw 1";

fn ready() -> bool {
    if !common::require_root("PAM's pam_unix reads /etc/shadow") {
        return false;
    }
    let have_service = Path::new("/etc/pam.d/pure-ftpd").exists();
    let have_user = nix::unistd::User::from_name(SYSTEM_USER)
        .ok()
        .flatten()
        .is_some();
    if !(have_service && have_user) {
        let required = std::env::var_os("PUREFTPD_REQUIRE_ORACLE").is_some_and(|v| v == "1");
        assert!(
            !required,
            "/etc/pam.d/pure-ftpd and the account {SYSTEM_USER} are required: scripts/install-test-deps.sh"
        );
        eprintln!(
            "SKIP: no /etc/pam.d/pure-ftpd or no {SYSTEM_USER} (scripts/install-test-deps.sh)"
        );
        return false;
    }
    true
}

#[test]
fn logins_through_pam_as_debians() {
    if !ready() {
        return;
    }
    let Some(theirs) = common::oracle("pure-ftpd") else {
        return;
    };
    let site = Site::new();
    let pdb = format!("puredb:{}", site.pdb.display());
    let board = site.scoreboard();
    let args = ["-l", "pam", "-l", &pdb, "-H", "-4"];
    let env = [("PURE_FTPD_SCOREBOARD", board.as_path())];
    let ours = Server::start_with_env(Path::new(OURS), &args, &env);
    let debian = Server::start_with_env(&theirs, &args, &env);
    let cases = [
        (SYSTEM_USER, SYSTEM_PASSWORD),
        (SYSTEM_USER, "wrong"),
        ("no-such-user", "x"),
        // Listed in /etc/ftpusers: pam_listfile refuses it, whatever the password.
        ("root", "x"),
        // PAM refuses the .pdb's user: the chain's next backend takes it.
        (USER, PASSWORD),
    ];
    let ours_replies = login_attempts(ours.port, &cases);
    assert_eq!(ours_replies, login_attempts(debian.port, &cases));
    let logged_in: Vec<bool> = ours_replies
        .iter()
        .map(|r| r.iter().any(|l| l.starts_with("230")))
        .collect();
    assert_eq!(logged_in, [true, false, false, false, true]);
}

#[test]
fn the_session_runs_as_the_pam_account() {
    if !ready() {
        return;
    }
    let site = Site::new();
    let board = site.scoreboard();
    let ours = Server::start_with_env(
        Path::new(OURS),
        &["-l", "pam", "-H", "-4"],
        &[("PURE_FTPD_SCOREBOARD", board.as_path())],
    );
    let account = nix::unistd::User::from_name(SYSTEM_USER).unwrap().unwrap();
    let mut ftp = Ftp::login(ours.port, SYSTEM_USER, SYSTEM_PASSWORD);
    assert!(
        ftp.cmd("PWD")
            .text()
            .contains(account.dir.to_str().unwrap()),
        "the home of the system account"
    );
    ftp.cmd("TYPE I");
    let name = format!("pam-upload-{}", std::process::id());
    let (first, last) = ftp.upload(&format!("STOR {name}"), b"through PAM");
    assert_eq!((first.code, last.map(|r| r.code)), (150, Some(226)));
    let path = account.dir.join(&name);
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
    assert_eq!(owner, account.uid.as_raw());
}

#[test]
fn without_l_the_chain_is_pam_as_debians() {
    if !ready() {
        return;
    }
    let Some(theirs) = common::oracle("pure-ftpd") else {
        return;
    };
    let site = Site::new();
    let board = site.scoreboard();
    let env = [("PURE_FTPD_SCOREBOARD", board.as_path())];
    let ours = Server::start_with_env(Path::new(OURS), &["-H", "-4"], &env);
    let debian = Server::start_with_env(&theirs, &["-H", "-4"], &env);
    let cases = [
        (SYSTEM_USER, SYSTEM_PASSWORD),
        ("root", "x"),
        (USER, PASSWORD),
    ];
    let ours_replies = login_attempts(ours.port, &cases);
    assert_eq!(ours_replies, login_attempts(debian.port, &cases));
    assert!(ours_replies[0].iter().any(|l| l.starts_with("230")));
    assert!(ours_replies[2].iter().all(|l| !l.starts_with("230")));
}

#[test]
fn credentials_and_a_session_as_debians() {
    if !ready() {
        return;
    }
    let Some(syslog) = common::syslog::Syslog::listen() else {
        return;
    };
    let mut binaries = vec![std::path::PathBuf::from(OURS)];
    binaries.extend(common::oracle("pure-ftpd"));
    let mut seen = vec![];
    for binary in binaries {
        let site = Site::new();
        let board = site.scoreboard();
        let server = Server::start_with_env(
            &binary,
            &["-l", "pam", "-H", "-4"],
            &[("PURE_FTPD_SCOREBOARD", board.as_path())],
        );
        syslog.clear();
        let mut ftp = Ftp::login(server.port, SYSTEM_USER, SYSTEM_PASSWORD);
        assert_eq!(ftp.cmd("NOOP").code, 200);
        // pam_unix's session module says when the session opens and closes, which
        // only happens if the server opens one.
        let said = |lines: &[String], what: &str| {
            lines.iter().any(|l| {
                l.contains("pam_unix(pure-ftpd:session)")
                    && l.contains(what)
                    && l.contains(SYSTEM_USER)
            })
        };
        let lines = syslog.until(|l| said(l, "session opened") && said(l, "session closed"));
        seen.push((
            said(&lines, "session opened"),
            said(&lines, "session closed"),
        ));
        assert_eq!(
            seen.last(),
            Some(&(true, true)),
            "{}: {lines:#?}",
            binary.display()
        );
    }
}
