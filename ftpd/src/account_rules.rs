//! What applies to an account once the `-l` chain has found it, for pure-ftpd's FTP
//! sessions and pure-sftpd's alike (one implementation, so that the two servers cannot
//! drift apart): `-u` (minimum uid), `-y` and the account's own session limit (counted
//! on the shared scoreboard, so FTP and SFTP sessions of one login count together),
//! `-a` (trusted group) and `-n` (quotas).

use crate::auth::LoggedUser;
use crate::config::Config;
use crate::log::{Level, Logger};

/// `-u`: whether `user` is below the minimum uid; if so, logs it as Pure-FTPd does.
pub(crate) fn below_min_uid(config: &Config, user: &LoggedUser, log: &Logger) -> bool {
    if user.uid >= config.min_uid {
        return false;
    }
    log.log(
        Level::Warning,
        &format!(
            "Can't login as [{}]: account disabled (uid < {})",
            String::from_utf8_lossy(&user.login),
            config.min_uid
        ),
    );
    true
}

/// `-y` and the account's own limit: `Some(limit)` when the sessions already logged
/// in as this login (anonymous ones as `ftp`), this process aside, reach it.
pub(crate) fn over_session_limit(config: &Config, user: &LoggedUser) -> Option<u32> {
    let server = config
        .per_user_limits
        .map(|(users, anonymous)| if user.anonymous { anonymous } else { users });
    let limit = user.max_sessions.or(server).filter(|&n| n > 0)?;
    let account: &[u8] = if user.anonymous { b"ftp" } else { &user.login };
    let others = crate::scoreboard::sessions_of(
        &crate::scoreboard::directory(),
        account,
        std::process::id(),
    );
    (others >= usize::try_from(limit).unwrap_or(usize::MAX)).then_some(limit)
}

/// Root, or a member of the `-a` trusted group: exempt from quotas and `-Q`. Asked
/// before any chroot: the group database may be out of reach after it.
pub(crate) fn is_trusted(config: &Config, user: &LoggedUser) -> bool {
    user.uid == 0
        || config
            .trusted_gid
            .is_some_and(|gid| crate::privilege::in_group(user, gid))
}

/// The quota limits that apply to `user`: its own, else `-n`; never for anonymous
/// users or trusted ones (as Pure-FTPd).
pub(crate) fn quota_limits(
    config: &Config,
    user: &LoggedUser,
    trusted: bool,
) -> Option<crate::quota::Limits> {
    if user.anonymous || trusted {
        return None;
    }
    let (server_files, server_size) = config.quota.unzip();
    let limits = crate::quota::Limits {
        files: user.quota_files.or(server_files),
        size: user.quota_size.or(server_size),
    };
    (limits.files.is_some() || limits.size.is_some()).then_some(limits)
}
