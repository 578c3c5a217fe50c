//! RETR, STOR, APPE, STOU, REST and ALLO: the checks and the file they open, as a
//! [`Job`] for the transfer (`mod.rs`); no byte moves here.

use std::fs::File;
use std::io::{self, ErrorKind};

use nix::fcntl::OFlag;
use pureftpd_proto::Reply;
use pureftpd_proto::command::Restart;

use super::super::{Outcome, Session};
use super::Job;
use crate::log::Level;
use crate::messages as msg;
use crate::session::LoggedIn;

impl Session<'_> {
    pub(crate) fn rest(&mut self, restart: Restart) -> Outcome {
        match restart {
            Restart::At(offset) => {
                self.restart = offset;
                if offset > 0 {
                    self.log
                        .log(Level::Notice, &format!("Restarting at {offset}"));
                }
                Reply::new(350, msg::restarting(offset, !self.binary && offset > 0)).into()
            }
            Restart::NotNumeric => {
                self.restart = 0;
                Reply::new(554, msg::REST_NOT_NUMERIC)
                    .line(msg::RESTART_RESET)
                    .into()
            }
            Restart::Missing => {
                self.restart = 0;
                Reply::new(501, msg::NO_RESTART_POINT).into()
            }
        }
    }

    pub(crate) fn allo(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        if arg.is_empty() {
            return Reply::new(501, msg::CANT_FIND_SIZE).into();
        }
        // Pure-FTPd's `strtoull` into an `off_t`: what does not fit (a minus sign, 2^63
        // and up) is a negative size, refused; what is not a number is 0.
        let Ok(wanted) = u64::try_from(pureftpd_proto::c_scan::strtoul(arg, 10) as i64) else {
            return Reply::new(501, msg::CANT_FIND_SIZE).into();
        };
        let free = nix::sys::statvfs::fstatvfs(logged.vfs.root_fd())
            .ok()
            .map_or(u64::MAX, |s| {
                s.blocks_available().saturating_mul(s.fragment_size())
            });
        if wanted > free {
            return Reply::new(552, msg::DISK_FULL).into();
        }
        Reply::new(200, msg::ALLO_OK).into()
    }

    pub(crate) fn retr(&mut self, logged: &mut LoggedIn, name: &[u8]) -> Outcome {
        if name.is_empty() {
            return Reply::new(501, msg::NO_FILE_NAME).into();
        }
        if logged.anonymous() && self.config.max_load.is_some_and(|max| self.load >= max) {
            return Self::multi_line(550, &msg::load_too_high(self.load)).into();
        }
        let binary = self.binary;
        let restart = std::mem::take(&mut self.restart);
        if !binary && restart > 1 {
            return Reply::new(503, msg::ASCII_RESUME).into();
        }
        if let Some(refusal) = self.check_dot_read(logged, name) {
            return refusal;
        }
        let (path, file, meta) = match Self::open_for_download(logged, name) {
            Ok(opened) => opened,
            Err(refusal) => return refusal,
        };
        let size = meta.len();
        if self.config.anti_warez && Self::is_anonymous_upload(logged, &meta) {
            return Reply::empty(550)
                .line(msg::WAREZ_1)
                .line(msg::WAREZ_2)
                .into();
        }
        if restart > size {
            return Reply::new(554, msg::restart_too_large(restart, size))
                .line(msg::RESTART_RESET)
                .into();
        }
        if let Some(refusal) =
            logged
                .policies
                .ratio_refusal(self.uploaded, self.downloaded, size, restart)
        {
            return refusal.into();
        }
        if restart == size && size > 0 {
            // The data connection is still made, as Pure-FTPd does, and nothing sent.
            return Outcome::Transfer(Box::new(Job::Listing {
                bytes: Vec::new(),
                done: Reply::new(226, msg::NOTHING_LEFT),
            }));
        }
        // Reading must not block on a FIFO or device that sneaked in.
        let _ = nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()));
        Outcome::Transfer(Box::new(Job::Download {
            file,
            name: name.to_vec(),
            path,
            offset: restart,
            size,
        }))
    }

    /// The file RETR names, opened, if it is a regular file.
    fn open_for_download(
        logged: &LoggedIn,
        name: &[u8],
    ) -> Result<(Vec<u8>, File, std::fs::Metadata), Outcome> {
        let path = logged.vfs.resolve(name);
        let file = logged
            .vfs
            .open_read(&path)
            .map_err(|e| Reply::new(550, msg::cant_open(name, crate::errno_text(&e))))?;
        let meta = file
            .metadata()
            .map_err(|_| Reply::new(550, msg::cant_open(name, "I/O error")))?;
        if !meta.is_file() {
            return Err(Reply::new(550, msg::ONLY_REGULAR).into());
        }
        Ok((path, file, meta))
    }

    pub(crate) fn stor(&mut self, logged: &mut LoggedIn, name: &[u8], append: bool) -> Outcome {
        if name.is_empty() {
            return Reply::new(501, msg::NO_FILE_NAME).into();
        }
        // Pure-FTPd's order: an ASCII resume (whose offset counts converted bytes, so
        // the file would be joined at the wrong place), an anonymous upload under -i,
        // a full disk, then the name.
        let restart = std::mem::take(&mut self.restart);
        if !self.binary && restart > 1 {
            return Reply::new(503, msg::ASCII_RESUME).into();
        }
        if logged.anonymous() && self.config.anonymous_cant_upload {
            return Reply::new(550, msg::ANON_NO_OVERWRITE).into();
        }
        if self.disk_too_full(logged) {
            return Reply::new(552, msg::DISK_FULL).into();
        }
        if let Some(refusal) = self.check_dot_write(logged, name, false) {
            return refusal;
        }
        let UploadTarget {
            path,
            existing,
            auto_rename,
        } = match self.upload_target(logged, name, append, restart) {
            Ok(target) => target,
            Err(refusal) => return refusal,
        };
        let replaces_whole = !append && restart == 0;
        let quota = match self.plan_upload(logged, name, &path, existing.as_ref(), replaces_whole) {
            Ok(quota) => quota,
            Err(refusal) => return refusal,
        };
        let temporary = quota.as_ref().and_then(|q| q.temporary.as_ref());
        let written = temporary.unwrap_or(&path);
        let opened = UploadOpening {
            replaces_whole,
            must_be_new: auto_rename || temporary.is_some(),
            append,
            restart,
        };
        let file = match opened.open(logged, written, 0o777 & !self.config.file_umask) {
            Ok(file) => file,
            Err(e) => return Reply::new(553, msg::cant_create(crate::errno_text(&e))).into(),
        };
        Outcome::Transfer(Box::new(Job::Upload {
            file,
            name: name.to_vec(),
            path,
            quota,
            unique: None,
            resumed_at: (!append && restart > 0).then_some(restart),
        }))
    }

    /// Where STOR/APPE writes, and what is there now: refused for an anonymous user who
    /// would overwrite, a directory, a resume past the end, or `-r` without a free name.
    fn upload_target(
        &self,
        logged: &LoggedIn,
        name: &[u8],
        append: bool,
        restart: u64,
    ) -> Result<UploadTarget, Outcome> {
        let path = logged.vfs.resolve(name);
        let found = logged.vfs.stat(&path);
        let existing = found.as_ref().ok().copied();
        let cant_upload = self.config.anonymous_cant_upload;
        if logged.anonymous() && (cant_upload || existing.is_some_and(|st| st.st_size > 0)) {
            return Err(Reply::new(550, msg::ANON_NO_OVERWRITE).into());
        }
        // -r: an upload never replaces what is there, a directory included; it takes
        // the first free `name.N`, as Pure-FTPd's.
        let auto_rename = self.config.auto_rename && !append && restart == 0 && existing.is_some();
        if existing.is_some_and(|st| st.st_mode & 0o170_000 == 0o040_000) && !auto_rename {
            return Err(Reply::new(553, msg::cant_create("Is a directory")).into());
        }
        // A resume starts inside the file or at its end, never past it: writing there
        // would make a sparse file of any apparent size (and, under a quota, a count
        // that no longer matches the tree). Pure-FTPd silently moves such a start back
        // to the end of the file; ours refuses it, with RETR's reply.
        let size = existing.map_or(0, |st| u64::try_from(st.st_size).unwrap_or(0));
        if !append && restart > size {
            if let Err(e) = &found {
                resume_path_failure(logged, &path, e)?;
            }
            return Err(Reply::new(554, msg::restart_too_large(restart, size))
                .line(msg::RESTART_RESET)
                .into());
        }
        if !auto_rename {
            return Ok(UploadTarget {
                path,
                existing,
                auto_rename,
            });
        }
        match free_name(logged, &path) {
            Some(free) => Ok(UploadTarget {
                path: free,
                existing: None,
                auto_rename,
            }),
            None => Err(Reply::new(553, msg::cant_create("File exists")).into()),
        }
    }

    /// `-k`: whether the file system holding the root is fuller than allowed.
    fn disk_too_full(&mut self, logged: &mut LoggedIn) -> bool {
        let Some(max) = self.config.max_disk_usage else {
            return false;
        };
        let Ok(stats) = nix::sys::statvfs::fstatvfs(logged.vfs.root_fd()) else {
            return false;
        };
        let total = stats.blocks();
        let free = stats.blocks_available();
        total > 0 && (total - free) * 100 > total * u64::from(max)
    }

    /// A reply whose text has several lines, all with the code.
    pub(crate) fn multi_line(code: u16, text: &str) -> Reply {
        let mut reply = Reply::empty(code);
        for line in text.lines() {
            reply.push(line);
        }
        reply
    }

    pub(crate) fn stou(&mut self, logged: &mut LoggedIn) -> Outcome {
        if logged.anonymous() && self.config.anonymous_cant_upload {
            return Reply::new(550, msg::ANON_NO_OVERWRITE).into();
        }
        let file_umask = self.config.file_umask;
        for _ in 0..100 {
            let unique = self.unique_name();
            let path = logged.vfs.resolve(unique.as_bytes());
            let quota = match self.plan_upload(logged, unique.as_bytes(), &path, None, true) {
                Ok(quota) => quota,
                Err(refusal) => return refusal,
            };
            match logged
                .vfs
                .open_write(&path, OFlag::O_CREAT | OFlag::O_EXCL, 0o777 & !file_umask)
            {
                Ok(file) => {
                    return Outcome::Transfer(Box::new(Job::Upload {
                        file,
                        name: unique.clone().into_bytes(),
                        path,
                        quota,
                        unique: Some(unique),
                        resumed_at: None,
                    }));
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Reply::new(553, msg::cant_create(crate::errno_text(&e))).into(),
            }
        }
        Reply::new(553, msg::cant_create("File exists")).into()
    }

    /// `pureftpd.<seconds hex>.<microseconds & 0xff hex>.<counter hex>`.
    fn unique_name(&mut self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        self.stou_counter = self.stou_counter.wrapping_add(1);
        format!(
            "pureftpd.{:08x}.{:02x}.{:04x}",
            now.as_secs() & 0xffff_ffff,
            now.subsec_micros() & 0xff,
            self.stou_counter.wrapping_sub(1)
        )
    }

    /// `-s`: whether a file belongs to the anonymous account (an anonymous upload that
    /// no administrator has taken over yet).
    fn is_anonymous_upload(logged: &LoggedIn, meta: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        logged.user.anonymous && meta.uid() == logged.user.uid
    }
}

