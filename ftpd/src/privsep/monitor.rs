//! The monitor: the session's root process while the pre-login process talks to the
//! client. It reads one request at a time ([`super::rules`] say which may come), runs
//! USER and PASS with the session's own login code, asks pure-certd, and once a login
//! is accepted and handed over, serves the session as the account.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use pureftpd_proto::Reply;

use super::protocol::{self, Answer, Request};
use super::rules::{Rules, Step};
use super::{Ends, Relayed};
use crate::log::Level;
use crate::session::{Outcome, Session, State};

/// How long the pre-login process may take to leave after the session is over.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// What the pre-login process hands over with an accepted login.
struct Handover {
    pending: Vec<u8>,
    binary: bool,
    private_data: bool,
    idle_commands_for: Option<u32>,
    /// Whether the pre-login process stays as the TLS relay.
    encrypted: bool,
    /// The login's 230 reply, sent once the account's process has the connection.
    welcome: Reply,
}

/// Serves the session from the monitor's side until it ends; `preauth` is the pre-login
/// process.
pub(crate) fn serve(session: &mut Session<'_>, ends: Ends, preauth: Pid) {
    let Some(handover) = converse(session, &ends) else {
        drop(ends);
        reap(preauth, EXIT_GRACE);
        return;
    };
    session.binary = handover.binary;
    session.private_data = handover.private_data;
    session.idle_commands_since = handover
        .idle_commands_for
        .and_then(|ms| Instant::now().checked_sub(Duration::from_millis(u64::from(ms))));
    session.control.push_unparsed(&handover.pending);
    let server_name = session.tls_elsewhere.take().flatten();
    // From here the account's process has nothing to learn from its children's exit
    // statuses: the pre-login process (gone in clear, the relay under TLS until the
    // end or `CCC`) and a port-20 helper are reaped by the kernel as they end, so that
    // none waits in `ps` as a zombie while the session sits idle.
    let reaped_by_kernel = pureftpd_os::reap_children_automatically().is_ok();
    if handover.encrypted {
        session.control.relay_through(Relayed {
            pipe: ends.pipe,
            channel: ends.channel,
            server_name,
        });
    } else {
        // The socket is the account's alone from now on: the pre-login process closes
        // its end of the channel after the handover, then exits (this process, the
        // account now, may not signal it; should it linger, it dies with this process:
        // see `split`).
        let _ = ends.channel.receive(Some(EXIT_GRACE));
        drop(ends);
    }
    // It may have become a zombie before the kernel took over its reaping.
    let _ = waitpid(preauth, Some(WaitPidFlag::WNOHANG));
    if session.send_reply(&handover.welcome).is_ok() {
        session.serve();
    }
    session.log_logout();
    // Ends the relay, if any: it sees the pipe close.
    session.control.end_relay();
    if handover.encrypted || !reaped_by_kernel {
        reap(preauth, EXIT_GRACE);
    }
}

/// Answers the pre-login process until it hands over an accepted login (`Some`) or the
/// session ends before (`None`: QUIT, a time-out, the client gone, a refusal that
/// closes, or a pre-login process that is not behaving).
fn converse(session: &mut Session<'_>, ends: &Ends) -> Option<Handover> {
    let certificates = session.config.ext_cert.is_some() && session.tls.is_some();
    let mut rules = Rules::new(certificates);
    let mut welcome = None;
    loop {
        // None: the pre-login process ended the session itself.
        let message = ends.channel.receive(None).ok()??;
        let request = match Request::decode(&message) {
            Ok(request) => request,
            Err(e) => {
                session.log.log(
                    Level::Error,
                    &format!("The pre-login process sent a malformed message: {e}"),
                );
                return None;
            }
        };
        let step = rules.step(request);
        if let Some(end) = handle(session, &mut rules, ends, step, &mut welcome) {
            return end;
        }
        if rules.is_closed() && welcome.is_none() {
            // A refusal that closes the session: the pre-login process sends it and
            // ends.
            return None;
        }
    }
}

