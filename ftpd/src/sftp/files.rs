//! The SFTP requests (protocol version 3, as OpenSSH's `internal-sftp` speaks it), on the
//! same file-system view as an FTP session: every path is cleaned and resolved by the
//! kernel inside the session's root (`vfs`: `openat2(RESOLVE_IN_ROOT)`, names acted on
//! with the `*at` calls and `O_NOFOLLOW`), so `..` and symbolic links never lead out.
//!
//! As OpenSSH's server: `RENAME` never replaces an existing file (`SSH_FX_FAILURE`),
//! `REMOVE` does not remove directories, listings include `.` and `..` with `ls -l` long
//! names, and `SETSTAT` cannot give a file away (changing its owner is refused). As
//! pure-ftpd: symbolic links cannot be made, created files and directories get the `-U`
//! umasks and never setuid, setgid or sticky bits, and `SETSTAT` leaves the owner
//! `u+rwx` on the root and, under a quota, `u+rx` on directories (`owner_bits.rs`).
//! Bounds: at most [`MAX_HANDLES`] open handles, reads of at most [`MAX_READ`] bytes,
//! directory entries read and sent [`READDIR_BATCH`] at a time (a handle holds the open
//! directory, never its names: as OpenSSH's server reads).
//!
//! Names travel as UTF-8 strings in russh-sftp; a name on disk that is not UTF-8 is
//! listed with replacement characters, and a path with one is refused rather than
//! taken for another name (OpenSSH's server passes bytes).

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use nix::fcntl::AtFlags;
use nix::fcntl::OFlag;
use russh_sftp::protocol::{
    Attrs, Data, File as Entry, FileAttributes, Handle, Name, OpenFlags, Status, StatusCode,
    Version,
};
use russh_sftp::server::StatusReply;

use super::attrs::{attributes, failed, long_name, ok, refused, same_owner};
use super::quota::{self, Upload};
use super::report::Reporter;
use super::rules::Rules;
use super::throttle::Throttle;
use crate::config::Config;
use crate::quota::Quota;
use crate::vfs::{DirEntries, Vfs};

/// Open files and directories a session may hold at once.
pub const MAX_HANDLES: usize = 256;
/// Longest read answered (OpenSSH's clients ask 32 to 255 KiB).
pub const MAX_READ: u32 = 255 * 1024;
/// Directory entries per `READDIR` answer.
pub const READDIR_BATCH: usize = 128;

/// One session's open handles and settings.
pub(crate) struct Files {
    vfs: Vfs,
    /// The session's logs.
    reporter: Reporter,
    /// `-x`, `-X`, `-K`, `-G`, `-R`.
    rules: Rules,
    /// The account's quota, if one applies.
    quota: Option<Quota>,
    /// Bandwidth limits and ratio.
    throttle: Throttle,
    handles: HashMap<String, Open>,
    next_handle: u64,
    file_umask: u32,
    dir_umask: u32,
}

enum Open {
    File(OpenFile),
    /// Read a batch per `READDIR`, as OpenSSH's server reads: what a handle holds stays
    /// one batch however large the directory (it read every name at the open, and 256
    /// handles on a directory of a million names held gigabytes).
    Dir(DirEntries),
}

/// An open file, and what it has moved (for the logs at its close).
struct OpenFile {
    file: File,
    append: bool,
    /// What the quota settles at the close (a file opened to write, under a quota).
    upload: Option<Upload>,
    /// Inside the session's root.
    path: Vec<u8>,
    read: u64,
    written: u64,
    opened: Instant,
    /// The size when opened (for the scoreboard).
    size: u64,
}

type Reply<T> = Result<T, StatusReply>;

impl Files {
    pub(crate) fn new(
        vfs: Vfs,
        quota: Option<Quota>,
        throttle: Throttle,
        reporter: Reporter,
        config: &Config,
        uid: u32,
    ) -> Self {
        Self {
            vfs,
            reporter,
            rules: Rules::new(config, uid),
            quota,
            throttle,
            handles: HashMap::new(),
            next_handle: 0,
            file_umask: config.file_umask,
            dir_umask: config.dir_umask,
        }
    }

    /// The client's path, cleaned inside the root. A path with U+FFFD is refused:
    /// russh-sftp turns bytes that are not UTF-8 into it, so the name the client sent
    /// is not the one that came here, and acting on it could touch another file (two
    /// Latin-1 names would become one).
    fn path(&self, client: &str) -> Reply<Vec<u8>> {
        if client.contains(char::REPLACEMENT_CHARACTER) {
            return Err(refused(
                StatusCode::Failure,
                "pure-sftpd takes UTF-8 file names only",
            ));
        }
        Ok(self.vfs.resolve(client.as_bytes()))
    }

