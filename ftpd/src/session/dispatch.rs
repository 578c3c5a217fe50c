//! From a parsed command to its handler. Commands allowed before login are served
//! with the session as it is ([`Command::allowed_before_login`]); the others only once
//! logged in, and their handlers receive the login itself ([`LoggedIn`]), taken out of
//! the session's state while they run: the type, not a check in each handler, says
//! that the client is logged in.

use std::net::SocketAddr;
use std::time::Instant;

use pureftpd_proto::{Command, Reply};

use super::{LoggedIn, Outcome, Session, State};
use crate::log::Level;
use crate::messages as msg;

impl Session<'_> {
    /// NOOP-like commands do not count as activity: after twice the idle time of only
    /// those, the next one ends the session.
    fn idle_command(&mut self) -> Option<Outcome> {
        let since = *self.idle_commands_since.get_or_insert_with(Instant::now);
        let limit = self.idle * 2;
        (since.elapsed() > limit)
            .then(|| Outcome::Close(Reply::new(421, msg::noop_timeout(limit.as_secs()))))
    }

    pub(super) fn dispatch(&mut self, command: Command) -> Outcome {
        if let Some(timeout) = self.idle_check(&command) {
            return timeout;
        }
        let logged_in = matches!(self.state, State::LoggedIn(_));
        if !logged_in && !command.allowed_before_login() {
            return Reply::new(530, msg::NOT_LOGGED_IN).into();
        }
        if let Some(refusal) = self.tls_policy(&command) {
            return refusal;
        }
        // A RNFR is forgotten by any other command than RNTO.
        if !matches!(command, Command::Rnto(_) | Command::Rnfr(_)) {
            self.rename_from = None;
        }
        if command.allowed_before_login() {
            return self.dispatch_any(command);
        }
        self.with_login(|session, logged| session.dispatch_logged_in(logged, command))
            .unwrap_or_else(|| Reply::new(530, msg::NOT_LOGGED_IN).into())
    }

    /// `-I` also ends sessions that only send commands which do nothing (NOOP and the
    /// like) for twice the idle time.
    fn idle_check(&mut self, command: &Command) -> Option<Outcome> {
        let idle_like = matches!(
            command,
            Command::Noop
                | Command::Syst
                | Command::Type(_)
                | Command::Mode(_)
                | Command::Cwd(_)
                | Command::Pwd
                | Command::Rest(_)
                | Command::Feat
                | Command::Opts(_)
                | Command::Stru(_)
        );
        if idle_like {
            return self.idle_command();
        }
        self.idle_commands_since = None;
        None
    }

    /// The commands that need no login (they may come after it too).
    fn dispatch_any(&mut self, command: Command) -> Outcome {
        match command {
            Command::User(name) => self.user(&name),
            Command::Pass(password) => self.pass(password),
            Command::Acct => Reply::new(202, msg::WHO_ARE_YOU).into(),
            Command::Quit => {
                // As Pure-FTPd: the log says Logout before the reply goes.
                self.log_logout();
                Outcome::Close(
                    Reply::new(221, msg::goodbye(self.uploaded, self.downloaded)).line(msg::LOGOUT),
                )
            }
            Command::Noop => Reply::new(200, msg::NOOP).into(),
            Command::Syst => Reply::new(215, msg::SYST).into(),
            Command::Type(code) => self.type_(code),
            Command::Mode(arg) => Self::mode(&arg),
            Command::Stru(arg) => Self::stru(&arg),
            Command::Feat => self.feat(),
            Command::Opts(arg) => Self::opts(&arg),
            Command::Help => Self::site_help(),
            Command::Auth(mechanism) => self.auth(&mechanism),
            Command::Adat => Reply::new(500, msg::AUTH_UNIMPLEMENTED).into(),
            Command::Pbsz => {
                Reply::new(if self.control.is_tls() { 200 } else { 503 }, msg::PBSZ).into()
            }
            Command::Prot(level) => self.prot(&level),
            Command::Ccc => self.ccc(),
            Command::Http(verb) => {
                self.log.log(
                    Level::Info,
                    &format!("HTTP command: [{}]", String::from_utf8_lossy(&verb)),
                );
                Outcome::Close(Reply::new(500, msg::http_command(&verb)))
            }
            // `dispatch` routes the others to `dispatch_logged_in`.
            _ => Reply::new(530, msg::NOT_LOGGED_IN).into(),
        }
    }

    /// The commands of a logged-in session: `logged` is the login itself, taken out of
    /// the session's state while the handler runs.
    fn dispatch_logged_in(&mut self, logged: &mut LoggedIn, command: Command) -> Outcome {
        match command {
            Command::Unknown(_) => Reply::new(500, msg::UNKNOWN_COMMAND).into(),
            Command::Cwd(dir) => self.cwd(logged, &dir),
            Command::Cdup => self.cwd(logged, b".."),
            Command::Pwd => self.pwd(logged),
            Command::Port(target) => self.port(logged, target.map(SocketAddr::V4)),
            Command::Eprt(target) => self.port(logged, target),
            Command::Pasv => self.pasv(false),
            Command::Epsv(arg) => self.epsv(&arg),
            Command::Esta => self.esta(logged),
            Command::Estp => self.estp(logged),
            Command::Pret(arg) => self.pret(logged, &arg),
            Command::Allo(arg) => self.allo(logged, &arg),
            Command::Rest(restart) => self.rest(restart),
            Command::Retr(name) => self.retr(logged, &name),
            Command::Stor(name) => self.stor(logged, &name, false),
            Command::Appe(name) => self.stor(logged, &name, true),
            Command::Stou => self.stou(logged),
            Command::Dele(name) => self.dele(logged, &name),
            Command::Rmd(name) => self.rmd(logged, &name),
            Command::Mkd(name) => self.mkd(logged, &name),
            Command::Rnfr(name) => self.rnfr(logged, &name),
            Command::Rnto(name) => self.rnto(logged, &name),
            Command::Abor => Reply::new(226, msg::ABOR_OK).into(),
            Command::List(arg) => self.list(logged, &arg),
            Command::Nlst(arg) => self.nlst(logged, &arg),
            Command::Mlsd(arg) => self.mlsd(logged, &arg),
            Command::Mlst(arg) => self.mlst(logged, &arg),
            Command::Stat(arg) => self.stat(logged, &arg),
            Command::Size(name) => self.size(logged, &name),
            Command::Mdtm(name) => self.mdtm(logged, &name),
            Command::Mfmt(arg) => self.mfmt(logged, &arg),
            Command::Site(site) => self.site(logged, site),
            // `dispatch` serves those that need no login itself (they read the state).
            _ => Reply::new(500, msg::UNKNOWN_COMMAND).into(),
        }
    }

    /// Runs `handler` with the login taken out of the session's state, so that both
    /// can be borrowed at once; `None` before login. Nothing in the session reads the
    /// state for the login while a handler runs: handlers get it as an argument.
    pub(crate) fn with_login<R>(
        &mut self,
        handler: impl FnOnce(&mut Self, &mut LoggedIn) -> R,
    ) -> Option<R> {
        let mut logged = match std::mem::replace(&mut self.state, State::AwaitUser) {
            State::LoggedIn(logged) => logged,
            other => {
                self.state = other;
                return None;
            }
        };
        let result = handler(self, &mut logged);
        self.state = State::LoggedIn(logged);
        Some(result)
    }
}
