//! Bandwidth limits and ratios: measured rates within ±20% of the setting (retried,
//! never flaky), steady rather than bursty, and Pure-FTPd's replies.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::throughput::{timed_download, timed_upload, within_20_percent};
use common::*;

#[test]
fn downloads_keep_to_the_limit_steadily() {
    let site = Site::new();
    site.put("big.bin", &vec![7u8; 1536 * 1024]);
    // -T 512: 512 KB/s both ways, for every session.
    let server = site.ours(&["-T", "512"]);
    let wanted = 512.0 * 1024.0;
    let mut worst_window = 0;
    let rate = within_20_percent(wanted, || {
        let (rate, worst) = timed_download(server.port, USER, PASSWORD, "big.bin");
        worst_window = worst;
        rate
    });
    eprintln!("download throttled to 512 KB/s: {:.0} KB/s", rate / 1024.0);
    // No half second carries much more than half a second's worth (no bursts).
    assert!(
        (worst_window as f64) < wanted * 0.5 * 1.5,
        "a burst of {worst_window} bytes in half a second"
    );
}

#[test]
fn uploads_keep_to_the_limit() {
    let site = Site::new();
    // up:down, in KB/s.
    let server = site.ours(&["-T", "256:1024"]);
    let wanted = 256.0 * 1024.0;
    let rate = within_20_percent(wanted, || {
        timed_upload(server.port, USER, PASSWORD, 768 * 1024)
    });
    eprintln!("upload throttled to 256 KB/s: {:.0} KB/s", rate / 1024.0);
}

#[test]
fn the_accounts_own_bandwidth_wins() {
    let site = Site::new();
    site.put("big.bin", &vec![7u8; 1024 * 1024]);
    // pure-pw -t: download limit in KB/s.
    let pdb = site.pure_pw_account("slow", &["-t", "400"]);
    let login = format!("puredb:{}", pdb.display());
    let server = Server::start(Path::new(OURS), &["-l", &login, "-H", "-4", "-T", "5000"]);
    let rate = within_20_percent(400.0 * 1024.0, || {
        timed_download(server.port, "slow", "slow pw", "big.bin").0
    });
    eprintln!("account limited to 400 KB/s: {:.0} KB/s", rate / 1024.0);
}

#[test]
fn abor_stops_a_throttled_download_at_once() {
    let site = Site::new();
    site.put("big.bin", &vec![7u8; 4 * 1024 * 1024]);
    let server = site.ours(&["-T", "64"]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    let mut data = TcpStream::connect(address).unwrap();
    assert_eq!(ftp.cmd("RETR big.bin").code, 150);
    let mut buf = [0u8; 8192];
    let _ = data.read(&mut buf).unwrap();
    let started = Instant::now();
    ftp.send(b"ABOR");
    // As clients do: the data connection is closed with the abort.
    drop(data);
    let first = ftp.reply();
    assert_eq!(first.code, 426, "{first:?}");
    assert_eq!(ftp.reply().code, 226);
    assert!(started.elapsed() < Duration::from_secs(2));
}

fn transcript(port: u16, body: &str) -> Vec<String> {
    transcript::transcript(port, USER, PASSWORD, body)
}

#[test]
fn ratios_and_login_lines_match_debians() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    let body = r#"
t("storbinary", "STOR up.bin", io.BytesIO(b"x" * 50000))
t("retrbinary", "RETR big.bin", lambda d: None)
t("retrbinary", "RETR up.bin", lambda d: None)
t("sendcmd", "REST 100")
t("retrbinary", "RETR up.bin", lambda d: None)
t("retrbinary", "RETR up.bin", lambda d: None)
"#;
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        let site = Site::new();
        site.put("big.bin", &vec![7u8; 300_000]);
        let server = site.start(binary, &["-T", "4000", "-Q", "1:2"]);
        seen.push(transcript(server.port, body));
    }
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    assert!(seen[0][0].contains(
        "230-Your bandwidth usage is restricted|230-You must respect a 1:2 (UL/DL) ratio"
    ));
    assert!(seen[0][2].contains("550-Sorry, but the upload/download ratio is 1:2 ."));
}

