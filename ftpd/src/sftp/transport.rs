//! The pre-login process's work: the whole SSH connection (russh), unprivileged. It
//! knows no account: a password goes to the monitor, which answers; so does a public
//! key, which the monitor looks up in the admin's key directory (`user_keys.rs`) while
//! russh, here, checks the client's signature with it. After a login it
//! relays the one `sftp` subsystem channel it allows to the account's process, whose
//! SFTP server reads the clear bytes from a socket pair. It refuses everything else an
//! SSH server might do: shells, commands, terminals, environment, agent and X11
//! forwarding, TCP and socket forwarding, a second session channel.
//!
//! (rustls' situation again: an SSH session cannot move to another process, so the
//! process that did the key exchange stays the connection's endpoint, as pure-ftpd's
//! pre-login process stays a TLS connection's.)

use std::collections::HashMap;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{Algorithm, PublicKey};
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId};

use super::protocol::{Answer, MAX_KEY, MAX_LOGIN, MAX_PASSWORD, Request};
use crate::privsep::Channel as MonitorChannel;

/// The longest the monitor may take over a login: its failure delay grows to about 20 s.
const MONITOR_PATIENCE: Duration = Duration::from_secs(60);

/// Copy buffers of the relay, each way (an SFTP write request is up to 256 KiB).
const RELAY_BUFFER: usize = 256 * 1024;

/// Runs the SSH connection until it ends; returns the exit status.
pub(crate) fn serve(
    stream: TcpStream,
    ssh: Arc<russh::server::Config>,
    monitor: MonitorChannel,
    pipe: UnixStream,
) -> i32 {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return 1;
    };
    runtime.block_on(async move {
        if stream.set_nonblocking(true).is_err() {
            return 1;
        }
        let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
            return 1;
        };
        let handler = Transport {
            monitor,
            pipe: Some(pipe),
            sessions: HashMap::new(),
            over_session_limit: None,
        };
        match russh::server::run_stream(ssh, stream, handler).await {
            Ok(running) => i32::from(running.await.is_err()),
            Err(_) => 1,
        }
    })
}

struct Transport {
    monitor: MonitorChannel,
    /// To the account's process; taken by the `sftp` subsystem.
    pipe: Option<UnixStream>,
    /// The session channel, until it asks for its subsystem.
    sessions: HashMap<ChannelId, Channel<Msg>>,
    /// The login was right but the account is at its `-y` limit (this one): the client
    /// is told so once authenticated, and disconnected.
    over_session_limit: Option<u32>,
}

impl Transport {
    /// Asks the monitor (blocking: this process serves one connection, and nothing
    /// else may happen on it while a login is checked).
    fn ask(&self, request: &Request) -> Option<Answer> {
        self.monitor.send(&request.encode()).ok()?;
        let reply = self.monitor.receive(Some(MONITOR_PATIENCE)).ok()??;
        Answer::decode(&reply).ok()
    }

    /// What a login request gets from the monitor's answer.
    fn login_answer(&mut self, answer: Option<Answer>) -> Result<Auth, russh::Error> {
        match answer {
            Some(Answer::Accepted) => Ok(Auth::Accept),
            Some(Answer::Refused) => Ok(Auth::reject()),
            // As pure-ftpd's 421 after the password: the client learns why. SSH has no
            // refusal with words during authentication, so the connection is
            // accepted and then ended with them (`auth_succeeded`); the account's
            // process was never started, and without it no channel opens.
            Some(Answer::OverSessionLimit(limit)) => {
                self.pipe = None;
                self.over_session_limit = Some(limit);
                Ok(Auth::Accept)
            }
            _ => Err(russh::Error::Disconnect),
        }
    }
}

impl russh::server::Handler for Transport {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::reject())
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        let Some(key) = acceptable_key(offer.public_key, offer.algorithm) else {
            return Ok(Auth::reject());
        };
        let request = Request::KeyOffered {
            user: login_field(user),
            key,
        };
        match self.ask(&request) {
            Some(Answer::Acceptable) => Ok(Auth::Accept),
            Some(Answer::Refused) => Ok(Auth::reject()),
            _ => Err(russh::Error::Disconnect),
        }
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        verified: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let Some(key) = acceptable_key(verified.public_key, verified.algorithm) else {
            return Ok(Auth::reject());
        };
        let request = Request::KeyLogin {
            user: login_field(user),
            key,
        };
        let answer = self.ask(&request);
        self.login_answer(answer)
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if password.len() > MAX_PASSWORD {
            return Ok(Auth::reject());
        }
        let request = Request::Login {
            user: login_field(user),
            password: password.as_bytes().to_vec(),
        };
        let answer = self.ask(&request);
        self.login_answer(answer)
    }

    async fn auth_succeeded(&mut self, session: &mut Session) -> Result<(), Self::Error> {
        if let Some(limit) = self.over_session_limit {
            session.disconnect(
                russh::Disconnect::TooManyConnections,
                &crate::messages::per_user_limit(limit),
                "",
            )?;
        }
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // One session channel per connection: it carries the one SFTP session.
        if self.sessions.is_empty() && self.pipe.is_some() {
            self.sessions.insert(channel.id(), channel);
            reply.accept().await;
        }
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let ready = name == "sftp" && self.pipe.is_some() && self.sessions.contains_key(&channel);
        let (Some(pipe), Some(open)) = (
            self.pipe.take().filter(|_| ready),
            self.sessions.remove(&channel).filter(|_| ready),
        ) else {
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        tokio::spawn(relay(open, pipe, session.handle(), channel));
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }
}

/// The login as the monitor takes it (longer ones are cut, as pure-ftpd's `USER`).
fn login_field(user: &str) -> Vec<u8> {
    let user = user.as_bytes();
    user[..user.len().min(MAX_LOGIN)].to_vec()
}

/// The key's wire encoding, unless its algorithm is one pure-sftpd refuses: `ssh-rsa`
/// signatures (SHA-1) and DSA, which OpenSSH has turned off too.
fn acceptable_key(key: &PublicKey, algorithm: &Algorithm) -> Option<Vec<u8>> {
    if matches!(algorithm, Algorithm::Dsa | Algorithm::Rsa { hash: None }) {
        return None;
    }
    key.to_bytes().ok().filter(|blob| blob.len() <= MAX_KEY)
}

/// Carries the SFTP bytes between the client's channel and the account's process until
/// either side ends, then ends the channel.
async fn relay(
    channel: Channel<Msg>,
    pipe: UnixStream,
    handle: russh::server::Handle,
    id: ChannelId,
) {
    if pipe.set_nonblocking(true).is_err() {
        return;
    }
    let Ok(mut pipe) = tokio::net::UnixStream::from_std(pipe) else {
        return;
    };
    let mut stream = channel.into_stream();
    let _ = tokio::io::copy_bidirectional_with_sizes(
        &mut stream,
        &mut pipe,
        RELAY_BUFFER,
        RELAY_BUFFER,
    )
    .await;
    let _ = handle.exit_status_request(id, 0).await;
    let _ = handle.eof(id).await;
    let _ = handle.close(id).await;
}
