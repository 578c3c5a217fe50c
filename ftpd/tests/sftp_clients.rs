//! pure-sftpd with rclone's sftp backend (Go's x/crypto/ssh and pkg/sftp, a client
//! unlike OpenSSH's, libssh2 and paramiko): a tree copied up and down, checked byte for
//! byte (`rclone check --download`, and here), a rename, modification times kept,
//! deletions. rclone asks for `md5sum` by `exec`, which pure-sftpd refuses: it goes on
//! without remote hashes, as with OpenSSH's `internal-sftp`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::sftp::{random_bytes, start, text};
use common::{PASSWORD, Site, USER, have, require_root};

fn rclone(port: u16, args: &[&str]) -> Output {
    let obscured = Command::new("rclone")
        .args(["obscure", PASSWORD])
        .output()
        .expect("rclone runs (apt-get install rclone)");
    let pass = String::from_utf8_lossy(&obscured.stdout).trim().to_string();
    Command::new("timeout")
        .args([
            "120",
            "rclone",
            "--config",
            "/dev/null",
            "--low-level-retries",
            "1",
        ])
        .args(["--retries", "1", "--sftp-host", "127.0.0.1", "--sftp-port"])
        .arg(port.to_string())
        .args(["--sftp-user", USER, "--sftp-pass", &pass])
        .args(args)
        .output()
        .expect("rclone runs")
}

/// Files under `dir`, relative, with their contents.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                found.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn rclone_copies_a_tree_up_and_down_unchanged() {
    if !require_root("switching to the account's ids") || !have("rclone") {
        return;
    }
    let site = Site::new();
    let server = start(&site, &[]);
    let local = tempfile::tempdir().unwrap();
    let up = local.path().join("up");
    std::fs::create_dir_all(up.join("deep/er")).unwrap();
    std::fs::write(up.join("big.bin"), random_bytes(5 * 1024 * 1024 + 7)).unwrap();
    std::fs::write(up.join("deep/small.txt"), b"small\n").unwrap();
    std::fs::write(up.join("deep/er/empty"), b"").unwrap();
    std::fs::write(up.join("deep/er/mid.bin"), random_bytes(300_001)).unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    std::fs::File::options()
        .write(true)
        .open(up.join("deep/small.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();

    let out = rclone(server.port, &["copy", up.to_str().unwrap(), ":sftp:tree"]);
    assert!(out.status.success(), "{}\n{}", text(&out), server.stderr());
    assert_eq!(tree(&site.home.join("tree")), tree(&up));
    let kept = std::fs::metadata(site.home.join("tree/deep/small.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(kept, old, "rclone sets modification times with SETSTAT");

    let out = rclone(
        server.port,
        &["check", "--download", up.to_str().unwrap(), ":sftp:tree"],
    );
    assert!(out.status.success(), "{}", text(&out));

    let down = local.path().join("down");
    let out = rclone(server.port, &["copy", ":sftp:tree", down.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(tree(&down), tree(&up));

    let out = rclone(
        server.port,
        &["moveto", ":sftp:tree/big.bin", ":sftp:tree/deep/moved.bin"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!site.home.join("tree/big.bin").exists());
    assert_eq!(
        std::fs::read(site.home.join("tree/deep/moved.bin")).unwrap(),
        std::fs::read(up.join("big.bin")).unwrap()
    );

    let out = rclone(server.port, &["purge", ":sftp:tree"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!site.home.join("tree").exists());
    // The chroot holds for rclone too.
    let out = rclone(server.port, &["lsf", ":sftp:../.."]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        String::from_utf8_lossy(&rclone(server.port, &["lsf", ":sftp:"]).stdout)
            .lines()
            .count()
    );
}
