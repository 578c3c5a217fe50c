//! pure-pw's exit status: bit flags, so that `-m` can OR the edit's status with mkdb's
//! (`userdel x -m` on a missing file exits 4 | 2 = 6, as Pure-FTPd's does).

/// Success, also for the usage text.
pub(crate) const OK: i32 = 0;
/// A missing login or an invalid option value.
pub(crate) const FAILURE: i32 = 1;
/// The passwd file is missing, unreadable or malformed.
pub(crate) const PASSWD_FILE: i32 = 2;
/// useradd: the login exists; usermod/userdel: it does not, or the file cannot be
/// rewritten.
pub(crate) const USER_EXISTS: i32 = 4;
/// The password could not be read.
pub(crate) const PASSWORD_ENTRY: i32 = 8;
/// The login is not in the passwd file.
pub(crate) const NOT_FOUND: i32 = 16;
/// useradd without a valid (non-root) uid and gid.
pub(crate) const NEED_IDS: i32 = 32;
/// useradd without a home directory.
pub(crate) const NEED_HOME: i32 = 64;
/// Anything else: a rename or write failure, mkdb failing.
pub(crate) const UNEXPECTED: i32 = 255;
