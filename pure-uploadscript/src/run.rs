//! The loop: records from the pipe, one program run per uploaded file.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::unistd::{Gid, Group, Uid, User};
use pureftpd_bridge::daemon::log::Log;
use pureftpd_bridge::upload::{Decoder, Record};

/// Every variable set for the program (cleared from the inherited environment first).
const VARIABLES: [&str; 7] = [
    "UPLOAD_SIZE",
    "UPLOAD_PERMS",
    "UPLOAD_UID",
    "UPLOAD_GID",
    "UPLOAD_USER",
    "UPLOAD_GROUP",
    "UPLOAD_VUSER",
];

/// Reads records until the pipe fails.
pub(crate) fn forever(mut pipe: File, program: &Path, log: &Log) {
    let mut decoder = Decoder::default();
    let mut buffer = vec![0u8; 8192];
    loop {
        let n = match pipe.read(&mut buffer) {
            Ok(0) => continue,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log.error(&format!("Unable to read the upload pipe: {e}"));
                return;
            }
        };
        for record in decoder.push(&buffer[..n]) {
            handle(&record, program, log);
        }
    }
}

/// `ip:/path` (Pure-FTPd's virtual hosts) lives under `/etc/pure-ftpd/pure-ftpd/<ip>`.
fn file_path(record: &Record) -> PathBuf {
    let path = &record.path;
    if !path.starts_with(b"/")
        && let Some(colon) = path.iter().position(|&b| b == b':')
    {
        let (ip, rest) = (&path[..colon], &path[colon + 1..]);
        let mut mapped = b"/etc/pure-ftpd/pure-ftpd/".to_vec();
        mapped.extend_from_slice(ip);
        mapped.extend_from_slice(rest);
        return PathBuf::from(OsString::from_vec(mapped));
    }
    PathBuf::from(OsString::from_vec(path.clone()))
}

fn handle(record: &Record, program: &Path, log: &Log) {
    let path = file_path(record);
    // Still there, and a plain file (never followed through a symbolic link).
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => meta,
        _ => {
            log.warning(&format!(
                "{}: not a regular file any more, skipped",
                path.display()
            ));
            return;
        }
    };
    let mut command = Command::new(program);
    for name in VARIABLES {
        command.env_remove(name);
    }
    command
        .arg(&path)
        .env("UPLOAD_SIZE", meta.len().to_string())
        .env("UPLOAD_PERMS", format!("{:o}", meta.mode() & 0o7777))
        .env("UPLOAD_UID", meta.uid().to_string())
        .env("UPLOAD_GID", meta.gid().to_string())
        .env("UPLOAD_VUSER", OsString::from_vec(record.login.clone()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Ok(Some(user)) = User::from_uid(Uid::from_raw(meta.uid())) {
        command.env("UPLOAD_USER", user.name);
    }
    if let Ok(Some(group)) = Group::from_gid(Gid::from_raw(meta.gid())) {
        command.env("UPLOAD_GROUP", group.name);
    }
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => log.warning(&format!(
            "{}: {} ended with {status}",
            path.display(),
            program.display()
        )),
        Err(e) => log.error(&format!("Unable to run {}: {e}", program.display())),
    }
}
