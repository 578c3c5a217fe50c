//! pure-sftpd's key logins with real clients (OpenSSH's `sftp` in batch mode, paramiko):
//! keys come from the admin's directory (`--userkeydir`), one file per login, never
//! from the account's home; a key file others may write is not used, and the log says
//! why; `ssh-rsa` (SHA-1) signatures are refused; a key listed for one login does not
//! open another; passwords still work beside keys; the account's rules (`-u`, `-y`)
//! apply to key logins as to passwords. (How many unlisted keys a client may try is
//! checked against sshd in `sftp_reference.rs`.)

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::sftp::{key_dir, key_pair, public, random_bytes, sftp, sftp_with_key, start, text};
use common::{PASSWORD, Site, USER, have, require_root};

#[test]
fn keys_the_admin_lists_log_in_and_no_other_key_does() {
    let Some(syslog) = common::syslog::Syslog::listen() else {
        return;
    };
    if !require_root("switching to the account's ids") || !have("sftp") {
        return;
    }
    let site = Site::new();
    let local = tempfile::tempdir().unwrap();
    let ed25519 = key_pair(local.path(), "ed25519", "listed-ed25519");
    let rsa = key_pair(local.path(), "rsa", "listed-rsa");
    let in_home = key_pair(local.path(), "ed25519", "home");
    let keys = key_dir(&[(
        USER,
        &format!(
            "# {USER}'s keys\n{}restrict,no-pty {}",
            public(&ed25519),
            public(&rsa)
        ),
    )]);
    // What a user could upload: never read.
    let ssh_dir = site.home.join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    std::fs::write(ssh_dir.join("authorized_keys"), public(&in_home)).unwrap();
    let key_dir_arg = keys.path().display().to_string();
    let server = start(&site, &["-f", "local3", "--userkeydir", &key_dir_arg]);
    syslog.clear();

    let up = random_bytes(200_003);
    std::fs::write(local.path().join("up.bin"), &up).unwrap();
    for key in [&ed25519, &rsa] {
        let _ = std::fs::remove_file(local.path().join("back.bin"));
        let out = sftp_with_key(server.port, local.path(), USER, key, &[]);
        assert!(
            out.status.success(),
            "{}: {}\n{}",
            key.display(),
            text(&out),
            server.stderr()
        );
        assert_eq!(std::fs::read(local.path().join("back.bin")).unwrap(), up);
        let meta = std::fs::metadata(site.home.join("up.bin")).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (site.uid, site.gid));
        assert_eq!(site.read("up.bin"), up);
    }
    let fingerprint = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(ed25519.with_extension("pub"))
        .output()
        .unwrap();
    let fingerprint = String::from_utf8_lossy(&fingerprint.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let expected = format!("Public key {fingerprint} accepted for [{USER}]");
    let lines = syslog.until(|lines| lines.iter().any(|l| l.contains(&expected)));
    assert!(
        lines.iter().any(|l| l.contains(&expected)),
        "{expected}: {lines:#?}"
    );

    // The key in the home, the right key for another login, RSA signed with SHA-1:
    // refused, and the session goes no further than the login.
    for (user, key, extra) in [
        (USER, &in_home, &[][..]),
        ("nobody-here", &ed25519, &[]),
        (
            USER,
            &rsa,
            &[
                "-o",
                "PubkeyAcceptedAlgorithms=ssh-rsa",
                "-o",
                "HostKeyAlgorithms=+ssh-rsa",
            ],
        ),
    ] {
        let out = sftp_with_key(server.port, local.path(), user, key, extra);
        assert!(
            !out.status.success(),
            "{user} {}: {}",
            key.display(),
            text(&out)
        );
        assert!(
            text(&out).contains("Permission denied"),
            "{user} {}: {}",
            key.display(),
            text(&out)
        );
    }

    // Passwords still work beside keys.
    let out = sftp(server.port, local.path(), USER, PASSWORD, "pwd\nbye\n");
    assert!(out.status.success(), "{}", text(&out));

    // A key file others may write is not used, and the log says what to do.
    let file = keys.path().join(USER);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    syslog.clear();
    let out = sftp_with_key(server.port, local.path(), USER, &ed25519, &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let lines = syslog.until(|lines| lines.iter().any(|l| l.contains("no one else may write")));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("no one else may write") && l.contains(&*file.to_string_lossy())),
        "{lines:#?}"
    );
}

