//! pure-sftpd's bandwidth limits and ratios, with paramiko: `-T` paces uploads and
//! downloads, an account's own limit (pure-pw's `-t`) wins over it, and `-Q` refuses a
//! download the session's uploads do not cover, in pure-ftpd's words, as does an
//! account's own ratio. Rates are checked
//! from above only (a loaded machine can only make transfers slower).

mod common;

use std::process::Command;

use common::sftp::{start_with_login, text};
use common::{PASSWORD, Site, USER, have, require_root};

/// Uploads then downloads `size` bytes as `paced.bin`; prints both rates in bytes per
/// second, or, with `size` 0, tries to download `a.txt` and prints what happened.
const TRANSFERS: &str = crate::paramiko_sftp!(
    r#"
import time
size = int(sys.argv[4])
if size == 0:
    try:
        sftp.getfo("a.txt", io.BytesIO())
        print("downloaded")
    except IOError as e:
        print("refused:", e)
    sftp.putfo(io.BytesIO(b"x" * 100), "gift.bin")
    back = io.BytesIO()
    sftp.getfo("a.txt", back)
    print("then downloaded", len(back.getvalue()))
    sys.exit(0)
data = bytes(range(256)) * (size // 256)
started = time.monotonic()
sftp.putfo(io.BytesIO(data), "paced.bin")
up = len(data) / (time.monotonic() - started)
back = io.BytesIO()
started = time.monotonic()
sftp.getfo("paced.bin", back)
down = len(data) / (time.monotonic() - started)
assert back.getvalue() == data
print(int(up), int(down))
"#
);

fn run(port: u16, user: &str, password: &str, size: usize) -> String {
    let out = Command::new("timeout")
        .args([
            "120",
            "python3",
            "-c",
            TRANSFERS,
            &port.to_string(),
            user,
            password,
        ])
        .arg(size.to_string())
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rates(said: &str) -> (f64, f64) {
    let numbers: Vec<f64> = said
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn bandwidth_limits_pace_transfers_and_an_accounts_own_wins() {
    if !require_root("switching to the account's ids") || !have("python3") {
        return;
    }
    let site = Site::new();
    let own = site.pure_pw_account("slow", &["-t", "32"]);
    let chain = format!("puredb:{}", site.pdb.display());
    let server = start_with_login(
        &site,
        &chain,
        &["-l", &format!("puredb:{}", own.display()), "-T", "128:64"],
    );
    let size = 192 * 1024;
    let (up, down) = rates(&run(server.port, USER, PASSWORD, size));
    eprintln!("-T 128:64: upload {up:.0} B/s, download {down:.0} B/s");
    assert!(
        up <= 128.0 * 1024.0 * 1.25,
        "upload {up} B/s under -T 128:64"
    );
    assert!(
        down <= 64.0 * 1024.0 * 1.25,
        "download {down} B/s under -T 128:64"
    );
    assert_eq!(site.read("paced.bin").len(), size);
    let (up, down) = rates(&run(server.port, "slow", "slow pw", size));
    assert!(
        up <= 128.0 * 1024.0 * 1.25,
        "upload {up} B/s under -T 128:64"
    );
    assert!(
        down <= 32.0 * 1024.0 * 1.25,
        "download {down} B/s with its own 32 KB/s"
    );
}

#[test]
fn a_ratio_refuses_downloads_the_sessions_uploads_do_not_cover() {
    if !require_root("switching to the account's ids") || !have("python3") {
        return;
    }
    let site = Site::new();
    let chain = format!("puredb:{}", site.pdb.display());
    let server = start_with_login(&site, &chain, &["-Q", "1:2"]);
    let said = run(server.port, USER, PASSWORD, 0);
    assert!(
        said.contains("refused: [Errno 13] Sorry, but the upload/download ratio is 1:2 ."),
        "{said}"
    );
    // 100 bytes uploaded cover 200 downloaded.
    assert!(said.contains("then downloaded 12"), "{said}");
    // Without -Q, nothing is refused.
    let free = start_with_login(&site, &chain, &[]);
    assert!(run(free.port, USER, PASSWORD, 0).starts_with("downloaded"));
    // An account's own ratio (pure-pw's -q/-Q) applies without -Q, as in pure-ftpd.
    let own = site.pure_pw_account("leech", &["-q", "1", "-Q", "2"]);
    let own_chain = format!("puredb:{}", own.display());
    let server = start_with_login(&site, &own_chain, &[]);
    let said = run(server.port, "leech", "leech pw", 0);
    assert!(
        said.contains("refused: [Errno 13] Sorry, but the upload/download ratio is 1:2 ."),
        "{said}"
    );
    assert!(said.contains("then downloaded 12"), "{said}");
}
