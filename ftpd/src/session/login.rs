//! USER and PASS, and entering the account: chroot and privileges when running as root,
//! a virtual root otherwise.

use crate::metrics;
use std::time::Duration;

use pureftpd_account::Password;
use pureftpd_proto::Reply;

use super::{LoggedIn, Outcome, Session, State};
use crate::auth::{self, Endpoints, LoggedUser, Verdict};
use crate::log::Level;
use crate::messages as msg;
use crate::privilege;
use crate::privsep::protocol::Request;
use crate::vfs::listing;

/// Where anonymous areas of virtual hosts live, one directory per server address.
const VIRTUAL_HOSTS: &str = "/etc/pure-ftpd/pure-ftpd";
/// Failed PASS after which the session is closed.
const MAX_FAILURES: u32 = 6;
/// Longest password accepted.
const MAX_PASSWORD: usize = 511;
/// Longest login kept (Debian's MAX_USER_LENGTH).
const MAX_LOGIN: usize = 128;

/// How long a refusal waits, `failures` counting this one where it counts: Pure-FTPd's
/// random 0–3 s plus 3 s per failure, and its random 0–15 ms (`randomdelay()`).
///
/// Pure-FTPd sleeps those 0–15 ms before every password check, so that the time a reply
/// takes says less about whether the login exists. Only a refusal can say that (whoever
/// gets `230` knew the password), so ours sleeps them in refusals alone, after the
/// check: a refusal waits as long as Pure-FTPd's, and a successful login does not pay
/// them (7.5 ms on average, more than the rest of a login with a SHA-512-crypt hash).
/// A missing login still costs a hash (`auth::authenticate`'s dummy check).
pub(crate) fn refusal_delay(failures: u32) -> Duration {
    let jitter = u64::from(random_u32() % 3000) + u64::from(random_u32() % 15);
    Duration::from_millis(jitter + 3000 * u64::from(failures))
}

