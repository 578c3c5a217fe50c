//! pure-quotacheck against Debian's: the same counter file for the same tree, the
//! same messages and exit codes, and what ours does better.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use pureftpd_tests::{oracle, require_root, run};

const OURS: &str = env!("CARGO_BIN_EXE_pure-quotacheck");

/// A tree with files, nested directories, links (inside, dangling, a loop, out of the
/// tree), a FIFO and a stray `.ftpquota`, owned by `owner`.
fn tree(owner: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(root.join("sub/deep")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::fs::write(root.join("a"), "hello\n").unwrap();
    std::fs::write(root.join("with space"), [1u8; 333]).unwrap();
    std::fs::write(root.join("sub/.ftpquota"), "9 9\n").unwrap();
    std::fs::write(root.join("sub/deep/b"), [0u8; 1000]).unwrap();
    std::os::unix::fs::symlink("sub/deep/b", root.join("link")).unwrap();
    std::os::unix::fs::symlink("sub", root.join("loop")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("out")).unwrap();
    nix::unistd::mkfifo(
        &root.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let status = std::process::Command::new("chown")
        .args(["-R", "-h", &format!("{owner}:{owner}")])
        .arg(root)
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

#[test]
fn the_same_tree_gives_the_same_counter_file() {
    let Some(theirs) = oracle("pure-quotacheck") else {
        return;
    };
    if !require_root("chroot and switching to the account") {
        return;
    }
    // Debian's needs an account in the system's password database: daemon (1:1).
    let mut results = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        let dir = tree(1);
        let path = dir.path().to_str().unwrap().to_string();
        let outcome = run(binary, ["-u", "daemon", "-d", &path], &[], "");
        assert_eq!(outcome.code, 0, "{}: {outcome:?}", binary.display());
        let counter = dir.path().join(".ftpquota");
        let meta = std::fs::metadata(&counter).unwrap();
        results.push((
            std::fs::read_to_string(&counter).unwrap(),
            meta.mode() & 0o777,
            meta.uid(),
        ));
    }
    assert_eq!(results[0], results[1], "ours (left), Debian's (right)");
    assert_eq!(results[0].0, "7 2339\n");
}

#[test]
fn messages_and_exit_codes_as_debians() {
    let Some(theirs) = oracle("pure-quotacheck") else {
        return;
    };
    if !require_root("Debian's pure-quotacheck") {
        return;
    }
    for args in [
        &[][..],
        &["-h"],
        &["-d", "/tmp"],
        &["-u", "daemon"],
        &["-u", "0", "-d", "/tmp"],
        &["-u", "nosuchuser", "-d", "/tmp"],
        &["-u", "daemon", "-g", "0", "-d", "/tmp"],
    ] {
        let ours = run(Path::new(OURS), args, &[], "");
        let debian = run(&theirs, args, &[], "");
        assert_eq!(
            (ours.code, &ours.stdout, &ours.stderr),
            (debian.code, &debian.stdout, &debian.stderr),
            "{args:?}"
        );
    }
}

#[test]
fn virtual_accounts_need_no_system_entry() {
    if !require_root("chroot and switching to the account") {
        return;
    }
    // 4242 has no entry in /etc/passwd (Debian's fails here: "Can't chroot to [...]").
    let dir = tree(4242);
    let path = dir.path().to_str().unwrap().to_string();
    let outcome = run(
        Path::new(OURS),
        ["-u", "4242", "-g", "4242", "-d", &path],
        &[],
        "",
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let counter = dir.path().join(".ftpquota");
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "7 2339\n");
    assert_eq!(std::fs::metadata(&counter).unwrap().uid(), 4242);
}

#[test]
fn links_never_lead_out_of_the_tree() {
    if !require_root("chroot") {
        return;
    }
    let dir = tree(1);
    // A link to a big file outside: not counted (inside the chroot it does not exist).
    std::os::unix::fs::symlink("/usr/sbin/pure-ftpd", dir.path().join("big-outside")).unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    let outcome = run(Path::new(OURS), ["-u", "daemon", "-d", &path], &[], "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".ftpquota")).unwrap(),
        "7 2339\n"
    );
}