const PARAMIKO_KEY: &str = r#"
import hashlib, io, sys, paramiko
port, user, key_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
client = paramiko.SSHClient()
client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
key = paramiko.Ed25519Key.from_private_key_file(key_file)
try:
    client.connect("127.0.0.1", port=port, username=user, pkey=key,
                   look_for_keys=False, allow_agent=False, timeout=20)
except paramiko.AuthenticationException:
    print("refused")
    sys.exit(0)
sftp = client.open_sftp()
data = bytes(range(256)) * 4099
sftp.putfo(io.BytesIO(data), "paramiko.bin")
back = io.BytesIO()
sftp.getfo("paramiko.bin", back)
assert back.getvalue() == data
print("sha256", hashlib.sha256(data).hexdigest())
client.close()
"#;

#[test]
fn paramiko_logs_in_with_a_listed_key() {
    if !require_root("switching to the account's ids") || !have("python3") {
        return;
    }
    let site = Site::new();
    let local = tempfile::tempdir().unwrap();
    let listed = key_pair(local.path(), "ed25519", "listed");
    let other = key_pair(local.path(), "ed25519", "other");
    let keys = key_dir(&[(USER, &public(&listed))]);
    let key_dir_arg = keys.path().display().to_string();
    let server = start(&site, &["--userkeydir", &key_dir_arg]);
    let run = |key: &Path| {
        let out = Command::new("timeout")
            .args([
                "60",
                "python3",
                "-c",
                PARAMIKO_KEY,
                &server.port.to_string(),
                USER,
            ])
            .arg(key)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{}\n{}", text(&out), server.stderr());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = run(&listed);
    let stored = site.read("paramiko.bin");
    let digest = Command::new("sha256sum")
        .arg(site.home.join("paramiko.bin"))
        .output()
        .unwrap();
    let digest = String::from_utf8_lossy(&digest.stdout);
    assert_eq!(stored.len(), 256 * 4099);
    assert!(
        said.contains(&format!("sha256 {}", &digest[..64])),
        "{said} {digest}"
    );
    assert_eq!(run(&other).trim(), "refused");
}

/// A key proves who the client is, nothing more: the account's rules apply as to a
/// password. `-u` above the account's uid refuses it; `-y` counts the account's FTP
/// sessions on the same scoreboard, and frees the place when they end.
#[test]
fn key_logins_meet_the_minimum_uid_and_the_session_limit() {
    if !require_root("switching to the account's ids") || !have("sftp") {
        return;
    }
    let site = Site::new();
    let local = tempfile::tempdir().unwrap();
    let listed = key_pair(local.path(), "ed25519", "listed");
    let keys = key_dir(&[(USER, &public(&listed))]);
    let key_dir_arg = keys.path().display().to_string();
    std::fs::write(local.path().join("up.bin"), b"up").unwrap();
    let above = (site.uid + 1).to_string();

    let strict = start(&site, &["--userkeydir", &key_dir_arg, "-u", &above]);
    let out = sftp_with_key(strict.port, local.path(), USER, &listed, &[]);
    assert!(!out.status.success(), "-u {above}: {}", text(&out));
    assert!(!site.home.join("up.bin").exists());

    let limited = start(&site, &["--userkeydir", &key_dir_arg, "-y", "1:1"]);
    let ftpd = site.ours(&[]);
    let mut ftp = common::Ftp::login(ftpd.port, USER, PASSWORD);
    let out = sftp_with_key(limited.port, local.path(), USER, &listed, &[]);
    assert!(!out.status.success(), "-y 1:1: {}", text(&out));
    assert!(!site.home.join("up.bin").exists());
    // Told why, in pure-ftpd's words (ssh shows a disconnect at its default log level).
    let mut ssh = common::sftp::openssh("ssh", limited.port);
    let out = common::sftp::keys_only(&mut ssh, &[&listed])
        .arg(format!("{USER}@127.0.0.1"))
        .output()
        .expect("ssh runs");
    assert!(
        text(&out).contains("I can't accept more than 1 connections as the same user"),
        "{}",
        text(&out)
    );
    ftp.cmd("QUIT");
    assert!(
        common::sftp::eventually(
            || sftp_with_key(limited.port, local.path(), USER, &listed, &[])
                .status
                .success()
        ),
        "the FTP session ended: its place is free again\n{}",
        limited.stderr()
    );
    assert_eq!(site.read("up.bin"), b"up");
}
