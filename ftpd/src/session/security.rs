//! FTPS commands and the `-Y` levels: AUTH TLS, PBSZ, PROT, CCC.
//!
//! `-Y 1`: TLS is offered. `-Y 2`: USER is refused on a clear control connection.
//! `-Y 3`: also, no data connection (transfers and listings) without PROT P.

use pureftpd_proto::{Command, Reply};

use super::{Outcome, Session, State};
use crate::messages as msg;

impl Session<'_> {
    pub(super) fn auth(&mut self, mechanism: &[u8]) -> Outcome {
        let tls_or_ssl =
            mechanism.eq_ignore_ascii_case(b"TLS") || mechanism.eq_ignore_ascii_case(b"SSL");
        let offered = self.tls.is_some() && self.config.tls > 0;
        if !offered || !tls_or_ssl {
            return Reply::new(500, msg::AUTH_UNIMPLEMENTED).into();
        }
        let text = if mechanism.eq_ignore_ascii_case(b"SSL") {
            msg::AUTH_SSL_OK
        } else {
            msg::AUTH_TLS_OK
        };
        if self.control.is_tls() {
            // Pure-FTPd acknowledges a repeated AUTH and stays on the session it has: a
            // second handshake inside the first would be a renegotiation, which we refuse.
            return Reply::new(234, text).into();
        }
        if matches!(self.state, State::LoggedIn(_)) {
            return Reply::new(500, msg::AUTH_UNIMPLEMENTED).into();
        }
        Outcome::StartTls(Reply::new(234, text))
    }

    pub(super) fn prot(&mut self, level: &[u8]) -> Outcome {
        if !self.control.is_tls() {
            return Reply::new(503, msg::PROT_BEFORE_PBSZ).into();
        }
        let (private, reply) = match level {
            b"" => (false, Reply::new(503, msg::MISSING_ARGUMENT)),
            b"C" => (
                false,
                Reply::new(200, "Data protection level set to \"clear\""),
            ),
            b"P" => (
                true,
                Reply::new(200, "Data protection level set to \"private\""),
            ),
            b"S" | b"E" => (
                true,
                Reply::new(
                    200,
                    [
                        &b"Protection level "[..],
                        level,
                        b" not understood. Fallback to \"private\"",
                    ]
                    .concat(),
                ),
            ),
            _ => (false, Reply::new(534, msg::PROT_FALLBACK)),
        };
        self.private_data = private;
        reply.into()
    }

    pub(super) fn ccc(&mut self) -> Outcome {
        if !self.control.is_tls() || !matches!(self.state, State::LoggedIn(_)) {
            return Reply::new(534, msg::CCC_REFUSED).into();
        }
        Outcome::StopTls(Reply::new(200, msg::CCC_OK))
    }

    /// What `-Y 2` and `-Y 3` refuse on this connection.
    pub(super) fn tls_policy(&self, command: &Command) -> Option<Outcome> {
        if self.config.tls >= 2 && !self.control.is_tls() && matches!(command, Command::User(_)) {
            return Some(Self::multi_line(421, msg::TLS_NEEDED).into());
        }
        let uses_data = matches!(
            command,
            Command::Retr(_)
                | Command::Stor(_)
                | Command::Appe(_)
                | Command::Stou
                | Command::List(_)
                | Command::Nlst(_)
                | Command::Mlsd(_)
                | Command::Mlst(_)
        );
        (self.config.tls == 3 && uses_data && !self.private_data)
            .then(|| Reply::new(521, msg::PROT_PRIVATE_NEEDED).into())
    }
}
