//! The session's view of the file system: a root directory it cannot leave, and a
//! current directory inside it.
//!
//! Every path a client sends is made absolute and cleaned lexically ([`normalize`]:
//! `.`, `..`, `//`, `~`), then resolved by the kernel with `openat2(RESOLVE_IN_ROOT)`
//! relative to the root's directory descriptor: `..` and symbolic links (absolute ones
//! included) are resolved as if the root were `/`, race-free. A name the client ends
//! with `/` (or `/.`) keeps a trailing `/`: as for the kernel, it must then be a
//! directory (`STOR new/` is `EISDIR`, `DELE file/` and `RNTO file/` are `ENOTDIR`), as
//! Pure-FTPd, which hands the client's names to the kernel, answers. The same code serves a
//! session in a real chroot (the root is then `/`) and the virtual chroot of a server
//! not started as root. Operations on a name (create, delete, rename) resolve the parent
//! that way and then act on the last component with the `*at` calls and `O_NOFOLLOW`.

pub mod glob;
pub mod listing;

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag, openat, openat2};
use nix::sys::stat::{self, FileStat, Mode};
use nix::unistd::{UnlinkatFlags, unlinkat};

/// The root and the current directory of a session.
#[derive(Debug)]
pub struct Vfs {
    root: OwnedFd,
    cwd: Vec<u8>,
    home: Vec<u8>,
    anchor: Option<Anchor>,
}

/// The home of a session that is not chrooted, opened before the session gave up root:
/// paths inside it are resolved from this descriptor, so that a home below a directory
/// only root may cross (one locked-down parent for all homes) works, as it does in
/// Pure-FTPd, which enters the home as root. Outside it, the kernel's permission checks
/// apply as usual.
#[derive(Debug)]
struct Anchor {
    path: Vec<u8>,
    dir: OwnedFd,
}

impl Anchor {
    /// `path` relative to the anchor, if it is the anchor or below it.
    fn beneath<'p>(&self, path: &'p [u8]) -> Option<&'p [u8]> {
        let rest = path.strip_prefix(self.path.as_slice())?;
        match rest {
            [] => Some(b"."),
            [b'/'] => Some(b"./"),
            [b'/', tail @ ..] => Some(tail),
            _ => None,
        }
    }
}

