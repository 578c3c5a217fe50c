//! Real clients against our server: curl, lftp and Python's ftplib.

mod common;

use std::process::Command;

use common::{PASSWORD, Site, USER, have};

fn url(port: u16, path: &str) -> String {
    format!("ftp://127.0.0.1:{port}/{path}")
}

#[test]
fn curl_downloads_uploads_and_lists() {
    if !have("curl") {
        return;
    }
    let site = Site::new();
    let server = site.ours(&[]);
    let user = format!("{USER}:{PASSWORD}");
    let get = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-u",
            &user,
            &url(server.port, "a.txt"),
        ])
        .output()
        .unwrap();
    assert!(
        get.status.success(),
        "{}",
        String::from_utf8_lossy(&get.stderr)
    );
    assert_eq!(get.stdout, b"hello\nworld\n");
    let upload = site.dir.path().join("payload.bin");
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&upload, &payload).unwrap();
    let put = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-u",
            &user,
            "-T",
            upload.to_str().unwrap(),
            &url(server.port, "sub/uploaded.bin"),
        ])
        .output()
        .unwrap();
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    assert_eq!(site.read("sub/uploaded.bin"), payload);
    let list = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-u",
            &user,
            &url(server.port, "sub/"),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains(" uploaded.bin"));
    let active = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-P",
            "127.0.0.1",
            "-u",
            &user,
            &url(server.port, "a.txt"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        active.stdout,
        b"hello\nworld\n",
        "active mode: {}",
        String::from_utf8_lossy(&active.stderr)
    );
    let resumed = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-C",
            "6",
            "-u",
            &user,
            &url(server.port, "a.txt"),
        ])
        .output()
        .unwrap();
    assert_eq!(resumed.stdout, b"world\n");
    let denied = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-u",
            "alice:wrong",
            &url(server.port, "a.txt"),
        ])
        .output()
        .unwrap();
    assert_eq!(denied.status.code(), Some(67), "curl: login denied");
}

#[test]
fn lftp_mirrors_a_tree_both_ways() {
    if !have("lftp") {
        return;
    }
    let site = Site::new();
    let server = site.ours(&[]);
    let local = site.dir.path().join("mirror");
    let script = format!(
        "set net:max-retries 1; set net:timeout 10; set ftp:passive-mode on; \
         open -u {USER},'{PASSWORD}' -p {} 127.0.0.1; \
         mirror --no-perms sub {}; \
         mkdir pushed; cd pushed; put {}/inner.txt -o copy.txt; cls -1; bye",
        server.port,
        local.display(),
        local.display()
    );
    let out = Command::new("lftp").args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(local.join("inner.txt")).unwrap(), b"inner\n");
    assert_eq!(site.read("pushed/copy.txt"), b"inner\n");
    assert!(String::from_utf8_lossy(&out.stdout).contains("copy.txt"));
}

#[test]
fn python_ftplib_session() {
    if !have("python3") {
        return;
    }
    let site = Site::new();
    let server = site.ours(&[]);
    let script = format!(
        r#"
import ftplib, io
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", {port}, timeout=30)
print(ftp.login("{USER}", "{PASSWORD}"))
print(ftp.pwd())
ftp.cwd("sub")
data = io.BytesIO()
ftp.retrbinary("RETR inner.txt", data.write)
assert data.getvalue() == b"inner\n", data.getvalue()
ftp.storbinary("STOR from-python.bin", io.BytesIO(b"\x00\x01\x02" * 1000))
names = ftp.nlst()
assert "from-python.bin" in names, names
facts = dict(ftp.mlsd())
assert facts["from-python.bin"]["size"] == "3000", facts
assert ftp.size("from-python.bin") == 3000
ftp.rename("from-python.bin", "renamed.bin")
ftp.delete("renamed.bin")
ftp.mkd("pydir"); ftp.rmd("pydir")
lines = []
ftp.retrlines("LIST", lines.append)
assert any(l.endswith(" inner.txt") for l in lines), lines
print(ftp.quit())
"#,
        port = server.port
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("230 OK. Current directory is /\n/\n"),
        "{stdout}"
    );
    assert!(stdout.contains("221-Goodbye."));
}
