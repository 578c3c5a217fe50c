//! The pre-login process: its confinement ([`Sandbox`]) and what it asks the monitor.
//!
//! Before it reads a byte from the client, the process goes where nothing can be
//! reached and becomes someone who owns nothing: its root is an empty directory that
//! was removed as soon as it was made, kept only by a descriptor (nothing can ever be
//! created in a removed directory, not even by root, and nothing is left behind), no supplementary groups, the real, effective and saved ids of `nobody` (and
//! `nogroup`), `no_new_privs`, and not dumpable (the account's own processes cannot
//! trace it). Whatever it then runs on hostile bytes (the command parser, the TLS
//! handshake) has no file, no id and no capability to abuse. It keeps the client's
//! socket, the channel and the pipe to the monitor, and the syslog socket, nothing else.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use nix::fcntl::OFlag;
use nix::unistd::{Gid, Group, Uid, User};
use pureftpd_proto::Reply;
use rustls::ServerConfig;

use super::Channel;
use super::protocol::{Answer, Request};

/// Who the pre-login process becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sandbox {
    pub uid: u32,
    pub gid: u32,
}

/// Where the removed directory is made (an unguessable name, mode 0700, by `mkdtemp`).
const SCRATCH: &str = "/tmp/pure-ftpd-prelogin.XXXXXX";

/// The removed directory: made once (by the master, before any session), taken by each
/// session as it splits.
static ROOT: std::sync::Mutex<Option<OwnedFd>> = std::sync::Mutex::new(None);

fn root() -> std::sync::MutexGuard<'static, Option<OwnedFd>> {
    ROOT.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Makes the removed directory, unless made already.
///
/// # Errors
/// It cannot be made, opened or removed.
pub fn prepare_root() -> io::Result<()> {
    let mut root = root();
    if root.is_none() {
        let dir = nix::unistd::mkdtemp(SCRATCH)?;
        let opened = nix::fcntl::open(
            &dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
            nix::sys::stat::Mode::empty(),
        );
        std::fs::remove_dir(&dir)?;
        *root = Some(opened?);
    }
    Ok(())
}

/// Takes this process's copy of the removed directory (a session, as it splits: the
/// pre-login process enters it, the monitor lets it go).
pub fn take_root() -> io::Result<OwnedFd> {
    prepare_root()?;
    root()
        .take()
        .ok_or_else(|| io::Error::other("no directory for the pre-login process"))
}

impl Sandbox {
    /// `nobody` and `nogroup` (or `nobody`), else 65534: read once, by the master, while
    /// the account databases are in reach.
    ///
    /// # Errors
    /// The account found is root.
    pub fn nobody() -> io::Result<Self> {
        let uid = User::from_name("nobody")
            .ok()
            .flatten()
            .map_or(65534, |u| u.uid.as_raw());
        let gid = Group::from_name("nogroup")
            .ok()
            .flatten()
            .or_else(|| Group::from_name("nobody").ok().flatten())
            .map_or(65534, |g| g.gid.as_raw());
        if uid == 0 || gid == 0 {
            return Err(io::Error::other(
                "the pre-login account (nobody/nogroup) must not be root",
            ));
        }
        Ok(Self { uid, gid })
    }

    /// In a freshly forked pre-login process (FTP's or SFTP's), before it reads a byte
    /// from the client: closes every descriptor but `keep` (and the syslog socket),
    /// enters the sandbox, and ties its life to the `monitor`'s; exits if any step
    /// fails, never going on half confined.
    pub(crate) fn confine_for_good(
        &self,
        keep: &[std::os::fd::RawFd],
        root: OwnedFd,
        monitor: nix::unistd::Pid,
        log: &crate::log::Logger,
    ) {
        use std::os::fd::AsRawFd;
        // Whatever else is open was inherited from whoever started the server.
        let mut keep = keep.to_vec();
        keep.push(root.as_raw_fd());
        keep.extend(log.socket_fd());
        pureftpd_os::close_descriptors_except_these(&keep);
        if let Err(e) = self.enter(root) {
            log.log(
                crate::log::Level::Error,
                &format!("Unable to confine the pre-login process: {e}"),
            );
            std::process::exit(1);
        }
        // Once the monitor is the account it may not signal this process: this process
        // dies with it instead. (Set after the id switch, which clears it; a monitor
        // gone already means the session is over.)
        let dies_with_monitor =
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).is_ok();
        if !dies_with_monitor || nix::unistd::getppid() != monitor {
            std::process::exit(1);
        }
    }

    /// Confines this process for good (as root; see the module's head).
    ///
    /// # Errors
    /// A step failed: the process must stop, never go on half confined.
    pub fn enter(&self, root: OwnedFd) -> io::Result<()> {
        nix::unistd::fchdir(&root)?;
        drop(root);
        nix::unistd::chroot(".")?;
        std::env::set_current_dir("/")?;
        let (uid, gid) = (Uid::from_raw(self.uid), Gid::from_raw(self.gid));
        nix::unistd::setgroups(&[])?;
        nix::unistd::setresgid(gid, gid, gid)?;
        nix::unistd::setresuid(uid, uid, uid)?;
        nix::sys::prctl::set_no_new_privs()?;
        nix::sys::prctl::set_dumpable(false)?;
        // Belt and braces: there must be no way back.
        if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
            return Err(io::Error::other("root could be regained after the switch"));
        }
        Ok(())
    }
}

