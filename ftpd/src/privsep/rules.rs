//! The monitor's rules for what the pre-login process asks: the monitor trusts nothing
//! it is told beyond the message's own checks ([`super::protocol`]) and keeps the state
//! itself. One request is answered before the next is read, so there is one login at a
//! time; a handover comes only after an accepted login; a certificate is asked only
//! before the handshake is over, and only with `-3`; anything out of turn ends the
//! session. (The failure delays and the retry limit are the login code's own, which
//! runs in the monitor: see `session/login.rs`.)

use super::protocol::Request;

/// Where the session is, as the monitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before login; whether the control connection is under TLS.
    Open { encrypted: bool },
    /// A login was accepted: only the handover may come.
    Accepted { encrypted: bool },
    /// Over: nothing more is read.
    Closed,
}

/// What the monitor does about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Run USER.
    User(Vec<u8>),
    /// Run PASS.
    Pass {
        password: Vec<u8>,
        server_name: Option<String>,
    },
    /// Ask pure-certd for this name's certificate.
    Certificate(String),
    /// The control connection is under TLS now (for the scoreboard).
    Encrypted,
    /// Go on as the account with this state from the pre-login process.
    EnterAccount {
        pending: Vec<u8>,
        binary: bool,
        private_data: bool,
        idle_commands_for: Option<u32>,
        /// Whether the pre-login process stays as the TLS relay.
        encrypted: bool,
    },
    /// A request out of turn: the pre-login process is not behaving; end the session.
    Abort(&'static str),
}

/// The monitor's state for one session.
#[derive(Debug)]
pub struct Rules {
    phase: Phase,
    /// `-3`: certificates may be asked.
    certd: bool,
    /// One was asked already (there is one handshake before login).
    certificate_asked: bool,
}

impl Rules {
    /// `certificates`: whether `-3` (pure-certd) is on.
    #[must_use]
    pub fn new(certificates: bool) -> Self {
        Self {
            phase: Phase::Open { encrypted: false },
            certd: certificates,
            certificate_asked: false,
        }
    }

    fn abort(&mut self, why: &'static str) -> Step {
        self.phase = Phase::Closed;
        Step::Abort(why)
    }

    /// The step for a request (already decoded).
    pub fn step(&mut self, request: Request) -> Step {
        match (self.phase, request) {
            (Phase::Open { .. }, Request::User { name }) => Step::User(name),
            (
                Phase::Open { encrypted },
                Request::Pass {
                    password,
                    encrypted: claimed,
                    server_name,
                },
            ) => {
                if claimed != encrypted || (server_name.is_some() && !encrypted) {
                    return self.abort("a login that misstates the connection's encryption");
                }
                Step::Pass {
                    password,
                    server_name,
                }
            }
            (Phase::Open { encrypted: false }, Request::ServerName { name }) => {
                if !self.certd {
                    return self.abort("a certificate asked without -3");
                }
                if self.certificate_asked {
                    return self.abort("a second certificate asked before login");
                }
                self.certificate_asked = true;
                Step::Certificate(name)
            }
            (Phase::Open { encrypted: false }, Request::Encrypted { on: true }) => {
                self.phase = Phase::Open { encrypted: true };
                Step::Encrypted
            }
            (
                Phase::Accepted { encrypted },
                Request::Handover {
                    pending,
                    binary,
                    private_data,
                    idle_commands_for,
                },
            ) => {
                self.phase = Phase::Closed;
                Step::EnterAccount {
                    pending,
                    binary,
                    private_data,
                    idle_commands_for,
                    encrypted,
                }
            }
            (Phase::Open { .. }, Request::Handover { .. }) => {
                self.abort("a handover before any accepted login")
            }
            (Phase::Accepted { .. }, _) => self.abort("a request after an accepted login"),
            (Phase::Closed, _) => self.abort("a request after the end"),
            (Phase::Open { .. }, _) => self.abort("a request out of turn before login"),
        }
    }

    /// The login of the last USER or PASS was accepted.
    pub fn accepted(&mut self) {
        if let Phase::Open { encrypted } = self.phase {
            self.phase = Phase::Accepted { encrypted };
        }
    }

    /// The session ends (a refusal that closes it).
    pub fn close(&mut self) {
        self.phase = Phase::Closed;
    }

    /// Whether the session is over.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(encrypted: bool) -> Request {
        Request::Pass {
            password: b"pw".to_vec(),
            encrypted,
            server_name: None,
        }
    }

    fn handover() -> Request {
        Request::Handover {
            pending: b"PWD\r\n".to_vec(),
            binary: true,
            private_data: false,
            idle_commands_for: None,
        }
    }

    #[test]
    fn a_login_then_the_handover() {
        let mut rules = Rules::new(false);
        assert_eq!(
            rules.step(Request::User {
                name: b"joe".to_vec()
            }),
            Step::User(b"joe".to_vec())
        );
        assert!(matches!(rules.step(pass(false)), Step::Pass { .. }));
        rules.accepted();
        assert!(matches!(
            rules.step(handover()),
            Step::EnterAccount {
                encrypted: false,
                ..
            }
        ));
        assert!(rules.is_closed());
        assert!(matches!(rules.step(pass(false)), Step::Abort(_)));
    }

    #[test]
    fn nothing_out_of_turn() {
        let mut rules = Rules::new(false);
        assert_eq!(
            rules.step(handover()),
            Step::Abort("a handover before any accepted login")
        );
        assert!(
            matches!(rules.step(pass(false)), Step::Abort(_)),
            "closed for good"
        );

        let mut rules = Rules::new(false);
        rules.step(pass(false));
        rules.accepted();
        assert!(matches!(rules.step(pass(false)), Step::Abort(_)));

        let mut rules = Rules::new(false);
        assert!(matches!(
            rules.step(Request::ServerName {
                name: "a.example".into()
            }),
            Step::Abort("a certificate asked without -3")
        ));

        let mut rules = Rules::new(false);
        assert!(matches!(rules.step(Request::TlsStopped), Step::Abort(_)));
    }

    #[test]
    fn encryption_is_what_the_monitor_was_told_first() {
        let mut rules = Rules::new(true);
        assert!(matches!(rules.step(pass(true)), Step::Abort(_)));

        let mut rules = Rules::new(true);
        assert_eq!(
            rules.step(Request::ServerName {
                name: "a.example".into()
            }),
            Step::Certificate("a.example".into())
        );
        assert_eq!(rules.step(Request::Encrypted { on: true }), Step::Encrypted);
        let mut twice = Rules::new(true);
        twice.step(Request::ServerName {
            name: "a.example".into(),
        });
        assert_eq!(
            twice.step(Request::ServerName {
                name: "a.example".into()
            }),
            Step::Abort("a second certificate asked before login")
        );
        // Once under TLS: no second handshake's certificate, no clear text again.
        assert!(matches!(
            rules.step(Request::ServerName {
                name: "b.example".into()
            }),
            Step::Abort(_)
        ));
        let mut rules = Rules::new(true);
        rules.step(Request::Encrypted { on: true });
        assert!(matches!(
            rules.step(Request::Encrypted { on: false }),
            Step::Abort(_)
        ));
        let mut rules = Rules::new(true);
        rules.step(Request::Encrypted { on: true });
        assert!(matches!(rules.step(pass(false)), Step::Abort(_)));
        let mut rules = Rules::new(true);
        rules.step(Request::Encrypted { on: true });
        assert!(matches!(rules.step(pass(true)), Step::Pass { .. }));
        rules.accepted();
        assert!(matches!(
            rules.step(handover()),
            Step::EnterAccount {
                encrypted: true,
                ..
            }
        ));
    }
}
