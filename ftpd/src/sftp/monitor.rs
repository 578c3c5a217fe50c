//! The monitor: the connection's own process, root, until a login succeeds. It reads
//! only the pre-login process's login messages (`protocol.rs`, decoded as hostile input)
//! and keeps the rules itself (a key login needs the key listed in the admin's key
//! directory, `user_keys.rs`, at the offer and again at the login), as pure-ftpd's
//! monitor does: one login at a time (one question is answered before the next is read),
//! Pure-FTPd's random and growing delays after each failure (`refusal_delay`), at most
//! six failures, the `-u` minimum uid and the `-y` per-user limit. The accounts are
//! checked by the same `-l` chain, the same code, as pure-ftpd's. A malformed message,
//! or the pre-login process gone, ends the connection.

use std::net::SocketAddr;
use std::os::unix::net::UnixStream;

use pureftpd_account::Password;

use super::protocol::{Answer, Request};
use super::user_keys::{Listed, UserKeys};
use crate::auth::{self, Endpoints, LoggedUser, Proof, Verdict};
use crate::config::Config;
use crate::log::{Level, Logger};
use crate::privsep::Channel;
use crate::scoreboard::Scoreboard;

/// Failed logins after which the connection is closed (as pure-ftpd's).
const MAX_FAILURES: u32 = 6;

/// A connection before login, as its monitor sees it.
pub(crate) struct Monitor<'c> {
    pub(crate) config: &'c Config,
    /// `--userkeydir`.
    pub(crate) user_keys: &'c UserKeys,
    pub(crate) log: Logger,
    pub(crate) board: Option<Scoreboard>,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) channel: Channel,
    /// The account's end of the SFTP pipe.
    pub(crate) pipe: UnixStream,
    pub(crate) preauth: nix::unistd::Pid,
    pub(crate) failures: u32,
    /// `-O`, opened at the connection.
    pub(crate) alt_log: Option<crate::altlog::AltLog>,
    /// Seconds since 1970.
    pub(crate) connected_at: i64,
}

/// What the monitor makes of one login.
enum Check {
    Accepted(Box<LoggedUser>),
    Refused,
    /// The accounts cannot be reached: no point in another try.
    Unavailable,
    /// The login is right, but the account has its `-y` sessions (this many) already.
    OverSessionLimit(u32),
}

impl Monitor<'_> {
    /// Answers logins until one succeeds (then serves it as the account) or the
    /// connection ends.
    pub(crate) fn serve(mut self) {
        while let Some(message) = self.channel.receive(None).ok().flatten() {
            let Ok(request) = Request::decode(&message) else {
                self.log.log(
                    Level::Error,
                    "The pre-login process sent a malformed message: connection closed",
                );
                break;
            };
            let (user, check) = match request {
                Request::Login { user, password } => {
                    let proof = Proof::Password(Password::new(password));
                    let check = self.check(&user, &proof);
                    (user, check)
                }
                Request::KeyOffered { user, key } => {
                    if let Listed::Yes { .. } = self.key_listed(&user, &key) {
                        let _ = self.channel.send(&Answer::Acceptable.encode());
                        continue;
                    }
                    // As OpenSSH's MaxAuthTries, an unknown key counts as a failure; it
                    // is not delayed (a key cannot be guessed).
                    if self.count_failure(false) {
                        continue;
                    }
                    break;
                }
                Request::KeyLogin { user, key } => {
                    let check = match self.key_listed(&user, &key) {
                        Listed::Yes { fingerprint } => {
                            let check = self.check(&user, &Proof::Key);
                            if let Check::Accepted(_) = check {
                                self.log.log(
                                    Level::Info,
                                    &format!(
                                        "Public key {fingerprint} accepted for [{}]",
                                        String::from_utf8_lossy(&user)
                                    ),
                                );
                            }
                            check
                        }
                        Listed::No => Check::Refused,
                    };
                    (user, check)
                }
            };
            match check {
                Check::Accepted(account) => {
                    super::account::serve(self, *account);
                    return;
                }
                Check::Refused => {
                    self.log.log(
                        Level::Warning,
                        &format!(
                            "Authentication failed for user [{}]",
                            String::from_utf8_lossy(&user)
                        ),
                    );
                    if !self.count_failure(true) {
                        break;
                    }
                }
                Check::Unavailable => {
                    let _ = self.channel.send(&Answer::Closed.encode());
                    break;
                }
                Check::OverSessionLimit(limit) => {
                    let _ = self.channel.send(&Answer::OverSessionLimit(limit).encode());
                    break;
                }
            }
        }
        self.end();
    }

    /// Whether the admin listed `key` for `user`; logs what the admin should fix.
    fn key_listed(&self, user: &[u8], key: &[u8]) -> Listed {
        let mut warnings = Vec::new();
        let listed = self.user_keys.lists(user, key, &mut warnings);
        for warning in warnings {
            self.log.log(Level::Warning, &warning);
        }
        listed
    }

    fn check(&mut self, user: &[u8], proof: &Proof) -> Check {
        let at = Endpoints {
            peer: crate::session::canonical_ip(self.peer.ip()),
            local: self.local.ip(),
            local_port: self.local.port(),
            sni_name: None,
            encrypted: true,
        };
        let mut notes = Vec::new();
        let verdict =
            auth::authenticate_with(&self.config.auth_chain(), user, proof, &at, &mut notes);
        for note in notes {
            self.log.log(Level::Warning, &note);
        }
        let account = match verdict {
            Verdict::Accepted(account) => account,
            Verdict::Rejected(reason) => {
                self.log.log(
                    Level::Debug,
                    &format!("[{}]: {reason}", String::from_utf8_lossy(user)),
                );
                return Check::Refused;
            }
            Verdict::NotFound => return Check::Refused,
            Verdict::Unavailable(text) => {
                self.log.log(Level::Error, &text);
                return Check::Unavailable;
            }
        };
        if crate::account_rules::below_min_uid(self.config, &account, &self.log) {
            return Check::Refused;
        }
        if let Some(limit) = crate::account_rules::over_session_limit(self.config, &account) {
            self.log.log(
                Level::Warning,
                &format!(
                    "[{}]: too many sessions for this account (-y {limit})",
                    String::from_utf8_lossy(user)
                ),
            );
            return Check::OverSessionLimit(limit);
        }
        Check::Accepted(account)
    }

    /// Counts a failure, waits Pure-FTPd's delay if `delayed` (random 0–3 s plus 3 s
    /// per failure so far, to slow guessing, and its 0–15 ms jitter), and answers: `Refused`, or `Closed` at the
    /// sixth (then `false`: the connection ends).
    fn count_failure(&mut self, delayed: bool) -> bool {
        self.failures += 1;
        if delayed {
            std::thread::sleep(crate::session::login::refusal_delay(self.failures));
        }
        if self.failures >= MAX_FAILURES {
            self.log
                .log(Level::Error, "Too many authentication failures");
            let _ = self.channel.send(&Answer::Closed.encode());
            return false;
        }
        let _ = self.channel.send(&Answer::Refused.encode());
        true
    }

    /// The connection is over: waits for the pre-login process (it dies with this one
    /// anyway) so that its last bytes reach the client.
    pub(crate) fn end(self) {
        drop(self.channel);
        drop(self.pipe);
        let _ = nix::sys::wait::waitpid(self.preauth, None);
    }
}