/// Does one step; `Some` when the conversation is over (with the handover, if any).
fn handle(
    session: &mut Session<'_>,
    rules: &mut Rules,
    ends: &Ends,
    step: Step,
    welcome: &mut Option<Reply>,
) -> Option<Option<Handover>> {
    match step {
        Step::User(name) => {
            let outcome = session.user(&name);
            answer(session, rules, ends, outcome, welcome);
        }
        Step::Pass {
            password,
            server_name,
        } => {
            if session.tls_elsewhere.is_some() {
                session.tls_elsewhere = Some(server_name);
            }
            let outcome = session.pass(password);
            answer(session, rules, ends, outcome, welcome);
        }
        Step::Certificate(name) => {
            let answer = certificate(session, &name);
            let _ = ends.channel.send(&answer.encode());
        }
        Step::Encrypted => {
            session.tls_elsewhere = Some(None);
            if let Some(board) = &mut session.scoreboard {
                board.set_encrypted(true);
            }
        }
        Step::EnterAccount {
            pending,
            binary,
            private_data,
            idle_commands_for,
            encrypted,
        } => {
            return Some(welcome.take().map(|welcome| Handover {
                pending,
                binary,
                private_data,
                idle_commands_for,
                encrypted,
                welcome,
            }));
        }
        Step::Abort(why) => {
            session.log.log(
                Level::Error,
                &format!("The pre-login process is not behaving ({why}): session ended"),
            );
            return Some(None);
        }
    }
    None
}

/// The answer to a USER or PASS, from what the login code made of it.
fn answer(
    session: &Session<'_>,
    rules: &mut Rules,
    ends: &Ends,
    outcome: Outcome,
    welcome: &mut Option<Reply>,
) {
    let logged_in = matches!(session.state, State::LoggedIn(_));
    let message = match outcome {
        Outcome::Reply(reply) if logged_in => {
            rules.accepted();
            *welcome = Some(reply);
            Answer::Accepted
        }
        Outcome::Reply(reply) => reply_answer(&reply, false),
        Outcome::Close(reply) => {
            rules.close();
            reply_answer(&reply, true)
        }
        _ => {
            rules.close();
            reply_answer(&Reply::new(421, "Internal error"), true)
        }
    };
    let _ = ends.channel.send(&message.encode());
}

fn reply_answer(reply: &Reply, close: bool) -> Answer {
    Answer::Reply {
        code: reply.code(),
        lines: reply
            .lines()
            .iter()
            .take(protocol::MAX_REPLY_LINES)
            .map(|line| line[..line.len().min(protocol::MAX_REPLY_LINE)].to_vec())
            .collect(),
        close,
    }
}

/// pure-certd's choice for a server name: the session keeps it for its data
/// connections, and the pre-login process gets the files' content.
fn certificate(session: &mut Session<'_>, name: &str) -> Answer {
    let (Some(socket), Some(base)) = (session.config.ext_cert.clone(), session.tls.clone()) else {
        return Answer::Refused {
            reason: "no certificate handler".to_string(),
        };
    };
    let choice = match crate::certd::choose(&socket, name, &base) {
        Ok(choice) => choice,
        Err(refusal) => return Answer::Refused { reason: refusal.0 },
    };
    if let Some(note) = &choice.note {
        session.log.log(Level::Debug, note);
    }
    session.tls = Some(choice.config);
    let Some(files) = choice.files else {
        return Answer::DefaultCertificate;
    };
    match crate::certd::read_pem_files(&files, protocol::MAX_PEM) {
        Ok((chain, key)) => Answer::Certificate { chain, key },
        Err(reason) => Answer::Refused { reason },
    }
}

/// Waits for the pre-login process to end (at most `grace`), then kills it if this
/// process still may (before login it is root; after, the pre-login process dies with
/// this one, by its parent-death signal).
fn reap(preauth: Pid, grace: Duration) {
    let deadline = Instant::now() + grace;
    loop {
        match waitpid(preauth, Some(WaitPidFlag::WNOHANG)) {
            Ok(nix::sys::wait::WaitStatus::StillAlive) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(nix::sys::wait::WaitStatus::StillAlive) => {
                if kill(preauth, Signal::SIGKILL).is_ok() {
                    let _ = waitpid(preauth, None);
                }
                return;
            }
            _ => return,
        }
    }
}
