//! Homes where admins put them: below a `0700` or `0750` root-owned parent (one locked
//! directory for all homes), on another file system, behind a symbolic link. Every
//! backend (`.pdb` with and without `/./`, extauth with and without it, with and without
//! `-A`) must enter them as Debian's pure-ftpd does, which enters the home as root
//! before it switches users. Root only: without root nothing is locked from the server.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::bridge::{Daemon, our_authd};
use common::{Ftp, PASSWORD, ROOT_UID, Server, USER, oracle, require_root};

/// A home for uid/gid `ROOT_UID` at `home`, with a file and a subdirectory.
fn make_home(home: &Path) {
    std::fs::create_dir_all(home.join("sub")).unwrap();
    std::fs::write(home.join("hello.txt"), b"hello\n").unwrap();
    for path in [home.to_path_buf(), home.join("sub"), home.join("hello.txt")] {
        nix::unistd::chown(
            &path,
            Some(nix::unistd::Uid::from_raw(ROOT_UID)),
            Some(nix::unistd::Gid::from_raw(ROOT_UID)),
        )
        .unwrap();
    }
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A `.pdb` holding alice with `home` (as written, `/./` included or not).
fn pdb_for(dir: &Path, home: &str) -> PathBuf {
    use pureftpd_account::password::{HashPolicy, create};
    use pureftpd_account::{Password, Record};
    let hash = create(&Password::from(PASSWORD), &HashPolicy::DEFAULT).unwrap();
    let line = format!("{USER}:{hash}:{ROOT_UID}:{ROOT_UID}::{home}");
    let text = Record::parse(line.as_bytes()).unwrap().to_line();
    let colon = text.iter().position(|&b| b == b':').unwrap();
    let mut builder = puredb::Builder::new();
    builder.add(&text[..colon], &text[colon + 1..]).unwrap();
    let pdb = dir.join(format!("{}.pdb", home.len()));
    builder.write_file(&pdb).unwrap();
    pdb
}

/// What a session does in its home: every reply code, in order.
fn session_codes(port: u16) -> Vec<u16> {
    let (mut ftp, _) = Ftp::connect(port);
    let mut codes = vec![ftp.cmd(&format!("USER {USER}")).code];
    codes.push(ftp.cmd(&format!("PASS {PASSWORD}")).code);
    if codes[1] != 230 {
        return codes;
    }
    ftp.cmd("TYPE I");
    let (opened, data, done) = ftp.download("RETR hello.txt");
    codes.push(opened.code);
    codes.push(done.map_or(0, |d| d.code));
    assert!(opened.code != 150 || data == b"hello\n");
    let (opened, done) = ftp.upload("STOR up.bin", b"uploaded");
    codes.push(opened.code);
    codes.push(done.map_or(0, |d| d.code));
    let (opened, listing, done) = ftp.download("LIST");
    codes.push(opened.code);
    codes.push(done.map_or(0, |d| d.code));
    assert!(opened.code != 150 || String::from_utf8_lossy(&listing).contains("up.bin"));
    for command in [
        "CWD sub",
        "CDUP",
        "MKD made",
        "RMD made",
        "DELE up.bin",
        "QUIT",
    ] {
        codes.push(ftp.cmd(command).code);
    }
    codes
}

const WORKS: [u16; 14] = [
    331, 230, 150, 226, 150, 226, 150, 226, 250, 250, 257, 250, 250, 221,
];

/// How the account reaches the server.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Puredb { chroot: bool },
    Extauth { chroot: bool },
}

/// Runs the session against `binary` with `backend` for `home`; `extra` flags.
fn try_home(binary: &Path, backend: Backend, home: &Path, extra: &[&str], work: &Path) -> Vec<u16> {
    let suffix = |chroot: bool| if chroot { "/./" } else { "" };
    let board = work.join("scoreboard");
    let env: [(&str, &Path); 1] = [("PURE_FTPD_SCOREBOARD", &board)];
    let (login, _authd) = match backend {
        Backend::Puredb { chroot } => {
            let pdb = pdb_for(work, &format!("{}{}", home.display(), suffix(chroot)));
            (format!("puredb:{}", pdb.display()), None)
        }
        Backend::Extauth { chroot } => {
            let body = format!(
                "printf 'auth_ok:1\\nuid:{ROOT_UID}\\ngid:{ROOT_UID}\\ndir:{}{}\\nend\\n'",
                home.display(),
                suffix(chroot)
            );
            let authd = Daemon::start(&our_authd(), &body, &[]);
            (format!("extauth:{}", authd.socket.display()), Some(authd))
        }
    };
    let mut args = vec!["-l", login.as_str(), "-H", "-4"];
    args.extend_from_slice(extra);
    let server = Server::start_with_env(binary, &args, &env);
    session_codes(server.port)
}

