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

use std::ffi::OsString;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User};
use pureftpd_quota::FILE_NAME;

const HELP: &str = "\nUsage:\n\npure-quotacheck -u <user> -d <directory> [-g <group>]\n\n\
-d <directory>: start from this directory\n\
-g <group/gid>: scan the directory under this gid\n\
-h: help\n\
-u <user/uid>: scan the directory under this uid\n\n";

fn main() {
    std::process::exit(run(std::env::args_os().skip(1)));
}

struct Request {
    uid: u32,
    gid: u32,
    directory: PathBuf,
    name: Option<String>,
}

fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let request = match parse(args) {
        Ok(request) => request,
        Err(code) => return code,
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

fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Request, i32> {
    use lexopt::Arg::{Short, Value};
    let mut parser = lexopt::Parser::from_args(args);
    let (mut uid, mut gid, mut name, mut directory) = (None, None, None, None);
    let mut any = false;
    while let Some(arg) = parser.next().map_err(|_| help())? {
        any = true;
        let letter = match arg {
            Short(letter) => letter,
            lexopt::Arg::Long(_) | Value(_) => return Err(help()),
        };
        let mut value = || -> Result<String, i32> {
            let value = parser.value().map_err(|_| help())?;
            Ok(value.to_string_lossy().into_owned())
        };
        match letter {
            'u' => {
                let value = value()?;
                match value.parse::<u32>() {
                    Ok(number) => uid = Some(number),
                    // A name also gives the group, as in Pure-FTPd.
                    Err(_) => match User::from_name(&value).ok().flatten() {
                        Some(user) => {
                            uid = Some(user.uid.as_raw());
                            gid = gid.or(Some(user.gid.as_raw()));
                            name = Some(user.name);
                        }
                        None => uid = Some(0),
                    },
                }
            }
            'g' => {
                let value = value()?;
                if gid.is_some() {
                    eprintln!("You already gave a gid");
                    return Err(255);
                }
                gid = Some(group_id(&value).unwrap_or(0));
            }
            'd' => {
                if directory.is_some() {
                    eprintln!("You already gave a directory");
                    return Err(255);
                }
                directory = Some(PathBuf::from(value()?));
            }
            _ => return Err(help()),
        }
    }
    if !any {
        return Err(help());
    }
    let Some(uid) = uid.filter(|&uid| uid > 0) else {
        eprintln!("Invalid/insecure/missing uid - must be > 0");
        return Err(254);
    };
    // The account's name, for its supplementary groups, when the system knows it.
    let name = name.or_else(|| {
        User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name)
    });
    let Some(gid) = gid.filter(|&gid| gid > 0) else {
        eprintln!("Invalid/insecure/missing gid - must be > 0");
        return Err(254);
    };
    let Some(directory) = directory else {
        eprintln!("Missing path");
        return Err(255);
    };
    Ok(Request {
        uid,
        gid,
        directory,
        name,
    })
}

fn help() -> i32 {
    print!("{HELP}");
    0
}

fn group_id(value: &str) -> Option<u32> {
    value.parse().ok().or_else(|| {
        Group::from_name(value)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    })
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
