//! Entering an account, the security boundary of a session.
//!
//! As root, in this order: create a missing home (`-j`), chroot when Pure-FTPd would
//! (a `/./` home, `-A`, `-a` for users outside the trusted group, quota users,
//! anonymous), set the supplementary groups, the gid, then the uid (real, effective and
//! saved: there is no way back to root), and check that it took. Only then is the
//! starting directory opened, with the account's permissions.
//!
//! Not started as root, the server cannot change user: the session runs as the user who
//! started it, confined to the account's home by the virtual chroot of [`crate::vfs`].

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};

use crate::auth::LoggedUser;
use crate::config::Config;
use crate::vfs::Vfs;

/// The result of entering an account.
#[derive(Debug)]
pub struct Entered {
    /// The session's file system view.
    pub vfs: Vfs,
    /// The real directory the session's `/` is (for logs naming files as they are on
    /// the server).
    pub base: PathBuf,
    /// Chrooted by `-A`/`-a`/quotas rather than by the home's `/./` (the login reply
    /// then says "restricted").
    pub restricted: bool,
}

/// Owner and group names for listings, read before any chroot hides them.
#[derive(Debug, Default)]
pub struct Names {
    /// By uid; empty for virtual accounts, whose owners show as numbers.
    pub users: HashMap<u32, String>,
    /// By gid.
    pub groups: HashMap<u32, String>,
}

fn errno(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// Reads `/etc/passwd` and `/etc/group` as Pure-FTPd shows them in listings.
#[must_use]
pub fn names_for_listings(user: &LoggedUser) -> Names {
    let table = |path: &str| -> HashMap<u32, String> {
        let Ok(text) = std::fs::read_to_string(path) else {
            return HashMap::new();
        };
        text.lines()
            .filter_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id = fields.nth(1)?.parse().ok()?;
                Some((id, name.to_string()))
            })
            .collect()
    };
    Names {
        users: if user.system_account {
            table("/etc/passwd")
        } else {
            HashMap::new()
        },
        groups: table("/etc/group"),
    }
}

/// Enters the account (see the module documentation).
///
/// # Errors
/// The home is missing or unusable, or a privilege change failed: the session must end.
pub fn enter(user: &LoggedUser, config: &Config) -> io::Result<Entered> {
    if Uid::effective().is_root() {
        enter_as_root(user, config)
    } else {
        enter_virtual(user, config)
    }
}

fn enter_virtual(user: &LoggedUser, config: &Config) -> io::Result<Entered> {
    if config.create_home {
        create_home(&user.home.start_dir(), None, config.dir_umask)?;
    }
    let (start, restricted) = if user.home.chroot {
        (user.home.start.as_os_str().as_bytes().to_vec(), false)
    } else {
        (b"/".to_vec(), true)
    };
    let vfs = Vfs::new(&user.home.root, &start)?;
    Ok(Entered {
        vfs,
        base: user.home.root.clone(),
        restricted,
    })
}

