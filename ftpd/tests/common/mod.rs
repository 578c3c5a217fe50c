//! A test site: a home directory with awkward names, a PureDB account for it, and a
//! server (ours or Debian's) serving it on 127.0.0.1.

#![allow(dead_code, unreachable_pub, unused_imports)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

pub use pureftpd_tests::ftp::{Ftp, Reply};
pub use pureftpd_tests::server::Server;
pub use pureftpd_tests::{is_root, oracle, require_root};

pub mod anonymous;
pub mod bridge;
pub mod dbservers;
pub mod mounts;
pub mod relay;
pub mod sftp;
pub mod syslog;
pub mod throughput;
pub mod transcript;

use pureftpd_account::password::{HashPolicy, create};
use pureftpd_account::{Password, Record};

pub const OURS: &str = env!("CARGO_BIN_EXE_pure-ftpd");

/// Our pure-ftpd, then Debian's when installed (see [`oracle`]).
pub fn ours_and_debians() -> Vec<PathBuf> {
    let mut binaries = vec![PathBuf::from(OURS)];
    binaries.extend(oracle("pure-ftpd"));
    binaries
}

/// Whether a client program is installed; without it the calling test skips, saying
/// so, unless CI requires every tool (`PUREFTPD_REQUIRE_ORACLE=1`).
pub fn have(tool: &str) -> bool {
    let found = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        missing(tool, tool);
    }
    found
}

/// Whether a file a test needs (a script of a Debian package) is there; as [`have`].
pub fn have_file(path: &str, package: &str) -> bool {
    let found = Path::new(path).exists();
    if !found {
        missing(path, package);
    }
    found
}

/// A missing tool or file: fails when CI requires every tool, else says the test skips.
fn missing(what: &str, package: &str) {
    let required = std::env::var_os("PUREFTPD_REQUIRE_ORACLE").is_some_and(|v| v == "1");
    assert!(!required, "{what} is required (apt-get install {package})");
    eprintln!("SKIP: {what} is not installed (apt-get install {package})");
}
/// Pure-FTPd's joke: Debian's pure-ftpd (built with its humour) adds this line to a
/// RETR's 150 reply when the clock's seconds are a multiple of 100; ours never does.
pub const JOKE: &str = "The computer is your friend. Trust the computer";

/// Reply lines without the joke (the reply before it made single-line again when the
/// joke ended it), so that Debian's replies compare whatever the second.
pub fn without_joke(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    for line in lines {
        match line.get(3..) {
            Some(rest) if rest.get(1..) == Some(JOKE) && rest.starts_with('-') => {}
            Some(rest) if rest.get(1..) == Some(JOKE) => {
                if let Some(previous) = out.last_mut()
                    && previous.get(3..4) == Some("-")
                {
                    previous.replace_range(3..4, " ");
                }
            }
            _ => out.push(line),
        }
    }
    out
}

pub const USER: &str = "alice";
pub const PASSWORD: &str = "s3cret pw";
/// The account's ids when the tests run as root (the session really switches to them).
pub const ROOT_UID: u32 = 4242;

pub struct Site {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub pdb: PathBuf,
    pub uid: u32,
    pub gid: u32,
}

impl Site {
    /// A site whose account is chrooted to its home (`/./`).
    pub fn new() -> Self {
        Self::with_home_suffix("/./")
    }

    /// `home_suffix` is appended to the home in the record: `/./` chroots, `` does not.
    pub fn with_home_suffix(home_suffix: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Keep the tree traversable for the unprivileged account.
        set_mode(dir.path(), 0o755);
        let home = dir.path().join("home");
        populate(&home);
        let (uid, gid) = if is_root() {
            (ROOT_UID, ROOT_UID)
        } else {
            (
                nix::unistd::getuid().as_raw(),
                nix::unistd::getgid().as_raw(),
            )
        };
        if is_root() {
            chown_tree(&home, uid, gid);
        }
        let pdb = dir.path().join("pureftpd.pdb");
        let site = Self {
            dir,
            home,
            pdb,
            uid,
            gid,
        };
        site.write_accounts(home_suffix, &[]);
        site
    }

    /// Writes the `.pdb` with alice and any extra `(login, password, record fields)`.
    pub fn write_accounts(&self, home_suffix: &str, extra: &[(&str, &str)]) {
        let mut builder = puredb::Builder::new();
        let home = format!("{}{home_suffix}", self.home.display());
        let mut lines = vec![(USER.to_string(), PASSWORD.to_string(), home.clone())];
        for (login, password) in extra {
            lines.push((login.to_string(), password.to_string(), home.clone()));
        }
        for (login, password, home) in lines {
            let hash = create(&Password::from(password.as_str()), &HashPolicy::DEFAULT).unwrap();
            let line = format!("{login}:{hash}:{}:{}::{home}", self.uid, self.gid);
            let record = Record::parse(line.as_bytes()).unwrap();
            let text = record.to_line();
            let colon = text.iter().position(|&b| b == b':').unwrap();
            builder.add(&text[..colon], &text[colon + 1..]).unwrap();
        }
        builder.write_file(&self.pdb).unwrap();
    }

