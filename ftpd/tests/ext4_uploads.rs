//! Uploads onto ext4, where ours reserves the blocks of a long upload ahead of its
//! writes (ftpd/src/session/transfer/preallocation.rs). However an upload ends
//! (complete from curl, resumed with REST, stopped by ABOR, its client gone, the disk
//! full, over the quota, idle past `-I`), the file holds exactly the bytes that came, the file system holds no more
//! blocks for it than its size needs, and removing it gives all the space back. Debian's
//! pure-ftpd, which reserves nothing, is held to the same and must give the same
//! replies. The account's home is an ext4 image the test makes and mounts (root and a
//! loop device).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::mounts::TestMount;
use common::{Ftp, PASSWORD, Site, USER, have, require_root};
use pureftpd_tests::procfs;

/// What the file system may hold for a file beyond its size rounded to blocks: an
/// extent tree block or two.
const METADATA_SLACK: u64 = 64 * 1024;

/// Recognisable bytes: a wrong offset or a lost chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect()
}

/// A site whose home is an ext4 of `mib` MiB, or `None` after saying why.
fn site_on_ext4(mib: u64) -> Option<(Site, TestMount)> {
    if !require_root("an ext4 of the test's own (a loop mount)") {
        return None;
    }
    let site = Site::new();
    let disk = site.home_on_ext4(mib)?;
    Some((site, disk))
}

/// Asserts the file holds no blocks past what its size needs; returns its size.
fn no_blocks_past_the_end(path: &Path, server: &Path) -> u64 {
    let meta = std::fs::metadata(path).unwrap();
    let allocated = meta.blocks() * 512;
    let needed = meta.len().div_ceil(4096) * 4096;
    assert!(
        allocated <= needed + METADATA_SLACK,
        "{}: {} holds {allocated} bytes of disk for a size of {}",
        server.display(),
        path.display(),
        meta.len()
    );
    meta.len()
}

/// Once the server has closed it, the file at `path` holds `body` and no blocks past it.
fn holds_exactly(path: &Path, body: &[u8], server: &Path) {
    closed_by_the_server(path);
    assert!(
        std::fs::read(path).unwrap() == body,
        "{}: the bytes of {} differ",
        server.display(),
        path.display()
    );
    no_blocks_past_the_end(path, server);
}

/// Free blocks of the file system at `path`, after the journal has committed what was
/// freed (ext4 returns removed blocks to the free count at the commit).
fn free_blocks(path: &Path) -> u64 {
    assert!(
        Command::new("sync")
            .arg("-f")
            .arg(path)
            .status()
            .unwrap()
            .success()
    );
    nix::sys::statvfs::statvfs(path).unwrap().blocks_free()
}