fn errno(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

impl Vfs {
    /// A session confined to `root` (a real directory), starting in `start` (a path
    /// inside it, `/` for its top).
    ///
    /// # Errors
    /// The root cannot be opened, or `start` is not a directory inside it.
    pub fn new(root: &Path, start: &[u8]) -> io::Result<Self> {
        Self::with(root, start, |_| None)
    }

    /// A session whose root is the real `/` and whose home `start` was opened as `home`
    /// (by root, before the session dropped its privileges): see `Anchor`.
    ///
    /// # Errors
    /// `/` cannot be opened, or the home is not a directory the session can read.
    pub fn anchored(start: &[u8], home: OwnedFd) -> io::Result<Self> {
        Self::with(Path::new("/"), start, |path| {
            (path != b"/").then(|| Anchor {
                path: path.to_vec(),
                dir: home,
            })
        })
    }

    fn with(
        root: &Path,
        start: &[u8],
        anchor: impl FnOnce(&[u8]) -> Option<Anchor>,
    ) -> io::Result<Self> {
        let root = nix::fcntl::open(
            root,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)?;
        let home = normalize(b"/", b"/", start);
        let vfs = Self {
            root,
            cwd: home.clone(),
            anchor: anchor(&home),
            home,
        };
        vfs.open_dir(&vfs.home.clone())?;
        Ok(vfs)
    }

    /// The root directory's descriptor (for statvfs).
    #[must_use]
    pub fn root_fd(&self) -> &OwnedFd {
        &self.root
    }

    /// The current directory, as the client sees it.
    #[must_use]
    pub fn cwd(&self) -> &[u8] {
        &self.cwd
    }

    /// The absolute path a client's argument names, with a trailing `/` when the
    /// client's own ends so (it must then be a directory).
    #[must_use]
    pub fn resolve(&self, client_path: &[u8]) -> Vec<u8> {
        let mut path = normalize(&self.cwd, &self.home, client_path);
        if (client_path.ends_with(b"/") || client_path.ends_with(b"/.")) && path != b"/" {
            path.push(b'/');
        }
        path
    }

    /// Changes directory; returns the new one.
    ///
    /// # Errors
    /// Not a directory the session can enter.
    pub fn chdir(&mut self, client_path: &[u8]) -> io::Result<&[u8]> {
        let path = self.resolve(client_path);
        let dir = self.open_in_root(&path, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())?;
        // Entering needs search permission, which opening with O_PATH does not check:
        // fchdir does.
        nix::unistd::fchdir(&dir).map_err(errno)?;
        self.cwd = without_slash(&path).to_vec();
        Ok(&self.cwd)
    }

    fn open_in_root(&self, path: &[u8], flags: OFlag, mode: Mode) -> io::Result<OwnedFd> {
        if let Some(anchor) = &self.anchor
            && let Some(inside) = anchor.beneath(path)
        {
            // The root is the real `/` here, so resolving from the home needs no
            // RESOLVE_IN_ROOT: absolute links lead to the same place either way.
            let how = OpenHow::new()
                .flags(flags | OFlag::O_CLOEXEC)
                .mode(mode)
                .resolve(ResolveFlag::RESOLVE_NO_MAGICLINKS);
            return openat2(anchor.dir.as_fd(), OsStr::from_bytes(inside), how).map_err(errno);
        }
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .mode(mode)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let relative = relative(path);
        openat2(self.root.as_fd(), relative, how).map_err(errno)
    }

    /// Opens a directory for reading.
    ///
    /// # Errors
    /// Missing, not a directory, no permission.
    pub fn open_dir(&self, path: &[u8]) -> io::Result<OwnedFd> {
        self.open_in_root(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())
    }

    /// Opens a file for reading.
    ///
    /// # Errors
    /// Missing or unreadable.
    pub fn open_read(&self, path: &[u8]) -> io::Result<File> {
        self.open_in_root(
            path,
            OFlag::O_RDONLY | OFlag::O_NOCTTY | OFlag::O_NONBLOCK,
            Mode::empty(),
        )
        .map(File::from)
    }

    /// `stat` (following symbolic links, inside the root).
    ///
    /// # Errors
    /// Missing or unreachable.
    pub fn stat(&self, path: &[u8]) -> io::Result<FileStat> {
        let fd = self.open_in_root(path, OFlag::O_PATH, Mode::empty())?;
        stat::fstat(&fd).map_err(errno)
    }

    /// `lstat`: the entry itself, a symbolic link is not followed.
    ///
    /// # Errors
    /// Missing or unreachable.
    pub fn lstat(&self, path: &[u8]) -> io::Result<FileStat> {
        // `link/` is what the link leads to, as lstat(2) takes it.
        if split_last(path).is_none() || names_a_directory(path) {
            return self.stat(path);
        }
        let (parent, name) = self.parent(path)?;
        stat::fstatat(&parent, name.as_slice(), AtFlags::AT_SYMLINK_NOFOLLOW).map_err(errno)
    }

    /// The parent directory of `path` and its last component. The root has no parent.
    ///
    /// # Errors
    /// `path` is the root, or its parent cannot be reached, or it ends with `/` and
    /// names something other than a directory (`ENOTDIR`; a missing one is left to the
    /// operation).
    pub fn parent(&self, path: &[u8]) -> io::Result<(OwnedFd, Vec<u8>)> {
        let (parent, name) = self.parent_of(path)?;
        self.wants_a_directory(path, &parent, &name)?;
        Ok((parent, name))
    }

    /// The parent directory of `path` and its last component, whatever that is.
    fn parent_of(&self, path: &[u8]) -> io::Result<(OwnedFd, Vec<u8>)> {
        let (dir, name) =
            split_last(path).ok_or_else(|| io::Error::from_raw_os_error(libc_eperm()))?;
        let parent = self.open_in_root(dir, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())?;
        Ok((parent, name.to_vec()))
    }

    /// `ENOTDIR` when `path` ends with `/` and its last component, `name` in `parent`,
    /// is there and is not a directory nor a link to one.
    fn wants_a_directory(&self, path: &[u8], parent: &OwnedFd, name: &[u8]) -> io::Result<()> {
        if names_a_directory(path) {
            match stat::fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Err(nix::errno::Errno::ENOENT) => {}
                Err(e) => return Err(errno(e)),
                Ok(st) if is_kind(&st, libc_kind::DIR) => {}
                // A link counts as what it leads to, found inside the root.
                Ok(st) if is_kind(&st, libc_kind::LINK) => {
                    self.open_in_root(path, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())?;
                }
                Ok(_) => return Err(errno(nix::errno::Errno::ENOTDIR)),
            }
        }
        Ok(())
    }

    /// Whether a file could be made at `path` (its directory is there, and the name does
    /// not end with `/`), as open(2) with `O_CREAT` would find; nothing is made.
    ///
    /// # Errors
    /// As open(2) would fail on the path.
    pub fn can_create(&self, path: &[u8]) -> io::Result<()> {
        self.parent_of(path)?;
        if names_a_directory(path) {
            return Err(errno(nix::errno::Errno::EISDIR));
        }
        Ok(())
    }

    /// Creates or opens a file for writing; never follows a symbolic link at the name.
    ///
    /// # Errors
    /// As open(2).
    pub fn open_write(&self, path: &[u8], flags: OFlag, mode: u32) -> io::Result<File> {
        self.open_name(path, flags | OFlag::O_WRONLY, mode)
    }

    /// Opens the last component of `path` with `flags` (which say how: `O_WRONLY` or
    /// `O_RDWR`, creation, truncation), never following a symbolic link at the name.
    ///
    /// # Errors
    /// As open(2).
    pub fn open_name(&self, path: &[u8], flags: OFlag, mode: u32) -> io::Result<File> {
        let (parent, name) = self.parent_of(path)?;
        // No file is made at `name/` (open(2) says EISDIR to O_CREAT there), and
        // what is there is a directory or is refused with ENOTDIR.
        if names_a_directory(path) {
            if !flags.contains(OFlag::O_CREAT) {
                self.wants_a_directory(path, &parent, &name)?;
            }
            return Err(errno(nix::errno::Errno::EISDIR));
        }
        let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        openat(
            &parent,
            name.as_slice(),
            flags,
            Mode::from_bits_truncate(mode),
        )
        .map(File::from)
        .map_err(errno)
    }

    /// Creates a directory.
    ///
    /// # Errors
    /// As mkdir(2).
    pub fn mkdir(&self, path: &[u8], mode: u32) -> io::Result<()> {
        if split_last(path).is_none() {
            return Err(errno(nix::errno::Errno::EEXIST));
        }
        // `new/` is how many clients name a directory to make.
        let (parent, name) = self.parent(without_slash(path))?;
        stat::mkdirat(&parent, name.as_slice(), Mode::from_bits_truncate(mode)).map_err(errno)
    }

    /// Removes an empty directory.
    ///
    /// # Errors
    /// As rmdir(2).
    pub fn rmdir(&self, path: &[u8]) -> io::Result<()> {
        if split_last(path).is_none() {
            return Err(errno(nix::errno::Errno::EBUSY));
        }
        let (parent, name) = self.parent(path)?;
        unlinkat(&parent, name.as_slice(), UnlinkatFlags::RemoveDir).map_err(errno)
    }

    /// Removes a file (or a symbolic link, never its target).
    ///
    /// # Errors
    /// As unlink(2); a directory gives `EISDIR`.
    pub fn unlink(&self, path: &[u8]) -> io::Result<()> {
        let (parent, name) = self.parent(path)?;
        // `name/` that is there is a directory (or a link to one): unlink(2) refuses it.
        if names_a_directory(path)
            && stat::fstatat(&parent, name.as_slice(), AtFlags::AT_SYMLINK_NOFOLLOW).is_ok()
        {
            return Err(errno(nix::errno::Errno::EISDIR));
        }
        unlinkat(&parent, name.as_slice(), UnlinkatFlags::NoRemoveDir).map_err(errno)
    }

    /// Renames `from` to `to`, replacing `to` if it exists.
    ///
    /// # Errors
    /// As rename(2).
    pub fn rename(&self, from: &[u8], to: &[u8]) -> io::Result<()> {
        let (from_dir, from_name, to_dir, to_name) = self.rename_ends(from, to)?;
        nix::fcntl::renameat(&from_dir, from_name.as_slice(), &to_dir, to_name.as_slice())
            .map_err(errno)
    }

    /// Renames `from` to `to`, failing with `EEXIST` if `to` exists (SFTP's rename).
    ///
    /// # Errors
    /// As renameat2(2) with `RENAME_NOREPLACE`.
    pub fn rename_no_replace(&self, from: &[u8], to: &[u8]) -> io::Result<()> {
        let (from_dir, from_name, to_dir, to_name) = self.rename_ends(from, to)?;
        nix::fcntl::renameat2(
            &from_dir,
            from_name.as_slice(),
            &to_dir,
            to_name.as_slice(),
            nix::fcntl::RenameFlags::RENAME_NOREPLACE,
        )
        .map_err(errno)
    }

    /// Both ends of a rename: the root is busy, as rename(2) says, and a `/` at the end
    /// of either name wants a directory to move.
    fn rename_ends(
        &self,
        from: &[u8],
        to: &[u8],
    ) -> io::Result<(OwnedFd, Vec<u8>, OwnedFd, Vec<u8>)> {
        if split_last(from).is_none() || split_last(to).is_none() {
            return Err(errno(nix::errno::Errno::EBUSY));
        }
        let (from_dir, from_name) = self.parent(from)?;
        let (to_dir, to_name) = self.parent(to)?;
        if names_a_directory(from) || names_a_directory(to) {
            let st = stat::fstatat(
                &from_dir,
                from_name.as_slice(),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(errno)?;
            if !is_kind(&st, libc_kind::DIR) {
                return Err(errno(nix::errno::Errno::ENOTDIR));
            }
        }
        Ok((from_dir, from_name, to_dir, to_name))
    }

    /// The target of a symbolic link.
    ///
    /// # Errors
    /// Not a link.
    pub fn readlink(&self, path: &[u8]) -> io::Result<Vec<u8>> {
        let (parent, name) = self.parent(path)?;
        nix::fcntl::readlinkat(&parent, name.as_slice())
            .map(|target| target.as_bytes().to_vec())
            .map_err(errno)
    }

    /// Changes permissions (following a symbolic link inside the root).
    ///
    /// # Errors
    /// As chmod(2).
    pub fn chmod(&self, path: &[u8], mode: u32) -> io::Result<()> {
        let mode = Mode::from_bits_truncate(mode);
        let follow = stat::FchmodatFlags::FollowSymlink;
        match self.by_proc(path)? {
            Some(p) => stat::fchmodat(&p.proc, p.name.as_slice(), mode, follow),
            None => stat::fchmodat(&self.root, relative(path), mode, follow),
        }
        .map_err(errno)
    }

    /// Sets access and modification times (following a symbolic link inside the root).
    ///
    /// # Errors
    /// As utimensat(2).
    pub fn set_times(&self, path: &[u8], atime: i64, mtime: i64) -> io::Result<()> {
        let (a, m) = (
            nix::sys::time::TimeSpec::new(atime, 0),
            nix::sys::time::TimeSpec::new(mtime, 0),
        );
        let follow = stat::UtimensatFlags::FollowSymlink;
        match self.by_proc(path)? {
            Some(p) => stat::utimensat(&p.proc, p.name.as_slice(), &a, &m, follow),
            None => stat::utimensat(&self.root, relative(path), &a, &m, follow),
        }
        .map_err(errno)
    }

    /// For calls that take no descriptor (chmod, utimes): the file openat2 resolved
    /// inside the root, named through `/proc/self/fd`. Inside a real chroot there is no
    /// /proc, and `None` is returned: the chroot itself then confines the path, which
    /// is used relative to the root.
    fn by_proc(&self, path: &[u8]) -> io::Result<Option<ProcPath>> {
        let target = self.open_in_root(path, OFlag::O_PATH, Mode::empty())?;
        let proc = nix::fcntl::open(
            "/proc/self/fd",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        );
        Ok(proc.ok().map(|proc| {
            use std::os::fd::AsRawFd;
            let name = target.as_raw_fd().to_string().into_bytes();
            ProcPath {
                proc,
                name,
                _target: target,
            }
        }))
    }

    /// A directory's entries, `.` and `..` included, in directory order.
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn read_dir(&self, path: &[u8]) -> io::Result<(OwnedFd, Vec<Vec<u8>>)> {
        let mut entries = self.dir_entries(path)?;
        let mut names = Vec::new();
        entries.each_name(|_, name| {
            names.push(name.to_vec());
            ControlFlow::Continue(())
        });
        Ok((entries.fd, names))
    }

    /// A directory opened to be read one entry at a time, for listings that stop at the
    /// `-L` cap: the first ten thousand names of a directory of a million are had
    /// without reading, or holding, the rest.
    ///
    /// # Errors
    /// The directory cannot be opened.
    pub fn dir_entries(&self, path: &[u8]) -> io::Result<DirEntries> {
        let fd = self.open_dir(path)?;
        let dir = nix::dir::Dir::from_fd(fd.try_clone()?).map_err(errno)?;
        Ok(DirEntries {
            fd,
            entries: dir.into_iter(),
        })
    }
}

/// An open directory read in directory order, `.` and `..` included, from where the
/// last reading stopped (an SFTP handle reads a batch per request; nix's borrowing
/// iterator would start over each time: it rewinds when dropped).
pub struct DirEntries {
    fd: OwnedFd,
    entries: nix::dir::OwningIter,
}

impl DirEntries {
    /// Hands `each` the directory (to look entries up in, `fstatat`) and the names one by
    /// one until it breaks or the directory ends. An entry the kernel fails to return ends
    /// the reading (`readdir` has no way past it).
    pub fn each_name(&mut self, mut each: impl FnMut(&OwnedFd, &[u8]) -> ControlFlow<()>) {
        for entry in self.entries.by_ref() {
            let Ok(entry) = entry else {
                return;
            };
            if each(&self.fd, entry.file_name().to_bytes()).is_break() {
                return;
            }
        }
    }

    /// The next `count` names at most (none: the directory is read to its end).
    pub fn next_names(&mut self, count: usize) -> Vec<Vec<u8>> {
        let mut names = Vec::new();
        if count > 0 {
            self.each_name(|_, name| {
                names.push(name.to_vec());
                if names.len() < count {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            });
        }
        names
    }

    /// The directory's descriptor, to look its entries up in or `fstat` it.
    #[must_use]
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }
}

/// A file reached through `/proc/self/fd/<n>`; the descriptor stays open while in use.
struct ProcPath {
    proc: OwnedFd,
    name: Vec<u8>,
    _target: OwnedFd,
}

/// A path relative to the root, for openat2 (which treats a leading `/` as the root
/// under RESOLVE_IN_ROOT anyway; an empty path must be `.`).
fn relative(path: &[u8]) -> &OsStr {
    let trimmed = path.strip_prefix(b"/").unwrap_or(path);
    if trimmed.is_empty() {
        OsStr::new(".")
    } else {
        OsStr::from_bytes(trimmed)
    }
}

fn libc_eperm() -> i32 {
    nix::errno::Errno::EPERM as i32
}

/// Whether a resolved path ends with the `/` that asks for a directory.
fn names_a_directory(path: &[u8]) -> bool {
    path.len() > 1 && path.ends_with(b"/")
}

/// `path` without the `/` that asks for a directory.
fn without_slash(path: &[u8]) -> &[u8] {
    if names_a_directory(path) {
        &path[..path.len() - 1]
    } else {
        path
    }
}

/// File types, as `st_mode & S_IFMT`.
mod libc_kind {
    pub(super) const DIR: u32 = 0o040_000;
    pub(super) const LINK: u32 = 0o120_000;
}

fn is_kind(st: &FileStat, kind: u32) -> bool {
    st.st_mode & 0o170_000 == kind
}

/// Splits `/a/b/c` (or `/a/b/c/`) into `/a/b` and `c`; `None` for `/`.
fn split_last(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let path = without_slash(path);
    let slash = path.iter().rposition(|&b| b == b'/')?;
    let name = &path[slash + 1..];
    if name.is_empty() || name == b"." || name == b".." {
        return None;
    }
    let dir = if slash == 0 {
        &b"/"[..]
    } else {
        &path[..slash]
    };
    Some((dir, name))
}

/// The absolute, clean path a client's argument names: `~` is the home, a relative path
/// is taken from `cwd`, `.` and empty components vanish, `..` climbs but never above `/`.
#[must_use]
pub fn normalize(cwd: &[u8], home: &[u8], arg: &[u8]) -> Vec<u8> {
    let joined: Vec<u8> = if arg == b"~" || arg.starts_with(b"~/") {
        [home, b"/", &arg[1..]].concat()
    } else if arg.starts_with(b"/") {
        arg.to_vec()
    } else {
        [cwd, b"/", arg].concat()
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in joined.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let mut out = Vec::with_capacity(joined.len() + 1);
    for part in &parts {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// rmdir(2)'s answer to a name whose last component is `.` (`EINVAL`) or `..`
/// (`ENOTEMPTY`): Pure-FTPd and OpenSSH's sftp-server hand the client's name to the kernel,
/// where cleaning it first would remove the directory it names.
pub fn dot_last(name: &[u8]) -> Option<io::Error> {
    let trimmed = name
        .iter()
        .rposition(|&b| b != b'/')
        .map_or(name, |end| &name[..=end]);
    let last = trimmed.rsplit(|&b| b == b'/').next().unwrap_or(trimmed);
    let errno = match last {
        b"." => nix::errno::Errno::EINVAL,
        b".." => nix::errno::Errno::ENOTEMPTY,
        _ => return None,
    };
    Some(io::Error::from_raw_os_error(errno as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_dot_is_refused_as_rmdir_refuses_it() {
        let errno = |name: &[u8]| dot_last(name).and_then(|e| e.raw_os_error());
        assert_eq!(errno(b"."), Some(nix::errno::Errno::EINVAL as i32));
        assert_eq!(errno(b"d/./"), Some(nix::errno::Errno::EINVAL as i32));
        assert_eq!(errno(b"d/.."), Some(nix::errno::Errno::ENOTEMPTY as i32));
        assert_eq!(errno(b"../"), Some(nix::errno::Errno::ENOTEMPTY as i32));
        assert_eq!(errno(b"d"), None);
        assert_eq!(errno(b"d/.x"), None);
        assert_eq!(errno(b"/"), None);
    }

    #[test]
    fn normalize_never_climbs_above_the_root() {
        let cases: [(&[u8], &[u8]); 10] = [
            (b"a", b"/cwd/a"),
            (b"/a/./b//c/", b"/a/b/c"),
            (b"..", b"/"),
            (b"../../../etc/passwd", b"/etc/passwd"),
            (b"/..", b"/"),
            (b"~", b"/home"),
            (b"~/x/..", b"/home"),
            (b"~other", b"/cwd/~other"),
            (b"", b"/cwd"),
            (b"a/../../b", b"/b"),
        ];
        for (arg, expected) in cases {
            assert_eq!(
                normalize(b"/cwd", b"/home", arg),
                expected,
                "{:?}",
                String::from_utf8_lossy(arg)
            );
        }
    }

    #[test]
    fn split_last_refuses_the_root() {
        assert_eq!(split_last(b"/a/b"), Some((&b"/a"[..], &b"b"[..])));
        assert_eq!(split_last(b"/a"), Some((&b"/"[..], &b"a"[..])));
        assert_eq!(split_last(b"/"), None);
    }
}