    fn add(&mut self, open: Open) -> Reply<String> {
        if self.handles.len() >= MAX_HANDLES {
            return Err(refused(
                StatusCode::Failure,
                "Too many open files and directories",
            ));
        }
        self.next_handle += 1;
        let handle = self.next_handle.to_string();
        self.handles.insert(handle.clone(), open);
        Ok(handle)
    }

    fn file(&self, handle: &str) -> Reply<(&File, bool)> {
        match self.handles.get(handle) {
            Some(Open::File(open)) => Ok((&open.file, open.append)),
            _ => Err(refused(StatusCode::Failure, "Invalid handle")),
        }
    }

    /// Opens as OpenSSH's server does: the access mode from READ and WRITE, then
    /// creation, truncation, exclusivity and appending as asked (so CREATE|EXCL alone is
    /// a read-only open that still fails on an existing file). An open that may create
    /// or change a file never follows a symbolic link at its name.
    fn open_file(
        &self,
        path: &[u8],
        flags: OpenFlags,
        attrs: &FileAttributes,
    ) -> Reply<(File, bool)> {
        let append = flags.contains(OpenFlags::APPEND);
        let changes = OpenFlags::WRITE
            | OpenFlags::APPEND
            | OpenFlags::CREATE
            | OpenFlags::TRUNCATE
            | OpenFlags::EXCLUDE;
        if !flags.intersects(changes) {
            let file = self.vfs.open_read(path).map_err(|e| failed(&e))?;
            return Ok((file, false));
        }
        let mut how = match (
            flags.contains(OpenFlags::READ),
            flags.contains(OpenFlags::WRITE),
        ) {
            (true, true) => OFlag::O_RDWR,
            (false, true) => OFlag::O_WRONLY,
            _ => OFlag::O_RDONLY,
        };
        if flags.contains(OpenFlags::CREATE) {
            how |= OFlag::O_CREAT;
        }
        if flags.contains(OpenFlags::TRUNCATE) {
            how |= OFlag::O_TRUNC;
        }
        if flags.contains(OpenFlags::EXCLUDE) {
            how |= OFlag::O_EXCL;
        }
        if append {
            how |= OFlag::O_APPEND;
        }
        let mode = attrs.permissions.unwrap_or(0o666) & 0o666 & !self.file_umask;
        let file = self
            .vfs
            .open_name(path, how, mode)
            .map_err(|e| failed(&e))?;
        Ok((file, append))
    }

    fn set_attributes(&self, path: &[u8], attrs: &FileAttributes) -> Reply<()> {
        if attrs.permissions.is_some() {
            self.rules.chmod(path)?;
        } else {
            self.rules.write(path)?;
        }
        if attrs.uid.is_some() || attrs.gid.is_some() {
            let st = self.vfs.stat(path).map_err(|e| failed(&e))?;
            same_owner(attrs, &st)?;
        }
        if let Some(size) = attrs.size {
            quota::check_name(self.quota.as_ref(), path)?;
            let file = self
                .vfs
                .open_write(path, OFlag::empty(), 0)
                .map_err(|e| failed(&e))?;
            let before = file.metadata().map_or(0, |m| m.len());
            if let Some(quota) = &self.quota {
                let room = quota.usage().unwrap_or_default().room(quota.limits);
                if room.is_some_and(|room| size > before.saturating_add(room)) {
                    return Err(quota::exceeded());
                }
            }
            file.set_len(size).map_err(|e| failed(&e))?;
            let grown =
                i64::try_from(size).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX);
            self.give_back(0, -grown);
        }
        if let Some(permissions) = attrs.permissions {
            // The owner keeps the root and, under a quota, every directory (as pure-ftpd's
            // SITE CHMOD): a directory the count cannot enter would hide files from it.
            let target = self.vfs.stat(path).map_err(|e| failed(&e))?;
            let keep = crate::owner_bits::Keep {
                under_quota: self.quota.is_some(),
                customer_proof: false,
            };
            self.vfs
                .chmod(path, (permissions & 0o777) | keep.bits(&self.vfs, &target))
                .map_err(|e| failed(&e))?;
        }
        if let (Some(atime), Some(mtime)) = (attrs.atime, attrs.mtime) {
            self.vfs
                .set_times(path, i64::from(atime), i64::from(mtime))
                .map_err(|e| failed(&e))?;
        }
        Ok(())
    }
}