#[test]
fn anonymous_limits_and_ratio_as_debian() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    if !require_root("anonymous FTP chroots to the ftp account's home") {
        return;
    }
    if nix::unistd::User::from_name("ftp").ok().flatten().is_none() {
        eprintln!("SKIP: no ftp account");
        return;
    }
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        // -t and -q only for anonymous sessions; users are not limited.
        let site = Site::new();
        let server = site.start(binary, &["-t", "100", "-q", "1:5"]);
        let (mut anonymous, _) = Ftp::connect(server.port);
        let anonymous_reply = anonymous.cmd("USER ftp").lines;
        let (mut user, _) = Ftp::connect(server.port);
        user.cmd(&format!("USER {USER}"));
        let user_reply = user.cmd(&format!("PASS {PASSWORD}")).lines;
        seen.push((anonymous_reply, user_reply));
    }
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    assert!(
        seen[0]
            .0
            .iter()
            .any(|l| l.contains("Your bandwidth usage is restricted"))
    );
    assert!(
        !seen[0]
            .1
            .iter()
            .any(|l| l.contains("restricted") || l.contains("ratio"))
    );
}

#[test]
fn the_accounts_own_ratio_and_upload_limit_apply() {
    let site = Site::new();
    site.put("big.bin", &vec![7u8; 300_000]);
    // pure-pw -q/-Q: the account's ratio; -T: its upload limit in KB/s.
    let pdb = site.pure_pw_account("leech", &["-q", "1", "-Q", "3", "-T", "300"]);
    let login = format!("puredb:{}", pdb.display());
    let server = Server::start(Path::new(OURS), &["-l", &login, "-H", "-4"]);
    let (mut ftp, _) = Ftp::connect(server.port);
    ftp.cmd("USER leech");
    let welcome = ftp.cmd("PASS leech pw");
    assert!(
        welcome.has("You must respect a 1:3 (UL/DL) ratio"),
        "{welcome:?}"
    );
    assert!(
        welcome.has("Your bandwidth usage is restricted"),
        "{welcome:?}"
    );
    ftp.cmd("TYPE I");
    // Nothing uploaded yet: a 300 KB download is over 3 x 0.
    let refused = ftp.download("RETR big.bin").0;
    assert_eq!(refused.code, 550, "{refused:?}");
    // 150 KB up allows 450 KB down; the upload keeps to 300 KB/s.
    let started = Instant::now();
    let (first, last) = ftp.upload("STOR up.bin", &vec![1u8; 150_000]);
    assert_eq!((first.code, last.unwrap().code), (150, 226));
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        seconds > 150_000.0 / (300.0 * 1024.0) * 0.8,
        "{seconds} s: not throttled"
    );
    let allowed = ftp.download("RETR big.bin");
    assert_eq!(allowed.0.code, 150, "{:?}", allowed.0);
    assert_eq!(allowed.1.len(), 300_000);
}

/// The account's own ratio (pure-pw's -q/-Q) applies without -Q on the server, and not
/// at all to a member of the trusted group (-a), whom Pure-FTPd exempts from every ratio,
/// the account's own included: as Debian's, both ways.
#[test]
fn the_accounts_own_ratio_spares_the_trusted_group_as_debians() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    let body = r#"
t("retrbinary", "RETR big.bin", lambda d: None)
t("storbinary", "STOR up.bin", io.BytesIO(b"x" * 50000))
t("retrbinary", "RETR big.bin", lambda d: None)
"#;
    let mut refused = Vec::new();
    for trusted in [false, true] {
        let mut seen = Vec::new();
        for binary in [Path::new(OURS), theirs.as_path()] {
            let site = Site::new();
            // 300 KB: more than 3 x 50 KB, so refused before and after the upload.
            site.put("big.bin", &vec![7u8; 300_000]);
            let pdb = site.pure_pw_account("leech", &["-q", "1", "-Q", "3"]);
            let login = format!("puredb:{}", pdb.display());
            let gid = site.gid.to_string();
            let mut args = vec!["-l", &login, "-H", "-4"];
            if trusted {
                args.extend(["-a", &gid]);
            }
            let server = Server::start(binary, &args);
            seen.push(transcript::transcript(
                server.port,
                "leech",
                "leech pw",
                body,
            ));
        }
        assert_eq!(
            seen[0], seen[1],
            "trusted: {trusted}; ours (left), Debian's (right)"
        );
        refused.push(
            seen[0]
                .iter()
                .any(|l| l.contains("upload/download ratio is 1:3")),
        );
    }
    assert_eq!(
        refused,
        [true, false],
        "the ratio applies, then not to the trusted group"
    );
}

