//! Real clients under sustained load, through a passive port range smaller than the
//! number of transfers: every data connection leaves its port in TIME_WAIT for a minute,
//! so a server that cannot reuse those ports runs out after a handful of transfers.
//! Every file that crosses is checked by its SHA-256.

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
