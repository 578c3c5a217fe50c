//! pure-sftpd when the machine or a library fails it: a full disk under an upload (a
//! tmpfs of 1 MiB as the home): the client is told, the session goes on, and once room
//! is made an upload succeeds whole; no inodes left under mkdir, while SETSTAT, which
//! needs no room, works; file names that are not UTF-8, which russh-sftp
//! turns into U+FFFD: refused, never taken for another name.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::process::Command;

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

/// A full disk (no bytes left, then no inodes) under the other requests: refused with
/// SSH_FX_FAILURE and the system's words (paramiko shows them), the session goes on, and what needs no room (SETSTAT)
/// still works.
const FULL_DISK: &str = crate::paramiko_sftp!(
    r#"
try:
    with sftp.open("fill.bin", "w") as f:
        f.write(b"x" * (2 << 20))
    print("filled without an error")
except IOError as e:
    print("write refused:", e)
made = 0
for i in range(64):
    try:
        sftp.mkdir("d%d" % i)
        made += 1
    except IOError as e:
        print("mkdir refused:", e)
        break
print("made", made)
sftp.chmod("fill.bin", 0o640)
sftp.utime("fill.bin", (1000000000, 1000000000))
st = sftp.stat("fill.bin")
print("setstat", oct(st.st_mode & 0o777), st.st_mtime)
sftp.rmdir("d0")
sftp.mkdir("again")
print("mkdir after room was made")
"#
);

#[test]
fn a_full_disk_refuses_mkdir_and_setstat_still_works() {
    if !require_root("a full file system (a tmpfs mount)") || !have("python3") {
        return;
    }
    let site = Site::new();
    // 1 MiB and 8 inodes: both run out.
    let Some(_disk) = site.home_on_tmpfs("1m,nr_inodes=8") else {
        return;
    };
    let server = start(&site, &[]);
    let out = common::sftp::paramiko_script(60, FULL_DISK, server.port);
    let said = text(&out);
    assert!(out.status.success(), "{said}\n{}", server.stderr());
    assert!(
        said.contains("write refused: No space left on device"),
        "{said}"
    );
    assert!(
        said.contains("mkdir refused: No space left on device"),
        "{said}"
    );
    let made: usize = said
        .lines()
        .find_map(|l| l.strip_prefix("made "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!((1..64).contains(&made), "{said}");
    assert!(said.contains("setstat 0o640 1000000000"), "{said}");
    assert!(said.contains("mkdir after room was made"), "{said}");
    assert!(site.home.join("again").is_dir());
}

const LATIN1: &str = crate::paramiko_sftp!(
    r#"
for name in [b"caf\xe9.txt", b"caf\xe8.txt"]:
    try:
        with sftp.open(name, "w") as f:
            f.write(b"latin-1")
        print("written")
    except IOError as e:
        print("refused:", e)
listed = [n for n in sftp.listdir(".") if n.startswith("old")]
print("listed:", listed)
try:
    sftp.open(listed[0]).read()
    print("read")
except IOError as e:
    print("refused:", e)
"#
);

#[test]
fn names_that_are_not_utf8_are_refused_not_taken_for_others() {
    if !require_root("switching to the account's ids") || !have("python3") {
        return;
    }
    let site = Site::new();
    let on_disk = site
        .home
        .join(std::ffi::OsStr::from_bytes(b"old-na\xefve.txt"));
    std::fs::write(&on_disk, b"old").unwrap();
    let server = start(&site, &[]);
    let out = Command::new("timeout")
        .args([
            "60",
            "python3",
            "-c",
            LATIN1,
            &server.port.to_string(),
            USER,
            PASSWORD,
        ])
        .output()
        .expect("python3 runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    let refusal = "refused: pure-sftpd takes UTF-8 file names only";
    assert_eq!(said.matches(refusal).count(), 3, "{said}");
    assert!(said.contains("listed: ['old-na\u{fffd}ve.txt']"), "{said}");
    // Nothing was written under a name the client did not send.
    let names: Vec<_> = std::fs::read_dir(&site.home)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.as_bytes().starts_with(b"caf"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}