impl Session<'_> {
    pub(crate) fn user(&mut self, name: &[u8]) -> Outcome {
        if self.monitor.is_some() {
            // Pre-login process: the monitor keeps the login state and answers.
            let name = name[..name.len().min(MAX_LOGIN)].to_vec();
            return self.ask_monitor(&Request::User { name });
        }
        if let State::LoggedIn(logged) = &self.state {
            return if logged.user.anonymous {
                Reply::new(230, msg::ANONYMOUS_LOGGED_IN).into()
            } else {
                Reply::new(530, msg::ALREADY_LOGGED_IN).into()
            };
        }
        let name = &name[..name.len().min(MAX_LOGIN)];
        let anonymous_name = name.is_empty()
            || name.eq_ignore_ascii_case(b"ftp")
            || name.eq_ignore_ascii_case(b"anonymous");
        let anonymous_only = self.config.anonymous_only
            || self
                .config
                .trusted_ip
                .is_some_and(|ip| ip != self.local.ip());
        if anonymous_only || (anonymous_name && self.config.anonymous_allowed()) {
            return self.anonymous_login();
        }
        if name.is_empty() {
            return Outcome::Close(Reply::new(530, msg::NO_ANONYMOUS));
        }
        self.state = State::AwaitPass {
            user: name.to_vec(),
        };
        Reply::new(331, msg::user_ok(name)).into()
    }

    pub(crate) fn pass(&mut self, password: Vec<u8>) -> Outcome {
        if self.monitor.is_some() {
            return self.forward_pass(password);
        }
        let password = Password::new(password);
        let user = match &self.state {
            State::AwaitUser => return Reply::new(530, msg::WHO_ARE_YOU).into(),
            State::LoggedIn(logged) if logged.user.anonymous => {
                return Reply::new(230, msg::ANY_PASSWORD).into();
            }
            State::LoggedIn(_) => return Reply::new(530, msg::SAME_SESSION).into(),
            State::AwaitPass { user } => user.clone(),
        };
        if password.expose().len() > MAX_PASSWORD {
            return Reply::new(530, msg::LINE_TOO_LONG).into();
        }
        // In a monitor, the pre-login process holds the TLS session, if any.
        let (sni_name, encrypted) = match &self.tls_elsewhere {
            Some(name) => (name.clone(), true),
            None => (self.control.server_name(), self.control.is_tls()),
        };
        let at = Endpoints {
            peer: self.peer.ip(),
            local: self.local.ip(),
            local_port: self.local.port(),
            sni_name,
            encrypted,
        };
        let mut notes = Vec::new();
        let verdict =
            auth::authenticate(&self.config.auth_chain(), &user, &password, &at, &mut notes);
        drop(password);
        for note in notes {
            self.log.log(Level::Warning, &note);
        }
        let account = match verdict {
            Verdict::Accepted(account) => *account,
            Verdict::Rejected(reason) => {
                self.log.log(
                    Level::Debug,
                    &format!("[{}]: {reason}", String::from_utf8_lossy(&user)),
                );
                return self.login_failed(&user);
            }
            Verdict::NotFound => return self.login_failed(&user),
            Verdict::Unavailable(text) => {
                self.log.log(Level::Error, &text);
                return Outcome::Close(Reply::new(421, text));
            }
        };
        if crate::account_rules::below_min_uid(self.config, &account, &self.log) {
            return self.refuse_low_uid();
        }
        self.enter(account)
    }

    /// `-u`: an account below the minimum uid is refused, as a failed login.
    fn refuse_low_uid(&mut self) -> Outcome {
        self.failure_delay();
        self.state = State::AwaitUser;
        Reply::new(530, msg::CANT_TRUST).into()
    }

    /// 530 after a growing delay; the sixth failure closes the session.
    fn login_failed(&mut self, user: &[u8]) -> Outcome {
        self.failures += 1;
        self.log.log(
            Level::Warning,
            &format!(
                "Authentication failed for user [{}]",
                String::from_utf8_lossy(user)
            ),
        );
        self.failure_delay();
        self.state = State::AwaitUser;
        if self.failures >= MAX_FAILURES {
            self.log
                .log(Level::Error, "Too many authentication failures");
            return Outcome::Close(Reply::new(530, msg::AUTH_FAILED));
        }
        Reply::new(530, msg::AUTH_FAILED).into()
    }

    /// Random 0–3 s, plus 3 s per failure so far (as Pure-FTPd, to slow guessing).
    fn failure_delay(&self) {
        std::thread::sleep(refusal_delay(self.failures));
    }

    fn anonymous_login(&mut self) -> Outcome {
        let Some(mut account) = auth::anonymous_account() else {
            metrics::login(metrics::Backend::Anonymous, metrics::LoginResult::Refused);
            return Outcome::Close(Reply::new(421, msg::NO_ANONYMOUS));
        };
        metrics::login(metrics::Backend::Anonymous, metrics::LoginResult::Accepted);
        // Virtual hosts: a directory named after the address the client connected to
        // is the anonymous area for that address, as in Pure-FTPd.
        let local = super::canonical_ip(self.local.ip()).to_string();
        let vhost = std::path::Path::new(VIRTUAL_HOSTS).join(local);
        if vhost.is_dir() {
            account.home = pureftpd_account::Home::parse(vhost.as_os_str().as_encoded_bytes());
        }
        self.enter(account)
    }

    /// Moves into the account: confinement, privileges, the starting directory.
    fn enter(&mut self, user: LoggedUser) -> Outcome {
        if let Some(limit) = crate::account_rules::over_session_limit(self.config, &user) {
            return Outcome::Close(Reply::new(421, msg::per_user_limit(limit)));
        }
        // From here on this process speaks for one account, not for the server.
        crate::certd::stop_hinting();
        let names = privilege::names_for_listings(&user);
        // Read now, before a chroot hides the file (not for clients that never log in).
        self.aliases = super::aliases::load();
        let trusted = crate::account_rules::is_trusted(self.config, &user);
        self.start_port20_helper(&user);
        let entered = match privilege::enter(&user, self.config) {
            Ok(entered) => entered,
            Err(e) => {
                self.log.log(
                    Level::Error,
                    &format!(
                        "Can't enter the home of [{}]: {e}",
                        String::from_utf8_lossy(&user.login)
                    ),
                );
                return Outcome::Close(Reply::new(421, msg::HOME_NOT_AVAILABLE));
            }
        };
        let Ok(quota) = self.open_quota(&user, trusted, &entered.vfs) else {
            return Outcome::Close(Reply::new(421, msg::HOME_NOT_AVAILABLE));
        };
        self.announce_login(&user);
        let policies = super::throttle::Policies::for_user(&user, self.config, trusted);
        let reply = self.welcome(&user, &policies, &entered, quota.as_ref());
        let list = listing::Context {
            tz: self.tz.clone(),
            now: jiff::Timestamp::now(),
            user_names: names.users,
            group_names: names.groups,
            show_ids: !user.anonymous,
        };
        self.state = State::LoggedIn(Box::new(LoggedIn {
            user,
            vfs: entered.vfs,
            base: entered.base,
            quota,
            policies,
            list,
        }));
        reply.into()
    }

    /// As root, the last moment the session can still give a helper the right to bind
    /// port 20 (active mode); without it, active mode uses any port.
    fn start_port20_helper(&mut self, user: &LoggedUser) {
        // The server's own helper when the master gave the session an end of it.
        if let Some(shared) = crate::port20::Helper::shared() {
            self.port20 = Some(shared);
            return;
        }
        if !nix::unistd::Uid::effective().is_root() {
            return;
        }
        let local = super::canonical_ip(self.local.ip());
        match crate::port20::Helper::start(local, user.uid, user.gid) {
            Ok(helper) => self.port20 = Some(helper),
            Err(e) => self.log.log(
                Level::Warning,
                &format!("Active mode will use any port, no helper for port 20: {e}"),
            ),
        }
    }

    /// The account's quota, when one applies. `Err` (logged): it applies and cannot be
    /// counted, and the login fails closed, since it could not be enforced.
    fn open_quota(
        &self,
        user: &LoggedUser,
        trusted: bool,
        vfs: &crate::vfs::Vfs,
    ) -> Result<Option<crate::quota::Quota>, ()> {
        let Some(limits) = crate::account_rules::quota_limits(self.config, user, trusted) else {
            return Ok(None);
        };
        crate::quota::Quota::open(vfs, limits)
            .map(Some)
            .map_err(|e| {
                self.log.log(
                    Level::Error,
                    &format!(
                        "Unable to open the quota file {}: {e}",
                        crate::quota::FILE_NAME
                    ),
                );
            })
    }

    /// The login's log line (as Pure-FTPd: it still carries `?`; the account tags the
    /// lines after it) and the account on the log and the scoreboard.
    fn announce_login(&mut self, user: &LoggedUser) {
        let account = if user.anonymous {
            "ftp".to_string()
        } else {
            String::from_utf8_lossy(&user.login).into_owned()
        };
        if user.anonymous {
            self.log.log(Level::Info, "Anonymous user logged in");
        } else {
            self.log
                .log(Level::Info, &format!("{account} is now logged in"));
        }
        self.log.account = account;
        if let Some(board) = &mut self.scoreboard {
            board.set_account(self.log.account.as_bytes());
        }
        metrics::session_state(metrics::SessionState::Idle);
    }

    /// The 230 reply: the limits, FXP, where the session is, the quota, `.banner`.
    fn welcome(
        &self,
        user: &LoggedUser,
        policies: &super::throttle::Policies,
        entered: &privilege::Entered,
        quota: Option<&crate::quota::Quota>,
    ) -> Reply {
        let mut reply = Reply::empty(230);
        for line in policies.login_lines(user.anonymous) {
            reply.push(line);
        }
        if user.anonymous {
            reply.push(msg::ANONYMOUS_LOGGED_IN);
        } else {
            if self.config.allow_user_fxp || self.config.allow_anonymous_fxp {
                reply.push(msg::FXP_SUPPORTED);
            }
            reply.push(msg::logged_in(entered.vfs.cwd(), entered.restricted));
            for line in quota.map(crate::quota::Quota::status).unwrap_or_default() {
                reply.push(line);
            }
        }
        for line in super::magic::file_lines(&entered.vfs, entered.vfs.cwd(), ".banner") {
            reply.push(line);
        }
        reply
    }
}

/// A random number from the system (fork-safe: no user-space generator to duplicate).
pub(crate) fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    u32::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::refusal_delay;
    use std::time::Duration;

    /// Pure-FTPd's refusal: 3 s per failure, plus 0–3 s, plus 0–15 ms; never less, never more.
    #[test]
    fn a_refusal_waits_as_long_as_pure_ftpds() {
        for failures in 0..7 {
            let floor = Duration::from_secs(3 * u64::from(failures));
            let (mut shortest, mut longest) = (Duration::MAX, Duration::ZERO);
            for _ in 0..2000 {
                let delay = refusal_delay(failures);
                shortest = shortest.min(delay);
                longest = longest.max(delay);
            }
            assert!(shortest >= floor, "{failures}: {shortest:?}");
            assert!(
                longest <= floor + Duration::from_millis(3014),
                "{failures}: {longest:?}"
            );
            // Random, and spread over the whole range (2000 draws of 0-3 s).
            assert!(
                longest - shortest > Duration::from_millis(2500),
                "{shortest:?}..{longest:?}"
            );
        }
    }
}