    /// A second `.pdb` beside the site's (returned), holding `login` with password
    /// `<login> pw`, made by our pure-pw with `options` (`-t`, `-T`, `-q`, `-n`, ...),
    /// chrooted to the site's home.
    pub fn pure_pw_account(&self, login: &str, options: &[&str]) -> PathBuf {
        let passwd = self.dir.path().join("pureftpd.passwd");
        let pdb = self.dir.path().join("own.pdb");
        let pure_pw = pureftpd_tests::workspace_binary("pure-pw", "pure-pw");
        let home = format!("{}/./", self.home.display());
        let (uid, gid) = (self.uid.to_string(), self.gid.to_string());
        let env = [
            ("PURE_PASSWDFILE", passwd.as_os_str()),
            ("PURE_DBFILE", pdb.as_os_str()),
        ];
        let mut args = vec!["useradd", login, "-u", &uid, "-g", &gid, "-d", &home, "-m"];
        args.extend_from_slice(options);
        let password = format!("{login} pw\n");
        let added = pureftpd_tests::run(&pure_pw, &args, &env, &password.repeat(2));
        assert_eq!(added.code, 0, "{added:?}");
        pdb
    }

    /// Our server on this site, with `-l puredb:<pdb> -H -4` and `extra`.
    pub fn ours(&self, extra: &[&str]) -> Server {
        self.start(Path::new(OURS), extra)
    }

    /// Any `pure-ftpd` binary on this site.
    pub fn start(&self, binary: &Path, extra: &[&str]) -> Server {
        self.start_on("127.0.0.1", binary, extra)
    }

    /// Any `pure-ftpd` binary on this site, listening on `host` only (`-6` for an IPv6
    /// address, `-4` otherwise).
    pub fn start_on(&self, host: &str, binary: &Path, extra: &[&str]) -> Server {
        let login = format!("puredb:{}", self.pdb.display());
        let board = self.dir.path().join("scoreboard");
        let family = if host.contains(':') { "-6" } else { "-4" };
        let mut args = vec!["-l", &login, "-H", family];
        args.extend_from_slice(extra);
        Server::start_on(host, binary, &args, &[("PURE_FTPD_SCOREBOARD", &board)])
    }

    pub fn scoreboard(&self) -> PathBuf {
        self.dir.path().join("scoreboard")
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.home.join(name)).unwrap_or_default()
    }

    /// A file in the home, owned by the account.
    pub fn put(&self, name: &str, contents: &[u8]) {
        let path = self.home.join(name);
        std::fs::write(&path, contents).unwrap();
        if is_root() {
            nix::unistd::chown(
                &path,
                Some(nix::unistd::Uid::from_raw(self.uid)),
                Some(nix::unistd::Gid::from_raw(self.gid)),
            )
            .unwrap();
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The home: ordinary files, a subdirectory, awkward names, links out of the root.
fn populate(home: &Path) {
    std::fs::create_dir_all(home.join("sub")).unwrap();
    std::fs::write(home.join("a.txt"), b"hello\nworld\n").unwrap();
    std::fs::write(home.join("sub/inner.txt"), b"inner\n").unwrap();
    std::fs::write(home.join("with space.txt"), b"spaced\n").unwrap();
    std::fs::write(home.join("new\nline.txt"), b"newline\n").unwrap();
    std::fs::write(
        home.join(OsStr::from_bytes(b"bad\xff\xfe.bin")),
        b"latin1\n",
    )
    .unwrap();
    std::fs::write(home.join(".hidden"), b"dot\n").unwrap();
    symlink("/etc", home.join("escape")).unwrap();
    symlink("../../../../../..", home.join("up")).unwrap();
    symlink("/etc/passwd", home.join("passwd-link")).unwrap();
    symlink("a.txt", home.join("inside-link")).unwrap();
    let mut modes = [home.to_path_buf(), home.join("sub")];
    modes.iter_mut().for_each(|p| set_mode(p, 0o755));
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    let (uid, gid) = (
        nix::unistd::Uid::from_raw(uid),
        nix::unistd::Gid::from_raw(gid),
    );
    let _ = nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        path,
        Some(uid),
        Some(gid),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    );
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid.as_raw(), gid.as_raw());
        }
    }
}

/// A self-signed certificate and its key in one PEM file (made with the openssl tool),
/// usable as a CA for client certificates. `None` (after saying why) without openssl.
pub fn certificate(dir: &Path, name: &str) -> Option<PathBuf> {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
        ])
        .arg(format!("/CN={name}"))
        .args([
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        let required = std::env::var_os("PUREFTPD_REQUIRE_ORACLE").is_some_and(|v| v == "1");
        assert!(
            !required,
            "the openssl tool is required to make test certificates"
        );
        eprintln!("SKIP: the openssl tool is needed to make a test certificate");
        return None;
    }
    let both = dir.join(format!("{name}.pem"));
    let mut pem = std::fs::read(&cert).unwrap();
    pem.extend(std::fs::read(&key).unwrap());
    std::fs::write(&both, pem).unwrap();
    Some(both)
}

/// A login attempt as a client sees it: USER's and PASS's replies (all their text),
/// then PWD's when logged in; for comparing servers reply by reply.
pub fn login_attempt(port: u16, login: &str, password: &str) -> Vec<String> {
    let (mut ftp, _) = Ftp::connect(port);
    let mut seen = vec![];
    let user = ftp.cmd(&format!("USER {login}"));
    seen.push(user.text());
    if user.code == 331 {
        let pass = ftp.cmd(&format!("PASS {password}"));
        seen.push(pass.text());
        if pass.code == 230 {
            seen.push(ftp.cmd("PWD").text());
        }
    }
    seen
}

/// [`login_attempt`] for each (login, password), in order.
pub fn login_attempts(port: u16, cases: &[(&str, &str)]) -> Vec<Vec<String>> {
    cases
        .iter()
        .map(|(login, password)| login_attempt(port, login, password))
        .collect()
}

/// Whether `login` gets in with `password`.
pub fn logs_in(port: u16, login: &str, password: &str) -> bool {
    login_attempt(port, login, password)
        .iter()
        .any(|r| r.starts_with("230"))
}
