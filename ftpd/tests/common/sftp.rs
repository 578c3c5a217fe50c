//! pure-sftpd for the tests: host keys made once, the server on a `Site`, OpenSSH's
//! clients with a password typed by an askpass program, paramiko scripts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use super::{PASSWORD, Server, Site, USER};

pub const SFTPD: &str = env!("CARGO_BIN_EXE_pure-sftpd");

/// Host keys made by ssh-keygen for all tests (the server's own key making is tested in
/// `host_keys.rs`; RSA keys take a while in a debug build). They live in Cargo's
/// scratch directory for tests (`target/tmp`), made once and kept for the next runs: a
/// temporary directory held by a static is never removed, and left private keys in
/// /tmp after every run.
pub fn host_key_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = scratch.join("sftp-host-keys");
        if dir.join("ssh_host_rsa_key.pub").exists() {
            return dir;
        }
        // Made aside and renamed into place: test programs may run at the same time.
        let making = tempfile::tempdir_in(scratch).unwrap();
        for (kind, name) in [
            ("ed25519", "ssh_host_ed25519_key"),
            ("rsa", "ssh_host_rsa_key"),
        ] {
            let made = Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-N", "", "-f"])
                .arg(making.path().join(name))
                .status()
                .expect("ssh-keygen runs (apt-get install openssh-client)");
            assert!(made.success());
        }
        if std::fs::rename(making.path(), &dir).is_err() {
            // Another program's keys got there first: those are used, these removed.
            assert!(dir.join("ssh_host_rsa_key.pub").exists(), "{dir:?}");
        }
        dir
    })
}

/// pure-sftpd on the site, with `-l puredb:<pdb> -H` and `extra`.
pub fn start(site: &Site, extra: &[&str]) -> Server {
    start_with_login(site, &format!("puredb:{}", site.pdb.display()), extra)
}

/// pure-sftpd on the site, with `-l <login> -H` and `extra`.
pub fn start_with_login(site: &Site, login: &str, extra: &[&str]) -> Server {
    let keys = host_key_dir().display().to_string();
    let mut args = vec!["-l", login, "-H", "--hostkeydir", &keys];
    args.extend_from_slice(extra);
    Server::start_with_env(
        Path::new(SFTPD),
        &args,
        &[("PURE_FTPD_SCOREBOARD", &site.scoreboard())],
    )
}

/// An askpass program that types `password`.
pub fn askpass(dir: &Path, password: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("askpass-{}", password.len()));
    std::fs::write(&path, format!("#!/bin/sh\nprintf '%s\\n' '{password}'\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

pub const SSH_OPTIONS: [&str; 10] = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "PubkeyAuthentication=no",
    "-o",
    "NumberOfPasswordPrompts=1",
    "-o",
    "LogLevel=ERROR",
];

/// OpenSSH's sftp running `batch` as `user` with `password`, in `dir` (for local files).
pub fn sftp(port: u16, dir: &Path, user: &str, password: &str, batch: &str) -> Output {
    let batch_file = dir.join("batch");
    std::fs::write(&batch_file, batch).unwrap();
    Command::new("timeout")
        .args(["60", "sftp", "-P", &port.to_string(), "-o", "BatchMode=no"])
        .args(SSH_OPTIONS)
        .arg("-b")
        .arg(&batch_file)
        .arg(format!("{user}@127.0.0.1"))
        .current_dir(dir)
        .env("SSH_ASKPASS", askpass(dir, password))
        .env("SSH_ASKPASS_REQUIRE", "force")
        .stdin(Stdio::null())
        .output()
        .expect("sftp runs")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Whether `condition` holds within ten seconds.
pub fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Runs a Python `script` (paramiko's client, mostly) with the port, the login and the
/// password as its arguments, for at most `seconds`.
pub fn paramiko_script(seconds: u32, script: &str, port: u16) -> Output {
    Command::new("timeout")
        .arg(seconds.to_string())
        .args(["python3", "-c", script, &port.to_string(), USER, PASSWORD])
        .output()
        .expect("python3 runs")
}

/// A paramiko script, run as `python3 -c <script> <port> <user> <password> [more]`:
/// `sftp` is an open SFTP session of that user (`client` its SSH client; `io`, `sys`
/// and `paramiko` imported), then `body` runs.
#[macro_export]
macro_rules! paramiko_sftp {
    ($body:literal) => {
        concat!(
            "import io, sys, paramiko\n",
            "port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]\n",
            "client = paramiko.SSHClient()\n",
            "client.set_missing_host_key_policy(paramiko.AutoAddPolicy())\n",
            "client.connect(\"127.0.0.1\", port=port, username=user, password=password,\n",
            "               look_for_keys=False, allow_agent=False, timeout=20)\n",
            "sftp = client.open_sftp()\n",
            $body
        )
    };
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in &mut bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *b = state.to_le_bytes()[0];
    }
    bytes
}

/// A key pair made by ssh-keygen in `dir`; returns the private key's path.
pub fn key_pair(dir: &Path, kind: &str, name: &str) -> PathBuf {
    let path = dir.join(name);
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs (apt-get install openssh-client)");
    assert!(made.success());
    path
}

pub fn public(key: &Path) -> String {
    std::fs::read_to_string(key.with_extension("pub")).unwrap()
}

/// OpenSSH's `ssh` or `sftp` (`program`) to `port` on 127.0.0.1, stopped after 60 s: no
/// host key check, no prompt (BatchMode), no agent, nothing on its stdin.
pub fn openssh(program: &str, port: u16) -> Command {
    let port_flag = if program == "ssh" { "-p" } else { "-P" };
    let mut command = Command::new("timeout");
    command
        .args(["60", program, port_flag, &port.to_string()])
        .args(["-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"])
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null());
    command
}

/// Logging in with `keys` only, offered in this order (no password).
pub fn keys_only<'a>(command: &'a mut Command, keys: &[&Path]) -> &'a mut Command {
    command.args([
        "-o",
        "PasswordAuthentication=no",
        "-o",
        "IdentitiesOnly=yes",
    ]);
    for key in keys {
        command.arg("-i").arg(key);
    }
    command
}

/// OpenSSH's sftp as `user` with the key `identity` only (no password, no agent),
/// putting `up.bin` from `dir` and getting it back as `back.bin`.
pub fn sftp_with_key(port: u16, dir: &Path, user: &str, identity: &Path, extra: &[&str]) -> Output {
    let batch_file = dir.join("batch");
    std::fs::write(&batch_file, "put up.bin\nget up.bin back.bin\nbye\n").unwrap();
    let mut command = openssh("sftp", port);
    keys_only(&mut command, &[identity])
        .args(["-o", "LogLevel=ERROR"])
        .args(extra)
        .arg("-b")
        .arg(&batch_file)
        .arg(format!("{user}@127.0.0.1"))
        .current_dir(dir)
        .output()
        .expect("sftp runs")
}

/// The admin's key directory (`--userkeydir`) with a file of keys for each login:
/// root's, mode 0644.
pub fn key_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for (login, keys) in files {
        let file = dir.path().join(login);
        std::fs::write(&file, keys).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    dir
}
