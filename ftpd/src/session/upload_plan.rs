//! How an upload is written and settled: quotas (spec §7.3) and `-0`.
//!
//! An upload that would go over the quota leaves nothing behind: a new file is
//! removed, an append or resume is cut back to where it started, and a file replaced
//! whole is written under a temporary name (`.pureftpd-upload.*`, a name clients may
//! not use while quotas apply) and renamed over the old one only once it is counted,
//! so the old file survives a refused upload. The counters are adjusted under the
//! counter file's lock and checked after the adjustment, so concurrent sessions of one
//! account cannot overshoot together. With `-0` a replacement is always written under
//! a temporary name and takes the old file's place only when complete; an incomplete
//! one is dropped and the old file stays.

use nix::sys::stat::FileStat;
use pureftpd_proto::Reply;

use super::LoggedIn;
use super::{Outcome, Session};
use crate::quota::Usage;

/// What an upload must do when it ends.
#[derive(Debug)]
pub(crate) struct UploadPlan {
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
    /// `-0`: an incomplete replacement is dropped rather than kept.
    pub(crate) complete_only: bool,
}

/// How the transfer of an upload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadEnd {
    /// All of it came.
    Complete,
    /// Aborted, broken or timed out.
    Incomplete,
    /// Stopped at the quota.
    OverQuota,
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
        logged: &mut LoggedIn,
        name: &[u8],
        first: Option<&str>,
        status: bool,
    ) -> Reply {
        crate::metrics::count(crate::metrics::Count::QuotaRefusals);
        let mut reply = Reply::empty(552);
        if let Some(first) = first {
            reply.push(first);
        }
        if status {
            for line in logged.quota_lines() {
                reply.push(line);
            }
        }
        reply.push([&b"Quota exceeded: ["[..], name, b"] won't be saved"].concat());
        reply
    }

    /// Before an upload: the refusal when the quota is already used up, else the plan
    /// (none when neither quotas nor `-0` apply).
    pub(crate) fn plan_upload(
        &mut self,
        logged: &mut LoggedIn,
        name: &[u8],
        path: &[u8],
        existing: Option<&FileStat>,
        replaces_whole: bool,
    ) -> Result<Option<UploadPlan>, Outcome> {
        let no_truncate = self.config.no_truncate;
        let creates = existing.is_none();
        let counted = existing.filter(|st| is_regular(st)).map_or(0, size_of);
        let replaces_file = replaces_whole && existing.is_some_and(is_regular);
        let limit = match &logged.quota {
            Some(quota) => match quota.room_for_upload(creates, counted, replaces_whole) {
                Some(limit) => limit,
                None => {
                    // Pure-FTPd opens the file before it looks at the quota: a path that
                    // leads nowhere is refused for that.
                    if creates && let Err(e) = logged.vfs.can_create(path) {
                        return Err(Reply::new(
                            553,
                            crate::messages::cant_create(crate::errno_text(&e)),
                        )
                        .into());
                    }
                    return Err(self.quota_exceeded(logged, name, None, false).into());
                }
            },
            None if no_truncate && replaces_file => None,
            None => return Ok(None),
        };
        let temporary = replaces_file.then(|| {
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
        Ok(Some(UploadPlan {
            limit,
            target: path.to_vec(),
            temporary,
            counted,
            creates,
            complete_only: no_truncate,
        }))
    }

    /// After an upload: counts it and puts it in place, or undoes it (over the quota,
    /// or incomplete under `-0`).
    pub(crate) fn settle_upload(
        &mut self,
        logged: &mut LoggedIn,
        plan: &UploadPlan,
        end: UploadEnd,
    ) -> Settled {
        let written = plan.temporary.as_deref().unwrap_or(&plan.target);
        let size = logged.vfs.stat(written).map_or(0, |st| size_of(&st));
        let undo = |logged: &LoggedIn| match &plan.temporary {
            Some(temp) => {
                let _ = logged.vfs.unlink(temp);
            }
            None if plan.creates => {
                let _ = logged.vfs.unlink(&plan.target);
            }
            None => {
                // An append or resume: back to the size the file had (a resume only
                // cuts the old tail once it completes, see transfer.rs).
                if let Ok(file) = logged
                    .vfs
                    .open_write(&plan.target, nix::fcntl::OFlag::empty(), 0)
                {
                    let _ = file.set_len(plan.counted);
                }
            }
        };
        let dropped = end == UploadEnd::OverQuota
            || (end == UploadEnd::Incomplete && plan.complete_only && plan.temporary.is_some());
        if dropped {
            undo(logged);
            return if end == UploadEnd::OverQuota {
                Settled::Refused
            } else {
                Settled::Counted(Vec::new())
            };
        }
        let files = i64::from(plan.creates);
        let bytes = i64::try_from(size).unwrap_or(i64::MAX)
            - i64::try_from(plan.counted).unwrap_or(i64::MAX);
        let mut lines = Vec::new();
        if let Some(quota) = &logged.quota {
            let Some(usage) = quota.count_upload(&logged.vfs, plan.creates, plan.counted, size)
            else {
                undo(logged);
                return Settled::Refused;
            };
            lines = crate::quota::status_lines(usage, quota.limits);
        }
        if let Some(temp) = &plan.temporary
            && logged.vfs.rename(temp, &plan.target).is_err()
        {
            let _ = logged.count(-files, -bytes);
            let _ = logged.vfs.unlink(temp);
            return Settled::Refused;
        }
        Settled::Counted(lines)
    }

    /// MKD: refused when the files quota is full.
    pub(crate) fn quota_refuses_mkd(
        &mut self,
        logged: &mut LoggedIn,
        name: &[u8],
    ) -> Option<Outcome> {
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
