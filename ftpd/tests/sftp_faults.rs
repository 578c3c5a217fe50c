//! pure-sftpd when the machine fails it: a full disk under an upload (a tmpfs of 1 MiB as
//! the home): the client is told, the session goes on, and once room is made an upload
//! succeeds whole.

mod common;

use common::sftp::{random_bytes, sftp, start, text};
use common::{PASSWORD, Site, USER, have, require_root};

#[test]
fn a_full_disk_fails_the_upload_and_the_session_goes_on() {
    if !require_root("a full file system (a tmpfs mount)") || !have("sftp") {
        return;
    }
    let site = Site::new();
    let Some(_disk) = site.home_on_tmpfs("1m") else {
        return;
    };
    let server = start(&site, &[]);
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("big.bin"), random_bytes(3 << 20)).unwrap();
    let small = random_bytes(100_000);
    std::fs::write(local.path().join("small.bin"), &small).unwrap();
    // `-` goes on after a failed command, as a user at the prompt would.
    let out = sftp(
        server.port,
        local.path(),
        USER,
        PASSWORD,
        "-put big.bin\nrm big.bin\nput small.bin\nget small.bin back.bin\nbye\n",
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}\n{}", server.stderr());
    // SSH_FX_FAILURE for ENOSPC, as OpenSSH's server answers (its client shows the code).
    assert!(
        said.contains("write remote \"/big.bin\": Failure"),
        "{said}"
    );
    assert_eq!(std::fs::read(local.path().join("back.bin")).unwrap(), small);
    assert_eq!(site.read("small.bin"), small);
    assert!(!site.home.join("big.bin").exists());
}
