//! SFTP's words for what the file system says: status replies for errors (as OpenSSH's
//! server maps `errno`), attributes from `stat`, and `ls -l` long names.

use std::io;

use nix::sys::stat::FileStat;
use russh_sftp::protocol::{FileAttributes, Status, StatusCode};
use russh_sftp::server::StatusReply;

type Reply<T> = Result<T, StatusReply>;

pub(crate) fn failed(error: &io::Error) -> StatusReply {
    let code = match error.raw_os_error().map(nix::errno::Errno::from_raw) {
        Some(nix::errno::Errno::ENOENT | nix::errno::Errno::ENOTDIR) => StatusCode::NoSuchFile,
        Some(nix::errno::Errno::EACCES | nix::errno::Errno::EPERM | nix::errno::Errno::EROFS) => {
            StatusCode::PermissionDenied
        }
        _ => StatusCode::Failure,
    };
    StatusReply::new(code).with_message(crate::errno_text(error))
}

pub(crate) fn refused(code: StatusCode, message: &str) -> StatusReply {
    StatusReply::new(code).with_message(message)
}

pub(crate) fn ok(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Success".to_string(),
        language_tag: "en-US".to_string(),
    }
}

/// Seconds as SFTP v3 carries them (32 bits; before 1970 or after 2106 is clamped).
fn seconds(t: i64) -> u32 {
    u32::try_from(t.max(0)).unwrap_or(u32::MAX)
}

pub(crate) fn attributes(st: &FileStat) -> FileAttributes {
    FileAttributes {
        size: Some(u64::try_from(st.st_size).unwrap_or(0)),
        uid: Some(st.st_uid),
        user: None,
        gid: Some(st.st_gid),
        group: None,
        permissions: Some(st.st_mode),
        atime: Some(seconds(st.st_atime)),
        mtime: Some(seconds(st.st_mtime)),
    }
}

/// `ls -l`'s line, as OpenSSH's server writes it for a directory entry.
pub(crate) fn long_name(name: &str, st: &FileStat, now: i64) -> String {
    let kind = match st.st_mode & 0o170_000 {
        0o040_000 => 'd',
        0o120_000 => 'l',
        0o020_000 => 'c',
        0o060_000 => 'b',
        0o010_000 => 'p',
        0o140_000 => 's',
        _ => '-',
    };
    let bits = "rwxrwxrwx";
    let mut mode: String = kind.to_string();
    for (i, c) in bits.chars().enumerate() {
        mode.push(if st.st_mode & (0o400 >> i) != 0 {
            c
        } else {
            '-'
        });
    }
    let when = jiff::Timestamp::from_second(st.st_mtime).unwrap_or_default();
    let zoned = when.to_zoned(crate::time_zone::local());
    // Within six months: the time; otherwise the year (as ls and OpenSSH).
    let recent = (now - st.st_mtime).abs() < 182 * 24 * 3600;
    let date = if recent {
        zoned.strftime("%b %e %H:%M").to_string()
    } else {
        zoned.strftime("%b %e  %Y").to_string()
    };
    format!(
        "{mode} {:>4} {:<8} {:<8} {:>8} {date} {name}",
        st.st_nlink, st.st_uid, st.st_gid, st.st_size
    )
}

/// `SETSTAT` may name the owner a file has, never another.
pub(crate) fn same_owner(attrs: &FileAttributes, st: &FileStat) -> Reply<()> {
    if attrs.uid.is_some_and(|u| u != st.st_uid) || attrs.gid.is_some_and(|g| g != st.st_gid) {
        return Err(refused(
            StatusCode::PermissionDenied,
            "Owners cannot be changed",
        ));
    }
    Ok(())
}
