//! Fault injection: `pure-pw mkdb` and `useradd` killed with SIGKILL at random moments
//! on a 100,000-user file (the files are always the old or the new ones, and the next
//! run works and leaves no debris), and a full disk under an upload and under pure-pw
//! (the right replies and exit codes, as Debian's, and nothing damaged). A hanging or
//! dying authd script and a master stopped with transfers in flight have their tests
//! in extauth.rs and process.rs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::mounts::TestMount;
use common::{Ftp, PASSWORD, Site, USER, oracle, require_root};

fn pure_pw() -> PathBuf {
    pureftpd_tests::workspace_binary("pure-pw", "pure-pw")
}

/// A passwd file of `count` users (a cheap placeholder hash: mkdb does not check it).
fn big_passwd(count: usize) -> String {
    let mut text = String::with_capacity(count * 64);
    for i in 0..count {
        let id = 2000 + i % 1000;
        text.push_str(&format!(
            "user{i:06}:$6$salt$hash:{id}:{id}::/srv/ftp/user{i:06}/./::::::::::::\n"
        ));
    }
    text
}

/// Names in `dir` that a run may leave behind: lock files and temporary files.
fn debris(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lock") || n.ends_with(".tmp"))
        .collect()
}

/// A tiny pseudo-random sequence (the kill moments; no dependency for that).
struct Moments(u64);

impl Moments {
    fn next_within(&mut self, span: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        span.mul_f64((self.0 % 10_000) as f64 / 10_000.0)
    }
}