#[test]
fn anonymous_downloads_keep_to_t() {
    if !require_root("anonymous FTP chroots to the ftp account's home")
        || !anonymous::account_exists("ftp")
    {
        return;
    }
    let area = anonymous::AnonArea::tagged("rate");
    area.put("big.bin", &vec![7u8; 768 * 1024]);
    // -t 256: anonymous sessions get 256 KB/s; -T would be everyone's.
    let site = Site::new();
    site.put("big.bin", &vec![7u8; 768 * 1024]);
    let server = site.ours(&["-t", "256"]);
    let wanted = 256.0 * 1024.0;
    let file = format!("{}/big.bin", area.name);
    let mut worst_window = 0;
    let rate = within_20_percent(wanted, || {
        let (rate, worst) = timed_download(server.port, "ftp", "x", &file);
        worst_window = worst;
        rate
    });
    eprintln!(
        "anonymous download throttled to 256 KB/s: {:.0} KB/s",
        rate / 1024.0
    );
    assert!(
        (worst_window as f64) < wanted * 0.5 * 1.5,
        "a burst of {worst_window} bytes in half a second"
    );
    // The same server leaves authenticated users alone.
    let (user_rate, _) = timed_download(server.port, USER, PASSWORD, "big.bin");
    assert!(
        user_rate > wanted * 2.0,
        "users are not limited by -t: {user_rate:.0} B/s"
    );
}

/// An anonymous session under `-q 1:5`: a download before any upload, an upload,
/// then downloads within and beyond the credit; the replies.
fn anonymous_ratio_transcript(port: u16, area: &str) -> Vec<String> {
    let mut ftp = Ftp::login(port, "ftp", "x");
    let mut seen = vec![ftp.cmd(&format!("CWD {area}")).text()];
    ftp.cmd("TYPE I");
    let mut download = |ftp: &mut Ftp, name: &str| {
        let (first, data, last) = ftp.download(&format!("RETR {name}"));
        // The rate line of a 226 differs from run to run.
        let last = last.map(|r| r.lines[0].clone()).unwrap_or_default();
        seen.push(format!("{} / {} bytes / {last}", first.text(), data.len()));
    };
    download(&mut ftp, "file.bin");
    let (first, last) = ftp.upload("STOR gift.bin", &vec![b'g'; 4096]);
    let stored = format!("{} / {}", first.text(), last.map(|r| r.code).unwrap_or(0));
    download(&mut ftp, "file.bin");
    download(&mut ftp, "file.bin");
    seen.insert(2, stored);
    seen
}

#[test]
fn anonymous_ratio_refuses_downloads_as_debian() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    if !require_root("anonymous FTP chroots to the ftp account's home")
        || !anonymous::account_exists("ftp")
    {
        return;
    }
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        // The same directory name for both, so that the replies can be compared.
        let area = anonymous::AnonArea::tagged("ratio");
        area.put("file.bin", &vec![1u8; 12 * 1024]);
        let server = Server::start(binary, &["-H", "-4", "-q", "1:5"]);
        seen.push(anonymous_ratio_transcript(server.port, &area.name));
        drop(server);
        assert!(area.path.join("gift.bin").exists());
    }
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    let ours = &seen[0];
    eprintln!("{ours:#?}");
    assert!(
        ours[1].starts_with("550-Sorry, but the upload/download ratio is 1:5 ."),
        "{ours:?}"
    );
    assert!(
        ours[1].ends_with("/ 0 bytes / "),
        "refused: nothing sent: {ours:?}"
    );
    assert!(
        ours[3].contains(&format!("/ {} bytes / 226", 12 * 1024)),
        "{ours:?}"
    );
    assert!(
        ours[4].starts_with("550-Sorry, but the upload/download ratio is 1:5 ."),
        "credit used up: {ours:?}"
    );
}
