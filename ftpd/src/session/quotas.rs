//! Quotas on uploads and on the commands that change the counters (MKD, RMD, DELE,
//! RNTO), with Pure-FTPd's replies (spec §7.3).
//!
//! An upload that would go over the quota leaves nothing behind: a new file is
//! removed, an append or resume is cut back to where it started, and a file replaced
//! whole is written under a temporary name (`.pureftpd-upload.*`, a name clients may
//! not use while quotas apply) and renamed over the old one only once it is complete
//! and counted, so the old file survives a refused upload. The counters are adjusted
//! under the counter file's lock and checked after the adjustment, so concurrent
//! sessions of one account cannot overshoot together.

use nix::sys::stat::FileStat;
use pureftpd_proto::Reply;

use super::{Outcome, Session};
use crate::quota::Usage;

/// What an upload under quota must do when it ends.
#[derive(Debug)]
pub(crate) struct UploadQuota {
    /// Bytes the upload may write (`None`: no size limit).
    pub(crate) limit: Option<u64>,
    /// The file's path.
    pub(crate) target: Vec<u8>,
    /// Where the data is written first, when it replaces a file whole.
    pub(crate) temporary: Option<Vec<u8>>,
    /// Bytes the counters hold for the target before the upload (0 for a new file).
    pub(crate) counted: u64,
    /// Whether the upload creates the file.
    pub(crate) creates: bool,
    /// Size to cut the file back to on refusal (appends and resumes).
    pub(crate) start: u64,
}

/// How the upload ended, as far as quotas go.
pub(crate) enum Settled {
    /// Counted; these status lines go in the reply.
    Counted(Vec<String>),
    /// Over the quota: undone.
    Refused,
}

fn size_of(st: &FileStat) -> u64 {
    u64::try_from(st.st_size).unwrap_or(0)
}

fn is_regular(st: &FileStat) -> bool {
    st.st_mode & 0o170_000 == 0o100_000
}

impl Session<'_> {
    /// `552 Quota exceeded: [name] won't be saved`, with or without the status lines.
    pub(crate) fn quota_exceeded(
        &mut self,
        name: &[u8],
        first: Option<&str>,
        status: bool,
    ) -> Reply {
        let mut reply = Reply::empty(552);
        if let Some(first) = first {
            reply.push(first);
        }
        if status && let Some(logged) = self.logged_in() {
            for line in logged.quota_lines() {
                reply.push(line);
            }
        }
        reply.push([&b"Quota exceeded: ["[..], name, b"] won't be saved"].concat());
        reply
    }

    /// Before an upload: the refusal when the quota is already used up, else the plan.
    pub(crate) fn plan_upload(
        &mut self,
        name: &[u8],
        path: &[u8],
        existing: Option<&FileStat>,
        replaces_whole: bool,
        start: u64,
    ) -> Result<Option<UploadQuota>, Outcome> {
        let Some(logged) = self.logged_in() else {
            return Ok(None);
        };
        let Some(quota) = &logged.quota else {
            return Ok(None);
        };
        let limits = quota.limits;
        let usage = quota.usage().unwrap_or_default();
        let creates = existing.is_none();
        let counted = existing.filter(|st| is_regular(st)).map_or(0, size_of);
        // Replacing a file frees its bytes; appending keeps them.
        let limit = usage
            .room(limits)
            .map(|room| if replaces_whole { room + counted } else { room });
        if (creates && usage.files_full(limits)) || limit == Some(0) {
            return Err(self.quota_exceeded(name, None, false).into());
        }
        let temporary = (replaces_whole && !creates).then(|| {
            let dir_end = path.iter().rposition(|&b| b == b'/').unwrap_or(0);
            let mut temp = path[..=dir_end].to_vec();
            temp.extend_from_slice(
                format!(
                    ".pureftpd-upload.{:08x}.{:08x}",
                    std::process::id(),
                    super::login::random_u32()
                )
                .as_bytes(),
            );
            temp
        });
        Ok(Some(UploadQuota {
            limit,
            target: path.to_vec(),
            temporary,
            counted,
            creates,
            start,
        }))
    }

    /// After an upload: counts it, or undoes it when it went over the quota.
    pub(crate) fn settle_upload(&mut self, plan: &UploadQuota, over_quota: bool) -> Settled {
        let Some(logged) = self.logged_in() else {
            return Settled::Refused;
        };
        let written = plan.temporary.as_deref().unwrap_or(&plan.target);
        let size = logged.vfs.stat(written).map_or(0, |st| size_of(&st));
        let undo = |logged: &super::LoggedIn| match &plan.temporary {
            Some(temp) => {
                let _ = logged.vfs.unlink(temp);
            }
            None if plan.creates => {
                let _ = logged.vfs.unlink(&plan.target);
            }
            None => {
                if let Ok(file) = logged
                    .vfs
                    .open_write(&plan.target, nix::fcntl::OFlag::empty(), 0)
                {
                    let _ = file.set_len(plan.start);
                }
            }
        };
        let Some(quota) = &logged.quota else {
            return Settled::Counted(Vec::new());
        };
        if over_quota {
            undo(logged);
            return Settled::Refused;
        }
        let files = i64::from(plan.creates);
        let bytes = i64::try_from(size).unwrap_or(i64::MAX)
            - i64::try_from(plan.counted).unwrap_or(i64::MAX);
        let usage = quota.adjust(files, bytes).unwrap_or_default();
        if usage.over(quota.limits) {
            // Another session of the account got there first.
            let _ = quota.adjust(-files, -bytes);
            undo(logged);
            return Settled::Refused;
        }
        if let Some(temp) = &plan.temporary
            && logged.vfs.rename(temp, &plan.target).is_err()
        {
            let _ = quota.adjust(-files, -bytes);
            let _ = logged.vfs.unlink(temp);
            return Settled::Refused;
        }
        Settled::Counted(crate::quota::status_lines(usage, quota.limits))
    }

    /// MKD: refused when the files quota is full.
    pub(crate) fn quota_refuses_mkd(&mut self, name: &[u8]) -> Option<Outcome> {
        let logged = self.logged_in()?;
        let quota = logged.quota.as_ref()?;
        let usage: Usage = quota.usage().unwrap_or_default();
        usage.files_full(quota.limits).then(|| {
            let mut reply = Reply::empty(552);
            reply.push([&b"Quota exceeded: ["[..], name, b"] won't be saved"].concat());
            for line in crate::quota::status_lines(usage, quota.limits) {
                reply.push(line);
            }
            reply.into()
        })
    }
}