/// Runs `args` with the files of `dir`, killing it after `after` (if still running).
fn run_killed(dir: &Path, args: &[&str], stdin: &str, after: Duration) {
    let mut child = Command::new(pure_pw())
        .args(args)
        .env("PURE_PASSWDFILE", dir.join("pureftpd.passwd"))
        .env("PURE_DBFILE", dir.join("pureftpd.pdb"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
}

fn run_whole(dir: &Path, args: &[&str], stdin: &str) -> pureftpd_tests::Outcome {
    let passwd = dir.join("pureftpd.passwd");
    let pdb = dir.join("pureftpd.pdb");
    pureftpd_tests::run(
        &pure_pw(),
        args,
        &[
            ("PURE_PASSWDFILE", passwd.as_os_str()),
            ("PURE_DBFILE", pdb.as_os_str()),
        ],
        stdin,
    )
}

#[test]
fn mkdb_and_useradd_killed_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("pureftpd.passwd");
    let pdb = dir.path().join("pureftpd.pdb");
    let old_text = big_passwd(100_000);
    std::fs::write(&passwd, &old_text).unwrap();
    // The two databases a build may leave: the old one (from the old file) and the new.
    assert_eq!(run_whole(dir.path(), &["mkdb"], "").code, 0);
    let old_pdb = std::fs::read(&pdb).unwrap();
    let new_text = format!("{old_text}extra:$6$salt$hash:9:9::/srv/extra/./::::::::::::\n");
    std::fs::write(&passwd, &new_text).unwrap();
    let started = Instant::now();
    assert_eq!(run_whole(dir.path(), &["mkdb"], "").code, 0);
    let build_time = started.elapsed();
    let new_pdb = std::fs::read(&pdb).unwrap();
    assert!(debris(dir.path()).is_empty(), "{:?}", debris(dir.path()));

    let mut moments = Moments(0x9e37_79b9_7f4a_7c15);
    for round in 0..12 {
        std::fs::write(&pdb, &old_pdb).unwrap();
        run_killed(dir.path(), &["mkdb"], "", moments.next_within(build_time));
        let now = std::fs::read(&pdb).unwrap();
        assert!(
            now == old_pdb || now == new_pdb,
            "round {round}: a torn database"
        );
    }
    // The next build works, and clears what the killed ones left.
    assert_eq!(run_whole(dir.path(), &["mkdb"], "").code, 0);
    assert_eq!(std::fs::read(&pdb).unwrap(), new_pdb);
    assert!(debris(dir.path()).is_empty(), "{:?}", debris(dir.path()));

    // useradd, killed: the file is the old one or the old one plus the new line.
    let started = Instant::now();
    let timed = run_whole(
        dir.path(),
        &[
            "useradd", "timing", "-u", "3000", "-g", "3000", "-d", "/srv/t",
        ],
        "pw\npw\n",
    );
    assert_eq!(timed.code, 0, "{timed:?}");
    let edit_time = started.elapsed();
    for round in 0..12 {
        std::fs::write(&passwd, &new_text).unwrap();
        let login = format!("killed{round}");
        run_killed(
            dir.path(),
            &[
                "useradd", &login, "-u", "3000", "-g", "3000", "-d", "/srv/k",
            ],
            "pw\npw\n",
            moments.next_within(edit_time),
        );
        let now = std::fs::read_to_string(&passwd).unwrap();
        let added = now
            .strip_prefix(new_text.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(&format!("{login}:")));
        assert!(
            added && now.lines().count() >= 100_001,
            "round {round}: a torn file"
        );
        // The next edit is never blocked by what the killed one left.
        let next = run_whole(
            dir.path(),
            &["usermod", "extra", "-y", &round.to_string()],
            "",
        );
        assert_eq!(next.code, 0, "round {round}: {next:?}");
        assert!(debris(dir.path()).is_empty(), "{:?}", debris(dir.path()));
    }
}

/// STOR onto a full disk: a transient 451 (clients retry), as Debian's, and the
/// session goes on.
#[test]
fn a_full_disk_during_an_upload() {
    if !require_root("a full file system (a tmpfs mount)") {
        return;
    }
    let binaries = common::ours_and_debians();
    let mut seen = Vec::new();
    for binary in &binaries {
        let site = Site::new();
        // The account's home is the small disk.
        let Some(_disk) = site.home_on_tmpfs("1m") else {
            return;
        };
        let server = site.start(binary, &[]);
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("TYPE I");
        let (opened, done) = ftp.upload("STOR big.bin", &vec![7u8; 3 << 20]);
        assert_eq!(opened.code, 150, "{}", binary.display());
        let done = done.unwrap();
        let text: Vec<String> = done
            .lines
            .iter()
            .filter(|l| !l.contains("seconds (measured here)"))
            .cloned()
            .collect();
        assert_eq!(
            ftp.cmd("NOOP").code,
            200,
            "{}: the session goes on",
            binary.display()
        );
        seen.push((done.code, text));
    }
    assert_eq!(seen[0].0, 451, "{seen:?}");
    if let Some(theirs) = seen.get(1) {
        assert_eq!(&seen[0], theirs, "ours, Debian's");
    }
}

/// pure-pw on a full disk: exit 4 as Debian's, the file as it was, no temporary file.
#[test]
fn a_full_disk_under_pure_pw() {
    if !require_root("a full file system (a tmpfs mount)") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut tools = vec![pure_pw()];
    tools.extend(oracle("pure-pw"));
    let mut codes = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let dir = work.path().join(format!("disk{i}"));
        let Some(_disk) = TestMount::tmpfs(&dir, "256k") else {
            return;
        };
        let passwd = dir.join("pureftpd.passwd");
        let text = big_passwd(1500);
        std::fs::write(&passwd, &text).unwrap();
        // Fill what is left.
        let filler = dir.join("filler");
        let _ = std::fs::write(&filler, vec![0u8; 1 << 20]);
        let out = pureftpd_tests::run(
            tool,
            [
                "useradd", "newbie", "-u", "3000", "-g", "3000", "-d", "/srv/n", "-C", "64",
            ],
            &[("PURE_PASSWDFILE", passwd.as_os_str())],
            "pw\npw\n",
        );
        assert_eq!(
            std::fs::read_to_string(&passwd).unwrap(),
            text,
            "{}",
            tool.display()
        );
        if i == 0 {
            assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
            assert!(out.stderr.contains("No space left on device"), "{out:?}");
        }
        codes.push(out.code);
    }
    assert_eq!(codes[0], 4, "{codes:?}");
    if let Some(theirs) = codes.get(1) {
        assert_eq!(codes[0], *theirs, "ours, Debian's");
    }
}
