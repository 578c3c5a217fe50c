//! Directories and names: CWD, PWD, MKD, RMD, DELE, RNFR, RNTO, SIZE, MDTM, MFMT,
//! SITE CHMOD and SITE UTIME, and the dot-file rules every path goes through.

use std::time::Duration;

use pureftpd_proto::Reply;

use super::LoggedIn;
use super::{Outcome, Session};
use crate::log::Level;
use crate::messages as msg;

/// Consecutive failed CWDs after which the session is closed.
const MAX_CWD_FAILURES: u32 = 50;

/// Whether a cleaned path has a component starting with a dot.
fn has_dot_component(path: &[u8]) -> bool {
    path.split(|&b| b == b'/')
        .any(|part| part.starts_with(b".") && part != b"." && part != b"..")
}

/// Pure-FTPd's `checknamesanity`: a name a client gives for a file or directory may
/// not hold a control character or a backslash (`.` and `..` alone are fine).
fn insane_name(name: &[u8]) -> bool {
    name.iter().any(|&b| b < 0x20 || b == 0x7f || b == b'\\')
}

/// A regular file's mode bits.
fn is_regular(mode: u32) -> bool {
    mode & 0o170_000 == 0o100_000
}

impl Session<'_> {
    /// Reading a dot file: allowed for users unless `-X`, for anonymous only with `-z`.
    pub(super) fn check_dot_read(&mut self, logged: &mut LoggedIn, name: &[u8]) -> Option<Outcome> {
        let anonymous = logged.anonymous();
        let allowed = if anonymous {
            self.config.allow_dot_files
        } else {
            !self.config.prohibit_dot_read
        };
        let path = logged.vfs.resolve(name);
        let reserved = logged.quota.is_some() && crate::quota::is_reserved(&path);
        ((!allowed && has_dot_component(&path)) || reserved || insane_name(name))
            .then(|| Reply::new(553, [&b"Prohibited file name: "[..], name].concat()).into())
    }

    /// Creating or changing a dot name: allowed for users unless `-x`/`-X`, never for
    /// anonymous users.
    pub(super) fn check_dot_write(
        &mut self,
        logged: &mut LoggedIn,
        name: &[u8],
        directory: bool,
    ) -> Option<Outcome> {
        let anonymous = logged.anonymous();
        let allowed =
            !anonymous && !self.config.prohibit_dot_write && !self.config.prohibit_dot_read;
        let path = logged.vfs.resolve(name);
        let reserved = logged.quota.is_some() && crate::quota::is_reserved(&path);
        ((!allowed && has_dot_component(&path)) || reserved || insane_name(name)).then(|| {
            let text = if directory {
                b"Prohibited directory name".to_vec()
            } else {
                [&b"Prohibited file name: "[..], name].concat()
            };
            Reply::new(553, text).into()
        })
    }

    pub(super) fn pwd(&mut self, logged: &mut LoggedIn) -> Outcome {
        Reply::new(257, msg::current_location(logged.vfs.cwd())).into()
    }

    pub(super) fn cwd(&mut self, logged: &mut LoggedIn, dir: &[u8]) -> Outcome {
        let dir: &[u8] = if dir.is_empty() { b"~" } else { dir };
        if let Some(refusal) = self.check_dot_read(logged, dir) {
            return refusal;
        }
        let alias = self.alias_target(dir);
        // An alias counts only where no directory of that name exists.
        let changed = match logged.vfs.chdir(dir).map(<[u8]>::to_vec) {
            Err(e) => match &alias {
                Some(target) => logged.vfs.chdir(target).map(<[u8]>::to_vec),
                None => Err(e),
            },
            done => done,
        };
        match changed {
            Ok(now) => {
                let mut reply = Reply::empty(250);
                for line in super::magic::file_lines(&logged.vfs, &now, ".message") {
                    reply.push(line);
                }
                reply.push(msg::cwd_ok(&now));
                self.cwd_failures = 0;
                reply.into()
            }
            Err(e) => {
                self.cwd_failures += 1;
                std::thread::sleep(Duration::from_millis(100 * u64::from(self.cwd_failures)));
                let reply = Reply::new(550, msg::cwd_failed(dir, crate::errno_text(&e)));
                if self.cwd_failures >= MAX_CWD_FAILURES {
                    return Outcome::Close(reply);
                }
                reply.into()
            }
        }
    }

    pub(super) fn mkd(&mut self, logged: &mut LoggedIn, name: &[u8]) -> Outcome {
        if name.is_empty() {
            return Reply::new(501, msg::NO_DIRECTORY_NAME).into();
        }
        if logged.anonymous() && !self.config.anonymous_can_mkdir {
            return Reply::new(550, msg::ANON_NO_MKD).into();
        }
        if let Some(refusal) = self.check_dot_write(logged, name, true) {
            return refusal;
        }
        if let Some(refusal) = self.quota_refuses_mkd(logged, name) {
            return refusal;
        }
        let mode = 0o777 & !self.config.dir_umask;
        let path = logged.vfs.resolve(name);
        match logged.vfs.mkdir(&path, mode) {
            Ok(()) => {
                let mut reply = Reply::new(257, msg::mkd_ok(name));
                for line in logged.count(1, 0) {
                    reply.push(line);
                }
                reply.into()
            }
            Err(e) => {
                // Pure-FTPd shows the counters after a failed MKD too (it counted the
                // directory before trying, then took it back).
                let mut reply = Reply::new(550, msg::mkd_failed(crate::errno_text(&e)));
                for line in logged.quota_lines() {
                    reply.push(line);
                }
                reply.into()
            }
        }
    }

    pub(super) fn rmd(&mut self, logged: &mut LoggedIn, name: &[u8]) -> Outcome {
        if name.is_empty() {
            return Reply::new(550, msg::NO_DIRECTORY_NAME).into();
        }
        if logged.anonymous() {
            return Reply::new(550, msg::ANON_NO_RMD).into();
        }
        if let Some(refusal) = self.check_dot_write(logged, name, true) {
            return refusal;
        }
        let path = logged.vfs.resolve(name);
        match crate::vfs::dot_last(name).map_or_else(|| logged.vfs.rmdir(&path), Err) {
            Ok(()) => {
                let mut reply = Reply::empty(250);
                for line in logged.count(-1, 0) {
                    reply.push(line);
                }
                reply.push(msg::RMD_OK);
                reply.into()
            }
            Err(e) => Reply::new(550, msg::rmd_failed(crate::errno_text(&e))).into(),
        }
    }

    pub(super) fn dele(&mut self, logged: &mut LoggedIn, name: &[u8]) -> Outcome {
        if name.is_empty() {
            return Reply::new(501, msg::NO_FILE_NAME).into();
        }
        if logged.anonymous() {
            return Reply::new(550, msg::ANON_NO_DELETE).into();
        }
        if self.config.keep_all_files {
            return Reply::new(550, msg::delete_failed(name, "Operation not permitted")).into();
        }
        if let Some(refusal) = self.check_dot_write(logged, name, false) {
            return refusal;
        }
        let path = logged.vfs.resolve(name);
        let size = logged
            .vfs
            .lstat(&path)
            .ok()
            .filter(|st| is_regular(st.st_mode))
            .map_or(0, |st| st.st_size);
        match logged.vfs.unlink(&path) {
            Ok(()) => {
                let real = logged.logged_path(&path);
                let mut reply = Reply::empty(250);
                for line in logged.count(-1, -size) {
                    reply.push(line);
                }
                reply.push(msg::deleted(name));
                self.log.log(
                    Level::Notice,
                    &format!("Deleted {}", String::from_utf8_lossy(&real)),
                );
                reply.into()
            }
            Err(e) => {
                // Pure-FTPd reports a directory as an invalid argument (the root, which
                // has no parent to delete it from, included).
                let text =
                    if e.raw_os_error() == Some(nix::errno::Errno::EISDIR as i32) || path == b"/" {
                        "Invalid argument".to_string()
                    } else {
                        crate::errno_text(&e)
                    };
                Reply::new(550, msg::delete_failed(name, text)).into()
            }
        }
    }

    pub(super) fn rnfr(&mut self, logged: &mut LoggedIn, name: &[u8]) -> Outcome {
        if name.is_empty() {
            return Reply::new(550, msg::NO_FILE_NAME).into();
        }
        if self.config.no_rename {
            return Reply::new(550, msg::RENAME_FAILURE).into();
        }
        if logged.anonymous() {
            return Reply::new(550, msg::ANON_NO_RENAME).into();
        }
        if let Some(refusal) = self.check_dot_write(logged, name, false) {
            return refusal;
        }
        let path = logged.vfs.resolve(name);
        // A name that is not there leaves a pending RNFR pending, as in Pure-FTPd.
        if logged.vfs.lstat(&path).is_err() {
            return Reply::new(550, msg::RNFR_MISSING).into();
        }
        let mut reply = Reply::empty(350);
        if self.rename_from.replace(path).is_some() {
            reply.push(msg::RNFR_AGAIN);
        }
        reply.push(msg::RNFR_OK);
        reply.into()
    }

    pub(super) fn rnto(&mut self, logged: &mut LoggedIn, name: &[u8]) -> Outcome {
        if name.is_empty() {
            return Reply::new(550, msg::NO_FILE_NAME).into();
        }
        // Pure-FTPd's order: an anonymous session is refused before a missing RNFR is
        // named, and a refused target name keeps the RNFR for another RNTO.
        if logged.anonymous() {
            self.rename_from = None;
            return Reply::new(550, msg::ANON_NO_RENAME).into();
        }
        let Some(from) = self.rename_from.take() else {
            return Reply::new(503, msg::RNTO_NEEDS_RNFR).into();
        };
        if let Some(refusal) = self.check_dot_write(logged, name, false) {
            self.rename_from = Some(from);
            return refusal;
        }
        let to = logged.vfs.resolve(name);
        // Under a quota Pure-FTPd looks at both names first, and a target it cannot
        // look at ends there, without the system's reason.
        if logged.quota.is_some() {
            let target_unreachable = logged
                .vfs
                .lstat(&to)
                .is_err_and(|e| e.kind() != std::io::ErrorKind::NotFound);
            if logged.vfs.lstat(&from).is_err() || target_unreachable {
                return Reply::new(550, msg::RENAME_FAILURE).into();
            }
        }
        // A file replaced by the rename leaves the counters.
        let replaced = (from != to)
            .then(|| logged.vfs.lstat(&to).ok())
            .flatten()
            .map(|st| {
                if is_regular(st.st_mode) {
                    st.st_size
                } else {
                    0
                }
            });
        match logged.vfs.rename(&from, &to) {
            Ok(()) => {
                if let Some(size) = replaced {
                    let _ = logged.count(-1, -size);
                }
                self.log.log(
                    Level::Notice,
                    &format!(
                        "File successfully renamed or moved: [{}]->[{}]",
                        String::from_utf8_lossy(&from),
                        String::from_utf8_lossy(&to)
                    ),
                );
                Reply::new(250, msg::RENAME_OK).into()
            }
            Err(e) => Reply::new(451, msg::rename_failed(crate::errno_text(&e))).into(),
        }
    }

    /// The stat of a regular file for SIZE and MDTM, or the refusal.
    fn regular_file(
        &mut self,
        logged: &mut LoggedIn,
        name: &[u8],
    ) -> Result<nix::sys::stat::FileStat, Outcome> {
        if name.is_empty() {
            return Err(Reply::new(501, msg::MISSING_ARGUMENT).into());
        }
        if let Some(refusal) = self.check_dot_read(logged, name) {
            return Err(refusal);
        }
        let path = logged.vfs.resolve(name);
        let st = logged
            .vfs
            .stat(&path)
            .map_err(|_| Outcome::from(Reply::new(550, msg::NO_SUCH_FILE)))?;
        if !is_regular(st.st_mode) {
            return Err(Reply::new(550, msg::ONLY_REGULAR).into());
        }
        Ok(st)
    }

    pub(super) fn size(&mut self, logged: &mut LoggedIn, name: &[u8]) -> Outcome {
        match self.regular_file(logged, name) {
            Ok(st) => Reply::new(213, st.st_size.to_string()).into(),
            Err(refusal) => refusal,
        }
    }

    /// MDTM `path`: the modification time. MDTM `YYYYMMDDhhmmss path` (a form many
    /// clients send to set it) sets it as MFMT does, unless a file has that whole name.
    pub(super) fn mdtm(&mut self, logged: &mut LoggedIn, name: &[u8]) -> Outcome {
        let setter = name.len() > 15
            && name[..14].iter().all(u8::is_ascii_digit)
            && name[14] == b' '
            && self.regular_file(logged, name).is_err();
        if setter {
            return self.set_time(logged, &name[15..], &name[..14]);
        }
        match self.regular_file(logged, name) {
            Ok(st) => Reply::new(213, utc_stamp(st.st_mtime)).into(),
            Err(refusal) => refusal,
        }
    }

    pub(super) fn mfmt(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        let Some(space) = arg.iter().position(|&b| b == b' ') else {
            return Reply::new(501, msg::MISSING_ARGUMENT).into();
        };
        // Pure-FTPd: the name starts after the spaces; the time is read from the start
        // of the whole argument, as far as it goes.
        let name = arg[space..].trim_ascii_start();
        if name.is_empty() {
            return Reply::new(501, msg::MISSING_ARGUMENT).into();
        }
        self.set_time(logged, name, arg)
    }

    /// MFMT and SITE UTIME: sets atime and mtime from `YYYYMMDDhhmmss` (UTC) at the start
    /// of `stamp`, read as Pure-FTPd reads it ([`pureftpd_proto::c_scan::utc_stamp`]).
    pub(super) fn set_time(&mut self, logged: &mut LoggedIn, name: &[u8], stamp: &[u8]) -> Outcome {
        if logged.anonymous() {
            return Reply::new(550, msg::ANON_NO_CHMOD).into();
        }
        // Pure-FTPd's order: the name is judged before the time is read.
        if let Some(refusal) = self.check_dot_write(logged, name, false) {
            return refusal;
        }
        let Some(when) = pureftpd_proto::c_scan::utc_stamp(stamp) else {
            return Reply::new(501, msg::BAD_TIMESTAMP).into();
        };
        let path = logged.vfs.resolve(name);
        match logged.vfs.set_times(&path, when, when) {
            Ok(()) => Reply::new(213, msg::UTIME_OK).into(),
            Err(e) => Reply::new(550, msg::utime_failed(name, crate::errno_text(&e))).into(),
        }
    }

    /// SITE CHMOD `<octal mode> <path>`.
    pub(super) fn chmod(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        if arg.is_empty() {
            return Reply::new(501, msg::MISSING_ARGUMENT).into();
        }
        let mode_len = arg.iter().take_while(|b| !b.is_ascii_whitespace()).count();
        let name = arg[mode_len..].trim_ascii_start();
        if name.is_empty() {
            return Reply::new(550, msg::NO_FILE_NAME).into();
        }
        // As Pure-FTPd's `(mode_t) strtoul(…, 8)`: leading octal digits, the rest
        // ignored ("99999" is 0), a minus sign or an overflow over 07777.
        #[allow(clippy::cast_possible_truncation)] // mode_t is 32 bits, as the C cast
        let mode = pureftpd_proto::c_scan::strtoul(arg, 8) as u32;
        if mode > 0o7777 {
            return Reply::new(501, msg::BAD_PERMISSIONS).into();
        }
        if logged.anonymous() {
            return Reply::new(550, msg::ANON_NO_CHMOD).into();
        }
        let uid = logged.user.uid;
        if self.config.no_chmod && uid != 0 {
            return Reply::new(550, msg::chmod_failed(name, None)).into();
        }
        if let Some(refusal) = self.check_dot_write(logged, name, false) {
            return refusal;
        }
        let path = logged.vfs.resolve(name);
        let mut mode = mode;
        // Beyond Pure-FTPd: a virtual user (from a .pdb, extauth, ...) never sets the
        // setuid or setgid bit. Its files belong to a uid that may be shared with real
        // programs, and a setuid file made over FTP is a way to run as that uid.
        if mode & 0o6000 != 0 && !logged.user.system_account && logged.user.uid != 0 {
            return Reply::new(
                550,
                msg::chmod_failed(name, Some(&"Operation not permitted")),
            )
            .into();
        }
        let target = match logged.vfs.stat(&path) {
            Ok(target) => target,
            Err(e) => {
                return Reply::new(550, msg::chmod_failed(name, Some(&crate::errno_text(&e))))
                    .into();
            }
        };
        let keep = crate::owner_bits::Keep {
            under_quota: logged.quota.is_some(),
            customer_proof: self.config.customer_proof,
        };
        mode |= keep.bits(&logged.vfs, &target);
        match logged.vfs.chmod(&path, mode) {
            Ok(()) => Reply::new(200, msg::chmod_ok(name)).into(),
            Err(e) => Reply::new(550, msg::chmod_failed(name, Some(&crate::errno_text(&e)))).into(),
        }
    }

    /// SITE UTIME: `YYYYMMDDhhmmss path` (as MFMT), or `path atime mtime ctime UTC`,
    /// whose words Pure-FTPd finds from the end, one space at a time, and whose atime is
    /// the time set.
    pub(super) fn utime(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        if arg.is_empty() {
            return Reply::new(501, msg::NO_FILE_NAME).into();
        }
        // The last space, if it is not the first byte.
        let last_space = |text: &[u8]| text.iter().rposition(|&b| b == b' ').filter(|&i| i > 0);
        let Some(utc) = last_space(arg) else {
            return Reply::new(501, msg::MISSING_ARGUMENT).into();
        };
        if !arg[utc..].eq_ignore_ascii_case(b" UTC") {
            return self.mfmt(logged, arg);
        }
        let (mut name, mut atime) = (&arg[..utc], &[][..]);
        for _ctime_mtime_atime in 0..3 {
            let Some(space) = last_space(name) else {
                return Reply::new(501, msg::MISSING_ARGUMENT).into();
            };
            atime = &name[space + 1..];
            name = &name[..space];
        }
        if atime.is_empty() {
            return Reply::new(501, msg::MISSING_ARGUMENT).into();
        }
        self.set_time(logged, name, atime)
    }
}

/// `YYYYMMDDhhmmss` in UTC.
fn utc_stamp(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%d%H%M%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_in_utc() {
        let t = pureftpd_proto::c_scan::utc_stamp(b"20261122064218").unwrap();
        assert_eq!(utc_stamp(t), "20261122064218");
        assert_eq!(
            utc_stamp(pureftpd_proto::c_scan::utc_stamp(b"19010101000000").unwrap()),
            "19010101000000"
        );
    }

    #[test]
    fn dot_components_are_found_anywhere() {
        assert!(has_dot_component(b"/a/.b/c"));
        assert!(has_dot_component(b"/.ftpquota"));
        assert!(!has_dot_component(b"/a/b.c"));
    }
}