const BACKENDS: [Backend; 4] = [
    Backend::Puredb { chroot: false },
    Backend::Puredb { chroot: true },
    Backend::Extauth { chroot: false },
    Backend::Extauth { chroot: true },
];

fn every_backend_as_debian(home: &Path, work: &Path, what: &str) {
    let debian = oracle("pure-ftpd");
    for backend in BACKENDS {
        for extra in [&[][..], &["-A"][..]] {
            let ours = try_home(Path::new(common::OURS), backend, home, extra, work);
            assert_eq!(ours, WORKS, "{what}, {backend:?} {extra:?}: ours");
            if let Some(debian) = &debian {
                // Debian's logs in and transfers the same; its listings below a locked
                // parent end the session (421: it cannot find its way back to the
                // directory), so only the steps up to the first listing are compared.
                let theirs = try_home(debian, backend, home, extra, work);
                assert_eq!(
                    theirs[..7],
                    ours[..7],
                    "{what}, {backend:?} {extra:?}: Debian's, ours"
                );
            }
        }
    }
}

#[test]
fn homes_below_a_parent_only_root_may_cross() {
    if !require_root("homes below a root-only directory") {
        return;
    }
    for mode in [0o700, 0o750, 0o711] {
        let work = tempfile::tempdir().unwrap();
        set_mode(work.path(), 0o755);
        let locked = work.path().join("homes");
        std::fs::create_dir(&locked).unwrap();
        let home = locked.join("alice");
        make_home(&home);
        set_mode(&locked, mode);
        every_backend_as_debian(&home, work.path(), &format!("parent {mode:o}"));
    }
}

#[test]
fn homes_behind_a_link_and_on_another_file_system() {
    if !require_root("homes on another file system") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    set_mode(work.path(), 0o755);
    // Behind a symbolic link.
    let real = work.path().join("real-home");
    make_home(&real);
    let link = work.path().join("linked-home");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    every_backend_as_debian(&link, work.path(), "home behind a link");

    // On a file system of its own (a tmpfs mounted for the test, unmounted after).
    let mount = work.path().join("other-fs");
    let Some(_mounted) = common::mounts::TestMount::tmpfs(&mount, "8m") else {
        return;
    };
    let home = mount.join("alice");
    make_home(&home);
    every_backend_as_debian(&home, work.path(), "home on another file system");
}

/// `-j` with missing parents: parents 0755 owned by root, the home 0755 (0777 less the
/// default umask) owned by the account, as Debian's makes them. (The server runs with
/// umask 0, and the parents used to come out 0777.)
#[test]
fn j_creates_missing_parents_as_debian() {
    if !require_root("-j creating homes for another user") {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let binaries = common::ours_and_debians();
    let mut seen = Vec::new();
    for binary in &binaries {
        let work = tempfile::tempdir().unwrap();
        set_mode(work.path(), 0o755);
        let home = work.path().join("new/deeper/alice");
        let pdb = pdb_for(work.path(), &format!("{}/./", home.display()));
        let login = format!("puredb:{}", pdb.display());
        let board = work.path().join("scoreboard");
        let server = Server::start_with_env(
            binary,
            &["-l", &login, "-H", "-4", "-j"],
            &[("PURE_FTPD_SCOREBOARD", board.as_path())],
        );
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        assert_eq!(ftp.cmd("PWD").code, 257);
        let described = |path: &Path| {
            let meta = std::fs::symlink_metadata(path).unwrap();
            (meta.mode() & 0o7777, meta.uid(), meta.gid())
        };
        seen.push([
            described(&work.path().join("new")),
            described(&work.path().join("new/deeper")),
            described(&home),
        ]);
    }
    assert_eq!(
        seen[0],
        [(0o755, 0, 0), (0o755, 0, 0), (0o755, ROOT_UID, ROOT_UID)]
    );
    if let Some(theirs) = seen.get(1) {
        assert_eq!(&seen[0], theirs, "ours, Debian's");
    }
}
