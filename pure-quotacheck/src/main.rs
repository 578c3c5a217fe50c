//! pure-quotacheck: counts an account's tree and writes the result to the tree's
//! `.ftpquota` (`pure-quotacheck -u <user|uid> -d <directory> [-g <group|gid>]`), with
//! Pure-FTPd's options, messages and exit codes: 254 for a missing or bad uid/gid, 255
//! for a missing directory, 253 when it cannot enter it as the account, 252 when the
//! tree cannot be walked, 251 when the file cannot be written.
//!
//! As root it chroots to the directory and becomes the account before reading
//! anything, so a link in the tree can neither leave it nor read what the account
//! could not. Unlike Pure-FTPd's, the account does not need an entry in the system's
//! password database (virtual accounts rarely have one): its supplementary groups are
//! then just its group. The counter file is written under the fcntl lock the server
//! takes, so running it while the server serves the account is safe.

mod count;
mod options;

use std::ffi::OsString;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};
use options::Request;
use pureftpd_quota::FILE_NAME;

fn main() {
    pureftpd_cli::answer_version("pure-quotacheck");
    let mut args = std::env::args_os();
    let program = args.next().map_or_else(
        || "pure-quotacheck".to_string(),
        |p| p.to_string_lossy().into_owned(),
    );
    std::process::exit(run(&program, args));
}

fn run(program: &str, args: impl IntoIterator<Item = OsString>) -> i32 {
    let request = match options::parse(program, args) {
        Ok(request) => request,
        Err(exit) => return exit.report(),
    };
    let root = if nix::unistd::geteuid().is_root() {
        if let Err(message) = become_account(&request) {
            eprintln!("{message}");
            return 253;
        }
        PathBuf::from("/")
    } else {
        // Without root: the directory as the user running the tool.
        if let Err(e) = std::env::set_current_dir(&request.directory) {
            eprintln!(
                "Can't enter directory [{}]: [{e}]",
                request.directory.display()
            );
            return 253;
        }
        PathBuf::from(".")
    };
    let usage = match count::tree(&root) {
        Ok(usage) => usage,
        Err(e) => {
            eprintln!(
                "Unable to traverse [{}]: [{e}]",
                request.directory.display()
            );
            return 252;
        }
    };
    match write(&root.join(FILE_NAME), usage) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Unable to update the quota file ({FILE_NAME}): [{e}]");
            251
        }
    }
}

/// chroot to the directory, then the account's groups, gid and uid, for good.
fn become_account(request: &Request) -> Result<(), String> {
    let dir = &request.directory;
    let failed = |e: &dyn std::fmt::Display| format!("Can't chroot to [{}]: [{e}]", dir.display());
    std::env::set_current_dir(dir).map_err(|e| failed(&e))?;
    nix::unistd::chroot(".").map_err(|e| failed(&e))?;
    std::env::set_current_dir("/").map_err(|e| failed(&e))?;
    let gid = Gid::from_raw(request.gid);
    let switched = match request
        .name
        .as_ref()
        .and_then(|n| std::ffi::CString::new(n.as_str()).ok())
    {
        Some(name) => nix::unistd::initgroups(&name, gid),
        None => nix::unistd::setgroups(&[gid]),
    }
    .and_then(|()| nix::unistd::setresgid(gid, gid, gid))
    .and_then(|()| {
        let uid = Uid::from_raw(request.uid);
        nix::unistd::setresuid(uid, uid, uid)
    });
    switched.map_err(|e| format!("Can't switch uid/gid: [{e}]"))
}

/// Writes the counter file (mode 0600, never through a link) under its lock.
fn write(path: &Path, usage: pureftpd_quota::Usage) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)?;
    pureftpd_quota::locked(&file, |file| pureftpd_quota::write_usage(file, usage))
}