/// The pre-login process's ends: the channel to the monitor, and the pipe for clear
/// text should it become the TLS relay.
#[derive(Debug)]
pub(crate) struct Gate {
    pub(crate) channel: Channel,
    pub(crate) pipe: UnixStream,
}

/// What the monitor said to a USER or PASS.
pub(crate) enum Verdict {
    /// Send this reply (and end the session if `close`).
    Reply(Reply, bool),
    /// The login is accepted: hand over.
    Accepted,
    /// The monitor is gone or made no sense: end without a word.
    Gone,
}

impl Gate {
    /// Asks the monitor about a USER or PASS.
    pub(crate) fn ask(&self, request: &Request) -> Verdict {
        match self.answer(request) {
            Some(Answer::Reply { code, lines, close }) => {
                let mut reply = Reply::empty(code);
                for line in lines {
                    reply.push(line);
                }
                Verdict::Reply(reply, close)
            }
            Some(Answer::Accepted) => Verdict::Accepted,
            _ => Verdict::Gone,
        }
    }

    /// The configuration for a handshake that asked for `name` (`-3`): the monitor asks
    /// pure-certd and reads the files; this process only parses what it is given.
    pub(crate) fn certificate(
        &self,
        name: &str,
        base: &Arc<ServerConfig>,
    ) -> Result<Arc<ServerConfig>, String> {
        match self.answer(&Request::ServerName {
            name: name.to_string(),
        }) {
            Some(Answer::DefaultCertificate) => Ok(base.clone()),
            Some(Answer::Certificate { chain, key }) => {
                crate::certd::config_from_pem(base, &chain, &key)
            }
            Some(Answer::Refused { reason }) => Err(reason),
            _ => Err("the session's monitor did not answer".to_string()),
        }
    }

    /// Tells the monitor something that needs no answer.
    pub(crate) fn tell(&self, request: &Request) -> io::Result<()> {
        self.channel.send(&request.encode())
    }

    fn answer(&self, request: &Request) -> Option<Answer> {
        self.channel.send(&request.encode()).ok()?;
        let message = self.channel.receive(None).ok()??;
        Answer::decode(&message).ok()
    }
}

impl crate::session::Session<'_> {
    /// Asks the monitor about a USER or PASS (the pre-login side of both).
    pub(crate) fn ask_monitor(&mut self, request: &Request) -> crate::session::Outcome {
        use crate::session::Outcome;
        let Some(gate) = &self.monitor else {
            return Outcome::End;
        };
        match gate.ask(request) {
            Verdict::Reply(reply, false) => Outcome::Reply(reply),
            Verdict::Reply(reply, true) => Outcome::Close(reply),
            Verdict::Accepted => Outcome::HandOver,
            Verdict::Gone => Outcome::End,
        }
    }

    /// PASS in the pre-login process: the monitor checks. A password longer than the
    /// longest goes as one byte too long, which it refuses as too long, in turn.
    pub(crate) fn forward_pass(&mut self, mut password: Vec<u8>) -> crate::session::Outcome {
        password.truncate(super::protocol::MAX_PASSWORD);
        let request = Request::Pass {
            password,
            encrypted: self.control.is_tls(),
            server_name: self.control.server_name(),
        };
        self.ask_monitor(&request)
    }

    /// The login is accepted: the monitor, now the account's process, gets what this
    /// process knows of the session; under TLS this process then relays until the end.
    pub(crate) fn hand_over(&mut self) {
        let Some(gate) = self.monitor.take() else {
            return;
        };
        // The account's process logs the end of the session.
        self.logged_out = true;
        let pending = self.control.take_unparsed();
        if pending.len() > super::protocol::MAX_PENDING {
            return;
        }
        let idle_commands_for = self
            .idle_commands_since
            .map(|since| u32::try_from(since.elapsed().as_millis()).unwrap_or(u32::MAX));
        let handover = Request::Handover {
            pending,
            binary: self.binary,
            private_data: self.private_data,
            idle_commands_for,
        };
        if gate.tell(&handover).is_ok() && self.control.is_tls() {
            super::relay::run(&mut self.control, gate);
        }
        // (In clear, dropping the gate closes the channel: the account's process goes on
        // at once, while this one exits.)
    }
}