impl Files {
    /// A handle closes: an upload under a quota is counted or undone, and what the
    /// file moved is recorded.
    fn settle(&self, open: Open) -> Reply<()> {
        let Open::File(open) = open else {
            return Ok(());
        };
        if let (Some(upload), Some(quota)) = (open.upload, &self.quota) {
            upload.settle(quota, &self.vfs, &open.file)?;
        }
        let elapsed = open.opened.elapsed();
        let real = self.reporter.real_path(&open.path);
        let recorder = self.reporter.recorder();
        if open.written > 0 {
            recorder.record(&real, true, open.written, elapsed);
        } else if open.read > 0 {
            recorder.record(&real, false, open.read, elapsed);
        }
        Ok(())
    }

    /// After a deletion: the room it gave back.
    fn give_back(&self, files: i64, bytes: i64) {
        if let Some(quota) = &self.quota {
            let _ = quota.adjust(&self.vfs, -files, -bytes);
        }
    }
}

/// The session ends with handles open (the client left without closing them): their
/// uploads are settled as if closed.
impl Drop for Files {
    fn drop(&mut self) {
        let open: Vec<Open> = self.handles.drain().map(|(_, open)| open).collect();
        for open in open {
            let _ = self.settle(open);
        }
        self.reporter.log.log(crate::log::Level::Info, "Logout.");
    }
}

impl russh_sftp::server::Handler for Files {
    type Error = StatusReply;

    fn unimplemented(&self) -> Self::Error {
        refused(StatusCode::OpUnsupported, "Operation not supported")
    }

    async fn init(
        &mut self,
        _version: u32,
        _extensions: HashMap<String, String>,
    ) -> Reply<Version> {
        Ok(Version::new())
    }

    async fn realpath(&mut self, id: u32, path: String) -> Reply<Name> {
        let mut resolved = self.path(&path)?;
        // `dir/` is the same place; its canonical name has no `/` at the end.
        if resolved.len() > 1 && resolved.ends_with(b"/") {
            resolved.pop();
        }
        let resolved = String::from_utf8_lossy(&resolved).into_owned();
        Ok(Name {
            id,
            files: vec![Entry::dummy(resolved)],
        })
    }

    async fn stat(&mut self, id: u32, path: String) -> Reply<Attrs> {
        let path = self.path(&path)?;
        self.rules.read(&path)?;
        let st = self.vfs.stat(&path).map_err(|e| failed(&e))?;
        Ok(Attrs {
            id,
            attrs: attributes(&st),
        })
    }