fn enter_as_root(user: &LoggedUser, config: &Config) -> io::Result<Entered> {
    let (uid, gid) = (Uid::from_raw(user.uid), Gid::from_raw(user.gid));
    if config.create_home {
        create_home(&user.home.start_dir(), Some((uid, gid)), config.dir_umask)?;
    }
    let trusted = user.uid == 0 || config.trusted_gid.is_some_and(|g| in_group(user, g));
    let has_quota = !user.anonymous
        && (config.quota.is_some() || user.quota_files.is_some() || user.quota_size.is_some());
    let forced = user.anonymous
        || (!trusted && (config.chroot_everyone || config.trusted_gid.is_some() || has_quota));
    // (directory to chroot to, start inside it, "restricted" wording)
    let (jail, start, restricted): (Option<PathBuf>, Vec<u8>, bool) =
        if user.home.chroot && user.uid != 0 {
            (
                Some(user.home.root.clone()),
                user.home.start.as_os_str().as_bytes().to_vec(),
                false,
            )
        } else if forced {
            (Some(user.home.start_dir()), b"/".to_vec(), true)
        } else {
            (
                None,
                user.home.start_dir().as_os_str().as_bytes().to_vec(),
                false,
            )
        };
    // Not chrooted, the home is opened now, as root, as Pure-FTPd enters it before
    // switching users: it may sit below a directory only root can cross.
    let home = match &jail {
        Some(jail) => {
            std::env::set_current_dir(jail)?;
            nix::unistd::chroot(".").map_err(errno)?;
            std::env::set_current_dir("/")?;
            None
        }
        None => Some(
            nix::fcntl::open(
                OsStr::from_bytes(&start),
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(errno)?,
        ),
    };
    drop_privileges(user, uid, gid)?;
    let vfs = match home {
        Some(home) => {
            // Entering needs the account's own search permission on its home.
            nix::unistd::fchdir(&home).map_err(errno)?;
            Vfs::anchored(&start, home)?
        }
        None => Vfs::new(Path::new("/"), &start)?,
    };
    Ok(Entered {
        vfs,
        base: jail.unwrap_or_else(|| PathBuf::from("/")),
        restricted: restricted && !user.anonymous,
    })
}

/// Groups, then gid, then uid, for good; then checks that root is out of reach.
fn drop_privileges(user: &LoggedUser, uid: Uid, gid: Gid) -> io::Result<()> {
    let name = CString::new(user.login.clone()).ok();
    match name.filter(|_| user.system_account) {
        Some(name) => nix::unistd::initgroups(&name, gid).map_err(errno)?,
        None => nix::unistd::setgroups(&[gid]).map_err(errno)?,
    }
    nix::unistd::setresgid(gid, gid, gid).map_err(errno)?;
    nix::unistd::setresuid(uid, uid, uid).map_err(errno)?;
    if user.uid != 0
        && (nix::unistd::setuid(Uid::from_raw(0)).is_ok() || Uid::effective().is_root())
    {
        return Err(io::Error::other("privileges could not be dropped"));
    }
    Ok(())
}

/// Whether the account is in `group` (its own group, or a supplementary one).
pub(crate) fn in_group(user: &LoggedUser, group: u32) -> bool {
    if user.gid == group {
        return true;
    }
    let Ok(name) = CString::new(user.login.clone()) else {
        return false;
    };
    nix::unistd::getgrouplist(&name, Gid::from_raw(user.gid))
        .is_ok_and(|groups| groups.contains(&Gid::from_raw(group)))
}

/// `-j`: creates a missing home, its parents 0755 and the home itself 0777 & ~umask,
/// owned by the account.
///
/// The home is made with `mkdirat` in its opened parent, then opened without following
/// links and changed through that descriptor: if someone who can write to the parent
/// swaps the new directory for a link meanwhile, root changes nothing but the directory
/// it made (the open fails on a link).
fn create_home(home: &Path, owner: Option<(Uid, Gid)>, dir_umask: u32) -> io::Result<()> {
    if home.is_dir() {
        return Ok(());
    }
    let (Some(parent), Some(name)) = (home.parent(), home.file_name()) else {
        return Err(io::Error::from_raw_os_error(nix::libc::EINVAL));
    };
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o755)
        .create(parent)?;
    let parent = nix::fcntl::open(
        parent,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)?;
    nix::sys::stat::mkdirat(&parent, name, Mode::from_bits_truncate(0o700)).map_err(errno)?;
    let dir = nix::fcntl::openat(
        &parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)?;
    if let Some((uid, gid)) = owner {
        nix::unistd::fchown(&dir, Some(uid), Some(gid)).map_err(errno)?;
    }
    nix::sys::stat::fchmod(&dir, Mode::from_bits_truncate(0o777 & !dir_umask)).map_err(errno)?;
    Ok(())
}
