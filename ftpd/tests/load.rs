//! Real clients under sustained load, through a passive port range smaller than the
//! number of transfers: every data connection leaves its port in TIME_WAIT for a minute,
//! so a server that cannot reuse those ports runs out after a handful of transfers.
//! Every file that crosses is checked by its SHA-256. And more uploads at once by one
//! account than the kernel lets it have pipes for splicing.

mod common;

use std::path::Path;
use std::process::Command;

use common::{PASSWORD, Site, USER, have, oracle};

/// Runs a Python script (with a time limit); returns its stdout, asserting success.
fn python(script: &str, seconds: u32) -> String {
    let out = Command::new("timeout")
        .args([&seconds.to_string(), "python3", "-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn passive_range(count: u16) -> String {
    let (first, last) = pureftpd_tests::free_port_range(count);
    format!("{first}:{last}")
}

/// 40 downloads in one session through 10 passive ports: what Debian's does, ours must.
/// Also as Pure-FTPd: `-c 100` is capped at half the passive range.
#[test]
fn forty_downloads_through_ten_passive_ports_as_debian() {
    let Some(debian) = oracle("pure-ftpd") else {
        return;
    };
    let site = Site::new();
    site.put("blob.bin", &vec![7u8; 100_000]);
    let script = |port: u16| {
        format!(
            r#"
import ftplib, hashlib
ftp = ftplib.FTP()
greeting = ftp.connect("127.0.0.1", {port}, timeout=20)
print([l for l in greeting.splitlines() if "allowed" in l][0])
ftp.login("{USER}", "{PASSWORD}")
done = 0
for i in range(40):
    chunks = []
    try:
        ftp.retrbinary("RETR blob.bin", chunks.append)
    except ftplib.error_temp as e:
        print("refused at", i, e)
        break
    assert hashlib.sha256(b"".join(chunks)).hexdigest() == hashlib.sha256(bytes([7]) * 100000).hexdigest()
    done += 1
print("done", done)
ftp.quit()
"#
        )
    };
    let mut seen = Vec::new();
    for binary in [Path::new(common::OURS), debian.as_path()] {
        let range = passive_range(10);
        let server = site.start(binary, &["-p", &range, "-c", "100"]);
        seen.push(python(&script(server.port), 120));
    }
    assert_eq!(seen[0], seen[1], "ours, then Debian's");
    assert!(seen[0].contains("of 5 allowed."), "{}", seen[0]);
    assert!(seen[0].contains("done 40"), "{}", seen[0]);
}

/// Names clients meet in real trees (no backslash: Pure-FTPd refuses those).
const ODD_NAMES: &[&str] = &[
    "plain.txt",
    "with space.txt",
    "  leading spaces",
    "-dash-first",
    "percent %20 sign",
    "hash#and?question",
    "semi;colon&amp",
    "quote'single\"double",
    "brackets [x] {y} (z)",
    "ünïcödé-名前.bin",
    "star*name",
    "tilde~",
    "trailing dot.",
    "many.dots.in.name.tar.gz",
];

/// A tree of `count` files (odd names, sizes from 0 to ~200 KB) under `root`.
fn make_tree(root: &Path, count: usize) {
    for i in 0..count {
        let dir = root.join(format!("d{}", i % 4)).join("deeper dir");
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("{i:03} {}", ODD_NAMES[i % ODD_NAMES.len()]);
        let size = (i * 7919) % 200_000;
        let bytes: Vec<u8> = (0..size).map(|j| ((i * 31 + j * 17) % 251) as u8).collect();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// `sha256sum` of every file below `root`, by relative path.
fn tree_digest(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let sum = Command::new("sha256sum").arg(&path).output().unwrap();
                let sum = String::from_utf8_lossy(&sum.stdout);
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                out.push((relative, sum.split(' ').next().unwrap().to_string()));
            }
        }
    }
    out.sort();
    out
}

/// Hundreds of transfers and listings through 8 passive ports (so at most 4 sessions),
/// sequential and concurrent, with ftplib, curl and lftp, each file checked by SHA-256.
#[test]
fn hundreds_of_transfers_through_eight_passive_ports() {
    if !(have("python3") && have("curl") && have("lftp")) {
        return;
    }
    let site = Site::new();
    let range = passive_range(8);
    let server = site.ours(&["-p", &range]);
    let port = server.port;

    // ftplib: 4 concurrent sessions (the -c cap for 8 ports), 60 steps each: upload,
    // download and compare, NLST and MLSD listings.
    let out = python(
        &format!(
            r#"
import ftplib, hashlib, io, threading
errors = []
counts = []
def worker(n):
    try:
        ftp = ftplib.FTP(encoding="latin-1")
        ftp.connect("127.0.0.1", {port}, timeout=30)
        ftp.login("{USER}", "{PASSWORD}")
        moved = 0
        for i in range(15):
            data = bytes((n * 7 + i + j) % 256 for j in range(1000 * (i + 1)))
            name = "w%d-%02d.bin" % (n, i)
            ftp.storbinary("STOR " + name, io.BytesIO(data))
            back = []
            ftp.retrbinary("RETR " + name, back.append)
            assert hashlib.sha256(b"".join(back)).digest() == hashlib.sha256(data).digest(), name
            assert name in ftp.nlst(), name
            assert dict(ftp.mlsd())[name]["size"] == str(len(data))
            moved += 4
        ftp.quit()
        counts.append(moved)
    except Exception as e:
        errors.append("worker %d: %r" % (n, e))
threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
assert not errors, errors
print(sum(counts))
"#
        ),
        240,
    );
    assert_eq!(out.trim(), "240", "data connections made by ftplib");

    // curl: 60 downloads over one connection, then compared.
    let fetched = site.dir.path().join("curl");
    std::fs::create_dir(&fetched).unwrap();
    let mut args = vec![
        "-sS".to_string(),
        "--max-time".to_string(),
        "120".to_string(),
        "-u".to_string(),
        format!("{USER}:{PASSWORD}"),
    ];
    for n in 0..4 {
        for i in 0..15 {
            let name = format!("w{n}-{i:02}.bin");
            args.push(format!("ftp://127.0.0.1:{port}/{name}"));
            args.push("-o".to_string());
            args.push(fetched.join(&name).display().to_string());
        }
    }
    let curl = Command::new("curl").args(&args).output().unwrap();
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    for n in 0..4 {
        for i in 0..15 {
            let name = format!("w{n}-{i:02}.bin");
            assert_eq!(
                std::fs::read(fetched.join(&name)).unwrap(),
                site.read(&name),
                "{name}"
            );
        }
    }

    // lftp: a tree of odd names up (mirror -R) and back down, twice over 8 ports.
    let tree = site.dir.path().join("tree");
    make_tree(&tree, 60);
    let back = site.dir.path().join("back");
    let script = format!(
        "set net:max-retries 1; set net:timeout 20; set ftp:passive-mode on; \
         set cmd:fail-exit yes; set mirror:parallel-transfer-count 2; \
         open -u {USER},'{PASSWORD}' -p {port} 127.0.0.1; \
         mirror -R --no-perms '{}' uploaded; mirror --no-perms uploaded '{}'; bye",
        tree.display(),
        back.display()
    );
    let lftp = Command::new("timeout")
        .args(["180", "lftp", "-c", &script])
        .output()
        .unwrap();
    assert!(
        lftp.status.success(),
        "{}",
        String::from_utf8_lossy(&lftp.stderr)
    );
    let sent = tree_digest(&tree);
    assert_eq!(sent.len(), 60);
    assert_eq!(
        tree_digest(&site.home.join("uploaded")),
        sent,
        "uploaded tree"
    );
    assert_eq!(tree_digest(&back), sent, "downloaded tree");
}

/// Uploads in clear are spliced through a pipe of 1 MiB, and the kernel lets one user
/// hold only so many pipe pages (`/proc/sys/fs/pipe-user-pages-soft`, 64 pipes of that
/// size by default). More uploads at once by one account than that: those past the
/// allowance take the copying path, and every file arrives whole.
#[test]
fn more_uploads_at_once_than_an_accounts_pipes_allow() {
    const UPLOADS: usize = 80;
    let site = Site::new();
    let server = site.ours(&["-c", "200", "-C", "200"]);
    let payload = |i: usize| -> Vec<u8> {
        (0..(1 << 20) + i)
            .map(|n| (n.wrapping_mul(31) ^ i) as u8)
            .collect()
    };
    // Every upload open, its data connection made, before any byte is sent.
    let mut open = Vec::new();
    for i in 0..UPLOADS {
        let mut ftp = common::Ftp::login(server.port, USER, PASSWORD);
        assert_eq!(ftp.cmd("TYPE I").code, 200);
        let data = std::net::TcpStream::connect(ftp.pasv()).unwrap();
        ftp.send(format!("STOR up-{i}.bin").as_bytes());
        let started = ftp.reply();
        assert_eq!(started.code, 150, "upload {i}: {started:?}");
        open.push((ftp, data));
    }
    // How many sessions hold both ends of a pipe now: a spliced upload's. (A process
    // may have inherited one end of another pipe from whoever started the server.)
    let spliced = pureftpd_tests::session_processes(server.pid())
        .into_iter()
        .filter(|&pid| {
            let pipes: Vec<String> = pureftpd_tests::procfs::descriptors(pid)
                .into_iter()
                .filter(|d| d.starts_with("pipe:"))
                .collect();
            pipes
                .iter()
                .any(|p| pipes.iter().filter(|q| *q == p).count() == 2)
        })
        .count();
    let soft_pages: usize = std::fs::read_to_string("/proc/sys/fs/pipe-user-pages-soft")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    println!("{spliced} of {UPLOADS} uploads spliced (pipe-user-pages-soft: {soft_pages})");
    // The allowance binds an account without CAP_SYS_RESOURCE, that is, when the
    // sessions switch to the account's uid (as root).
    if common::is_root() && soft_pages > 0 {
        assert!(
            (1..=soft_pages / 256).contains(&spliced),
            "{spliced} spliced, the allowance being {}",
            soft_pages / 256
        );
    }
    let senders: Vec<_> = open
        .into_iter()
        .enumerate()
        .map(|(i, (ftp, mut data))| {
            let bytes = payload(i);
            std::thread::spawn(move || {
                use std::io::Write;
                data.write_all(&bytes).unwrap();
                drop(data);
                ftp
            })
        })
        .collect();
    for (i, sender) in senders.into_iter().enumerate() {
        let mut ftp = sender.join().unwrap();
        let done = ftp.reply();
        assert_eq!(done.code, 226, "upload {i}: {done:?}");
    }
    for i in 0..UPLOADS {
        assert!(
            site.read(&format!("up-{i}.bin")) == payload(i),
            "up-{i}.bin is not what was sent"
        );
    }
}