    async fn lstat(&mut self, id: u32, path: String) -> Reply<Attrs> {
        let path = self.path(&path)?;
        self.rules.read(&path)?;
        // The root has no parent to lstat in; it is no link.
        let st = if path == b"/" {
            self.vfs.stat(&path)
        } else {
            self.vfs.lstat(&path)
        }
        .map_err(|e| failed(&e))?;
        Ok(Attrs {
            id,
            attrs: attributes(&st),
        })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Reply<Attrs> {
        let st = match self.handles.get(&handle) {
            Some(Open::File(open)) => nix::sys::stat::fstat(&open.file),
            Some(Open::Dir(entries)) => nix::sys::stat::fstat(entries.fd()),
            None => return Err(refused(StatusCode::Failure, "Invalid handle")),
        }
        .map_err(|e| failed(&io::Error::from(e)))?;
        Ok(Attrs {
            id,
            attrs: attributes(&st),
        })
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        attrs: FileAttributes,
    ) -> Reply<Handle> {
        let path = self.path(&filename)?;
        let writes = pflags.intersects(
            OpenFlags::WRITE | OpenFlags::APPEND | OpenFlags::CREATE | OpenFlags::TRUNCATE,
        );
        let upload = if writes {
            self.rules.write(&path)?;
            quota::plan(self.quota.as_ref(), &self.vfs, &path)?
        } else {
            self.rules.read(&path)?;
            quota::check_name(self.quota.as_ref(), &path)?;
            None
        };
        let (file, append) = self.open_file(&path, pflags, &attrs)?;
        let st = nix::sys::stat::fstat(&file).map_err(|e| failed(&io::Error::from(e)))?;
        if st.st_mode & 0o170_000 != 0o100_000 {
            return Err(refused(StatusCode::Failure, "Not a regular file"));
        }
        if !writes {
            self.throttle
                .may_download(u64::try_from(st.st_size).unwrap_or(0))?;
        }
        let handle = self.add(Open::File(OpenFile {
            file,
            append,
            upload,
            path,
            read: 0,
            written: 0,
            opened: Instant::now(),
            size: u64::try_from(st.st_size).unwrap_or(0),
        }))?;
        Ok(Handle { id, handle })
    }

    async fn read(&mut self, id: u32, handle: String, offset: u64, len: u32) -> Reply<Data> {
        let wanted = self.throttle.read_size(len.min(MAX_READ) as usize);
        let Some(Open::File(open)) = self.handles.get_mut(&handle) else {
            return Err(refused(StatusCode::Failure, "Invalid handle"));
        };
        let mut data = vec![0u8; wanted];
        let n = open
            .file
            .read_at(&mut data, offset)
            .map_err(|e| failed(&e))?;
        if n == 0 && !data.is_empty() {
            return Err(StatusCode::Eof.into());
        }
        data.truncate(n);
        open.read += n as u64;
        let (size, position) = (open.size, offset.saturating_add(n as u64));
        self.reporter
            .progress(&handle, &open.path, false, size, position);
        self.throttle.downloaded(n as u64).await;
        Ok(Data { id, data })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Reply<Status> {
        let Some(Open::File(open)) = self.handles.get_mut(&handle) else {
            return Err(refused(StatusCode::Failure, "Invalid handle"));
        };
        if let Some(upload) = &mut open.upload {
            let start = if open.append {
                open.file.metadata().map_or(0, |m| m.len())
            } else {
                offset
            };
            upload.allow(start.saturating_add(data.len() as u64))?;
        }
        let written = if open.append {
            use std::io::Write;
            (&open.file).write_all(&data)
        } else {
            open.file.write_all_at(&data, offset)
        };
        written.map_err(|e| failed(&e))?;
        open.written += data.len() as u64;
        let position = if open.append {
            open.file.metadata().map_or(0, |m| m.len())
        } else {
            offset.saturating_add(data.len() as u64)
        };
        self.reporter
            .progress(&handle, &open.path, true, 0, position);
        self.throttle.uploaded(data.len() as u64).await;
        Ok(ok(id))
    }

    async fn close(&mut self, id: u32, handle: String) -> Reply<Status> {
        match self.handles.remove(&handle) {
            Some(open) => {
                self.reporter.closed(&handle);
                self.settle(open)?;
                Ok(ok(id))
            }
            None => Err(refused(StatusCode::Failure, "Invalid handle")),
        }
    }

    async fn opendir(&mut self, id: u32, path: String) -> Reply<Handle> {
        let path = self.path(&path)?;
        self.rules.read(&path)?;
        let entries = self.vfs.dir_entries(&path).map_err(|e| failed(&e))?;
        let handle = self.add(Open::Dir(entries))?;
        Ok(Handle { id, handle })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Reply<Name> {
        // Read per batch: a listing's long names show the time as ls would now.
        let now = jiff::Timestamp::now().as_second();
        let Some(Open::Dir(entries)) = self.handles.get_mut(&handle) else {
            return Err(refused(StatusCode::Failure, "Invalid handle"));
        };
        let mut files = Vec::new();
        // A batch whose every name is gone (removed meanwhile) is not the end.
        while files.is_empty() {
            let names = entries.next_names(READDIR_BATCH);
            if names.is_empty() {
                break;
            }
            for name in names {
                // Gone since the directory was read: left out, as ls does.
                let Ok(st) = nix::sys::stat::fstatat(
                    entries.fd(),
                    name.as_slice(),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                ) else {
                    continue;
                };
                let shown = String::from_utf8_lossy(&name).into_owned();
                let mut entry = Entry::new(shown.clone(), attributes(&st));
                entry.longname = long_name(&shown, &st, now);
                files.push(entry);
            }
        }
        if files.is_empty() {
            return Err(StatusCode::Eof.into());
        }
        Ok(Name { id, files })
    }

    async fn remove(&mut self, id: u32, filename: String) -> Reply<Status> {
        let path = self.path(&filename)?;
        // The root is a directory like any other here: unlink(2) says EISDIR, which
        // OpenSSH's sftp-server answers with a plain failure (the FTP side refuses it
        // as Pure-FTPd does, with EPERM).
        if path == b"/" {
            return Err(failed(&io::Error::from_raw_os_error(
                nix::errno::Errno::EISDIR as i32,
            )));
        }
        self.rules.delete(&path)?;
        quota::check_name(self.quota.as_ref(), &path)?;
        let size = self
            .vfs
            .lstat(&path)
            .ok()
            .filter(|st| st.st_mode & 0o170_000 == 0o100_000)
            .map_or(0, |st| st.st_size);
        self.vfs.unlink(&path).map_err(|e| failed(&e))?;
        self.give_back(1, size);
        Ok(ok(id))
    }

    async fn mkdir(&mut self, id: u32, path: String, attrs: FileAttributes) -> Reply<Status> {
        let path = self.path(&path)?;
        self.rules.write(&path)?;
        quota::check_name(self.quota.as_ref(), &path)?;
        if let Some(quota) = &self.quota
            && quota.usage().unwrap_or_default().files_full(quota.limits)
        {
            return Err(quota::exceeded());
        }
        let mode = attrs.permissions.unwrap_or(0o777) & 0o777 & !self.dir_umask;
        self.vfs.mkdir(&path, mode).map_err(|e| failed(&e))?;
        self.give_back(-1, 0);
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, client: String) -> Reply<Status> {
        let path = self.path(&client)?;
        self.rules.write(&path)?;
        if let Some(refusal) = crate::vfs::dot_last(client.as_bytes()) {
            return Err(failed(&refusal));
        }
        self.vfs.rmdir(&path).map_err(|e| failed(&e))?;
        self.give_back(1, 0);
        Ok(ok(id))
    }

    async fn rename(&mut self, id: u32, oldpath: String, newpath: String) -> Reply<Status> {
        let (from, to) = (self.path(&oldpath)?, self.path(&newpath)?);
        self.rules.rename(&from, &to)?;
        quota::check_name(self.quota.as_ref(), &from)?;
        quota::check_name(self.quota.as_ref(), &to)?;
        // Never over an existing name: the counters stay as they are.
        self.vfs
            .rename_no_replace(&from, &to)
            .map_err(|e| failed(&e))?;
        Ok(ok(id))
    }

    async fn setstat(&mut self, id: u32, path: String, attrs: FileAttributes) -> Reply<Status> {
        self.set_attributes(&self.path(&path)?, &attrs)?;
        Ok(ok(id))
    }

    async fn fsetstat(&mut self, id: u32, handle: String, attrs: FileAttributes) -> Reply<Status> {
        // An upload's new size is checked now and counted at the close.
        if let (Some(size), Some(Open::File(open))) = (attrs.size, self.handles.get_mut(&handle))
            && let Some(upload) = &mut open.upload
        {
            upload.allow(size)?;
        }
        if let (Some(_), Some(Open::File(open))) = (attrs.permissions, self.handles.get(&handle)) {
            self.rules.chmod(&open.path)?;
        }
        let (file, _) = self.file(&handle)?;
        if attrs.uid.is_some() || attrs.gid.is_some() {
            let st = nix::sys::stat::fstat(file).map_err(|e| failed(&io::Error::from(e)))?;
            same_owner(&attrs, &st)?;
        }
        if let Some(size) = attrs.size {
            file.set_len(size).map_err(|e| failed(&e))?;
        }
        if let Some(permissions) = attrs.permissions {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(permissions & 0o777))
                .map_err(|e| failed(&e))?;
        }
        if let (Some(atime), Some(mtime)) = (attrs.atime, attrs.mtime) {
            let (a, m) = (
                nix::sys::time::TimeSpec::new(i64::from(atime), 0),
                nix::sys::time::TimeSpec::new(i64::from(mtime), 0),
            );
            nix::sys::stat::futimens(file, &a, &m).map_err(|e| failed(&io::Error::from(e)))?;
        }
        Ok(ok(id))
    }

    async fn readlink(&mut self, id: u32, path: String) -> Reply<Name> {
        let path = self.path(&path)?;
        self.rules.read(&path)?;
        let target = self.vfs.readlink(&path).map_err(|e| failed(&e))?;
        Ok(Name {
            id,
            files: vec![Entry::dummy(String::from_utf8_lossy(&target).into_owned())],
        })
    }

    async fn symlink(&mut self, _id: u32, _linkpath: String, _targetpath: String) -> Reply<Status> {
        Err(refused(
            StatusCode::PermissionDenied,
            "Symbolic links cannot be made on this server",
        ))
    }
}