/// Where an upload goes ([`Session::upload_target`]).
struct UploadTarget {
    path: Vec<u8>,
    existing: Option<nix::sys::stat::FileStat>,
    /// `-r` chose a new name: the file must not exist when it is created.
    auto_rename: bool,
}

/// A resume of a file that is not there fails as Pure-FTPd's does when the path itself
/// leads nowhere: its resume first moves the file aside (`553 Rename/move failure` for
/// any error but ENOENT), then creates it (`553 Can't open that file` when the
/// directory is missing). Only a missing file in a directory that exists goes on to the
/// `554` of a start past the end.
fn resume_path_failure(logged: &LoggedIn, path: &[u8], error: &io::Error) -> Result<(), Outcome> {
    if error.kind() != ErrorKind::NotFound {
        return Err(Reply::new(553, msg::rename_failed(crate::errno_text(error))).into());
    }
    match logged.vfs.parent(path) {
        Ok(_) => Ok(()),
        Err(e) => Err(Reply::new(553, msg::cant_create(crate::errno_text(&e))).into()),
    }
}

/// `-r`: the first `path.N` (N up to 9999) that does not exist.
fn free_name(logged: &LoggedIn, path: &[u8]) -> Option<Vec<u8>> {
    (1..=9999)
        .map(|n| [path, format!(".{n}").as_bytes()].concat())
        .find(|candidate| logged.vfs.lstat(candidate).is_err())
}

