//! Quotas for SFTP sessions: the same `.ftpquota` counter file as the account's FTP
//! sessions (`crate::quota`: its lock, its format, `pure-quotacheck`'s), the same limits
//! (`-n`, or the account's own) and the same rule: an upload that would go over the
//! quota leaves nothing behind.
//!
//! SFTP writes at any offset, so an upload is settled when its handle is closed (or
//! when the session ends with it open): a write that would take the file past what the
//! quota leaves is refused at once, and at the close a new file over the quota is
//! removed and an existing one cut back to the size it had. (FTP writes a replaced file
//! under a temporary name first; an SFTP client that truncates a file at open has
//! already given up its old content, so a refused replacement leaves it empty.) Deleted
//! files and directories give their room back; `.ftpquota` and `.pureftpd-*` names are
//! refused, as in pure-ftpd.

use std::fs::File;

use russh_sftp::protocol::StatusCode;
use russh_sftp::server::StatusReply;

use crate::quota::{Quota, is_reserved};
use crate::vfs::Vfs;

/// An open file that may grow, as the quota sees it.
#[derive(Debug)]
pub(crate) struct Upload {
    path: Vec<u8>,
    /// Bytes the counters hold for the file (0 for a new one).
    counted: u64,
    creates: bool,
    /// The size the file may reach (`None`: no size limit).
    max_size: Option<u64>,
    /// A write was refused: the upload is undone at the close.
    over: bool,
}

pub(crate) fn exceeded() -> StatusReply {
    crate::metrics::count(crate::metrics::Count::QuotaRefusals);
    StatusReply::new(StatusCode::Failure).with_message("Quota exceeded")
}

/// A name clients may not touch while quotas apply.
pub(crate) fn check_name(quota: Option<&Quota>, path: &[u8]) -> Result<(), StatusReply> {
    if quota.is_some() && is_reserved(path) {
        return Err(StatusReply::new(StatusCode::PermissionDenied)
            .with_message("Reserved name while quotas apply"));
    }
    Ok(())
}

/// Before an open that may write `path`: the refusal when the quota is used up, else
/// what the close must settle (none without a quota).
pub(crate) fn plan(
    quota: Option<&Quota>,
    vfs: &Vfs,
    path: &[u8],
) -> Result<Option<Upload>, StatusReply> {
    let Some(quota) = quota else {
        return Ok(None);
    };
    check_name(Some(quota), path)?;
    let existing = vfs.lstat(path).ok();
    let creates = existing.is_none();
    let counted = existing
        .filter(|st| st.st_mode & 0o170_000 == 0o100_000)
        .map_or(0, |st| u64::try_from(st.st_size).unwrap_or(0));
    // Writes land anywhere in the file: it may grow to its counted size plus the room.
    let Some(max_size) = quota.room_for_upload(creates, counted, true) else {
        return Err(exceeded());
    };
    Ok(Some(Upload {
        path: path.to_vec(),
        counted,
        creates,
        max_size,
        over: false,
    }))
}

impl Upload {
    /// Before a write that ends at `end`: refused (and the upload marked to be undone)
    /// past what the quota leaves.
    pub(crate) fn allow(&mut self, end: u64) -> Result<(), StatusReply> {
        if self.max_size.is_some_and(|max| end > max) {
            self.over = true;
            return Err(exceeded());
        }
        Ok(())
    }

    /// At the close: counts the upload, or undoes it (over the quota, now or because
    /// another session of the account got there first).
    pub(crate) fn settle(self, quota: &Quota, vfs: &Vfs, file: &File) -> Result<(), StatusReply> {
        let size = file.metadata().map_or(0, |m| m.len());
        let undo = || {
            if self.creates {
                let _ = vfs.unlink(&self.path);
            } else {
                let _ = file.set_len(self.counted.min(size));
            }
        };
        if self.over {
            undo();
            return Err(exceeded());
        }
        if quota
            .count_upload(vfs, self.creates, self.counted, size)
            .is_none()
        {
            undo();
            return Err(exceeded());
        }
        Ok(())
    }
}