/// Waits (up to 10 s) until the session has closed the file: no process has it open.
fn closed_by_the_server(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_anywhere(path) {
        assert!(Instant::now() < deadline, "{} still open", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn open_anywhere(path: &Path) -> bool {
    let target = std::fs::canonicalize(path).unwrap().display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .any(|pid| procfs::descriptors(pid).contains(&target))
}

#[test]
fn a_long_upload_from_curl_and_a_resumed_one_keep_their_bytes_and_no_spare_blocks() {
    if !have("curl") {
        return;
    }
    for binary in common::ours_and_debians() {
        let Some((site, _disk)) = site_on_ext4(96) else {
            return;
        };
        let server = site.start(&binary, &[]);
        let body = pattern(24 << 20);
        let source = site.dir.path().join("source.bin");
        std::fs::write(&source, &body).unwrap();
        let put = Command::new("curl")
            .args(["-sS", "--max-time", "60", "-T"])
            .arg(&source)
            .arg(format!("ftp://127.0.0.1:{}/long.bin", server.port))
            .args(["--user", &format!("{USER}:{PASSWORD}")])
            .output()
            .unwrap();
        assert!(put.status.success(), "{}: {put:?}", binary.display());
        holds_exactly(&site.home.join("long.bin"), &body, &binary);

        // The first 3 MiB, then the rest after REST: one file, in order.
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("TYPE I");
        let split = 3 << 20;
        let (opened, done) = ftp.upload("STOR resumed.bin", &body[..split]);
        assert_eq!((opened.code, done.unwrap().code), (150, 226));
        assert_eq!(ftp.cmd(&format!("REST {split}")).code, 350);
        let (opened, done) = ftp.upload("STOR resumed.bin", &body[split..]);
        assert_eq!((opened.code, done.unwrap().code), (150, 226));
        holds_exactly(&site.home.join("resumed.bin"), &body, &binary);
    }
}

/// How a client leaves an upload half-way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaving {
    /// ABOR on the control connection, the data connection still open.
    Abor,
    /// The control connection closed under the transfer (the client died).
    Gone,
}

/// Sends `sent` bytes of a STOR and leaves as `how`; returns the replies seen.
fn cut_upload(port: u16, name: &str, sent: &[u8], how: Leaving) -> Vec<u16> {
    let mut ftp = Ftp::login(port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    let mut data = TcpStream::connect(address).unwrap();
    ftp.send(format!("STOR {name}").as_bytes());
    let mut codes = vec![ftp.reply().code];
    data.write_all(sent).unwrap();
    // Let the session take in what was sent before it hears of the end.
    std::thread::sleep(Duration::from_millis(300));
    match how {
        Leaving::Abor => {
            // The data connection stays open until the ABOR is seen: its end would be
            // the upload's end.
            ftp.send(b"ABOR");
            std::thread::sleep(Duration::from_millis(300));
            drop(data);
            codes.push(ftp.reply().code);
            let last = ftp.reply().code;
            codes.push(last);
            assert_eq!(ftp.cmd("NOOP").code, 200, "the session goes on after ABOR");
        }
        Leaving::Gone => {
            drop(ftp);
            std::thread::sleep(Duration::from_millis(300));
            drop(data);
        }
    }
    codes
}

#[test]
fn an_upload_left_half_way_keeps_what_came_and_no_spare_blocks() {
    let sent = pattern(12 << 20);
    let mut replies = Vec::new();
    for binary in common::ours_and_debians() {
        let Some((site, _disk)) = site_on_ext4(96) else {
            return;
        };
        let server = site.start(&binary, &[]);
        for how in [Leaving::Abor, Leaving::Gone] {
            let name = format!("{how:?}.bin");
            let codes = cut_upload(server.port, &name, &sent, how);
            let path = site.home.join(&name);
            closed_by_the_server(&path);
            let size = no_blocks_past_the_end(&path, &binary);
            let kept = std::fs::read(&path).unwrap();
            assert!(
                sent.starts_with(&kept),
                "{} {how:?}: the file is not what was sent",
                binary.display()
            );
            assert!(
                size > 1 << 20,
                "{} {how:?}: only {size} bytes arrived",
                binary.display()
            );
            replies.push((how, codes));
        }
    }
    let half = replies.len() / 2;
    assert_eq!(replies[0].1[0], 150, "{replies:?}");
    if half > 0 && replies.len() == 4 {
        assert_eq!(replies[..half], replies[half..], "ours, then Debian's");
    }
}

#[test]
fn a_disk_that_fills_under_a_long_upload_gives_all_its_space_back() {
    let mut seen = Vec::new();
    for binary in common::ours_and_debians() {
        let Some((site, _disk)) = site_on_ext4(40) else {
            return;
        };
        let server = site.start(&binary, &[]);
        let disk: PathBuf = site.home.clone();
        let free_before = free_blocks(&disk);
        let body = pattern(64 << 20);
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("TYPE I");
        let (opened, done) = ftp.upload("STOR full.bin", &body);
        assert_eq!(opened.code, 150, "{}", binary.display());
        let done = done.unwrap();
        let path = disk.join("full.bin");
        closed_by_the_server(&path);
        let size = no_blocks_past_the_end(&path, &binary);
        assert!(
            size > 8 << 20,
            "{}: only {size} bytes fit",
            binary.display()
        );
        assert!(
            std::fs::read(&path).unwrap() == body[..size as usize],
            "{}: the bytes that fit differ",
            binary.display()
        );
        assert_eq!(
            ftp.cmd("NOOP").code,
            200,
            "{}: the session goes on",
            binary.display()
        );
        assert_eq!(ftp.cmd("DELE full.bin").code, 250, "{}", binary.display());
        let free_after = free_blocks(&disk);
        assert!(
            free_after + 4 >= free_before,
            "{}: {} blocks not given back",
            binary.display(),
            free_before - free_after
        );
        seen.push(done.code);
    }
    assert_eq!(seen[0], 451, "{seen:?}");
    if let Some(theirs) = seen.get(1) {
        assert_eq!(seen[0], *theirs, "ours, Debian's");
    }
}

/// The other ends the server gives an upload itself: over the quota (`-n`), the file is
/// refused; left idle (`-I 1`, the client sending nothing more and closing nothing), the
/// session ends. Either way the file system gets back every block but those of what is
/// kept, and both servers answer alike.
#[test]
fn an_upload_over_the_quota_or_left_idle_keeps_no_spare_blocks() {
    let binaries = common::ours_and_debians();
    // The idle ones first, each in a thread of its own: a minute of waiting, once.
    let idle: Vec<_> = binaries
        .iter()
        .cloned()
        .map(|binary| std::thread::spawn(move || idle_upload(&binary)))
        .collect();
    // Every thread is joined before any failure is reported: a test that ended with one
    // still running would leave its ext4 mounted.
    let over_quota = std::panic::catch_unwind(|| over_quota_uploads(&binaries));
    let idle: Vec<_> = idle.into_iter().map(|thread| thread.join()).collect();
    let over_quota = over_quota.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let idle: Vec<Option<Option<String>>> = idle
        .into_iter()
        .map(|ended| ended.unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect();
    if over_quota.len() < binaries.len() || idle.contains(&None) {
        return; // No ext4 of the test's own here: said why.
    }
    assert_eq!(over_quota[0].0, 150, "{over_quota:?}");
    assert!(idle[0].as_ref().is_some_and(Option::is_some), "{idle:?}");
    if binaries.len() == 2 {
        assert_eq!(over_quota[0], over_quota[1], "ours, then Debian's");
        assert_eq!(idle[0], idle[1], "ours, then Debian's");
    }
}

/// A 24 MiB STOR on a server with `-n 1000:8`, by each binary: the replies (`150`, the
/// last one, whether the file stayed), after checking that what stayed is what came with
/// no blocks past it, and that removing it gives all the space back.
fn over_quota_uploads(binaries: &[PathBuf]) -> Vec<(u16, Option<u16>, bool)> {
    let mut over_quota = Vec::new();
    for binary in binaries {
        let Some((site, _disk)) = site_on_ext4(96) else {
            return over_quota;
        };
        let server = site.start(binary, &["-n", "1000:8"]);
        let free_before = free_blocks(&site.home);
        let body = pattern(24 << 20);
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("TYPE I");
        let (opened, done) = ftp.upload("STOR over.bin", &body);
        let done = done.map(|reply| reply.code);
        let path = site.home.join("over.bin");
        if path.exists() {
            closed_by_the_server(&path);
            let size = no_blocks_past_the_end(&path, binary);
            assert!(
                std::fs::read(&path).unwrap() == body[..size as usize],
                "{}: the bytes kept differ",
                binary.display()
            );
            assert_eq!(ftp.cmd("DELE over.bin").code, 250, "{}", binary.display());
        }
        assert_eq!(ftp.cmd("NOOP").code, 200, "{}", binary.display());
        std::fs::remove_file(site.home.join(".ftpquota")).unwrap_or_default();
        let free_after = free_blocks(&site.home);
        assert!(
            free_after + 4 >= free_before,
            "{}: {} blocks not given back",
            binary.display(),
            free_before.saturating_sub(free_after)
        );
        over_quota.push((opened.code, done, path.exists()));
    }
    over_quota
}

/// A STOR whose client sends 6 MiB, then nothing, holding both connections open, on a
/// server with `-I 1`: once the session has ended, the file holds what came and no
/// blocks past it. The last reply's code (`None` inside: none came before the end);
/// `None` without an ext4 of the test's own.
fn idle_upload(binary: &Path) -> Option<Option<String>> {
    let (site, _disk) = site_on_ext4(96)?;
    let server = site.start(binary, &["-I", "1"]);
    let sent = pattern(6 << 20);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    let mut data = TcpStream::connect(address).unwrap();
    ftp.send(b"STOR idle.bin");
    assert_eq!(ftp.reply().code, 150, "{}", binary.display());
    data.write_all(&sent).unwrap();
    ftp.set_timeout(Duration::from_secs(150));
    let mut last = None;
    loop {
        let reply = ftp.reply();
        if reply.code == 0 {
            break;
        }
        last = Some(reply.code.to_string());
    }
    let path = site.home.join("idle.bin");
    closed_by_the_server(&path);
    assert!(
        std::fs::read(&path).unwrap() == sent,
        "{}: the file is not what was sent",
        binary.display()
    );
    no_blocks_past_the_end(&path, binary);
    drop(data);
    Some(last)
}