/// How STOR and APPE open the file they write.
struct UploadOpening {
    /// STOR from the start: the old contents go.
    replaces_whole: bool,
    /// The name must not exist yet: a free `name.N` (`-r`), or a quota's temporary file.
    must_be_new: bool,
    append: bool,
    restart: u64,
}

impl UploadOpening {
    /// Opens `path` and puts the position where the upload starts. A resume keeps what
    /// was after the restart point until the upload ends (see `run_transfer`), so that
    /// a refused one leaves the file as it was.
    fn open(&self, logged: &LoggedIn, path: &[u8], mode: u32) -> io::Result<File> {
        let mut flags = OFlag::O_CREAT;
        if self.replaces_whole {
            flags |= OFlag::O_TRUNC;
        }
        if self.must_be_new {
            flags |= OFlag::O_EXCL;
        }
        let mut file = logged.vfs.open_write(path, flags, mode)?;
        if self.append {
            file.seek_end()?;
        } else if self.restart > 0 {
            file.seek_to(self.restart)?;
        }
        Ok(file)
    }
}

trait Seek2 {
    fn seek_end(&mut self) -> io::Result<()>;
    fn seek_to(&mut self, offset: u64) -> io::Result<()>;
}

impl Seek2 for File {
    fn seek_end(&mut self) -> io::Result<()> {
        io::Seek::seek(self, io::SeekFrom::End(0)).map(drop)
    }

    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        io::Seek::seek(self, io::SeekFrom::Start(offset)).map(drop)
    }
}
