//! One SFTP connection, forked by the master: it splits at once into the pre-login
//! process, which runs SSH (`transport.rs`), and the monitor (`monitor.rs`), which stays
//! root until a login succeeds and then becomes the account's process (`account.rs`).
//!
//! The pre-login process confines itself as pure-ftpd's does (`privsep`): an empty,
//! removed directory as its root, `nobody`, no groups, `no_new_privs`, not dumpable, only
//! its own descriptors, killed if the monitor dies. Not started as root, nothing is
//! confined (there is no privilege to separate), but the processes are the same.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use nix::unistd::ForkResult;

use super::monitor::Monitor;
use super::transport;
use crate::config::Config;
use crate::log::{Level, Logger};
use crate::privsep::{Channel, preauth};
use crate::scoreboard::Scoreboard;

/// Serves one connection; returns when it is over.
pub fn run(
    stream: TcpStream,
    peer: SocketAddr,
    config: &Config,
    server: &super::Server,
    board: Option<Scoreboard>,
) {
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let mut log = Logger::new(
        config.syslog_facility,
        config.log_pid,
        config.verbose,
        crate::time_zone::local(),
    )
    .named("pure-sftpd");
    log.host = crate::session::host_name(peer, config.dont_resolve);
    log.log(Level::Info, &format!("New connection from {}", log.host));
    let connected_at = jiff::Timestamp::now().as_second();
    let (Ok((monitor_channel, preauth_channel)), Ok((account_pipe, preauth_pipe))) =
        (Channel::pair(), UnixStream::pair())
    else {
        log.log(
            Level::Error,
            "Unable to make the pre-login process's channels",
        );
        return;
    };
    let confinement = if crate::privsep::wanted() {
        match crate::privsep::sandbox().and_then(|s| Ok((s, preauth::take_root()?))) {
            Ok(confinement) => Some(confinement),
            Err(e) => {
                log.log(Level::Error, &format!("Unable to separate privileges: {e}"));
                return;
            }
        }
    } else {
        None
    };
    let monitor = nix::unistd::getpid();
    match pureftpd_os::fork() {
        Ok(ForkResult::Child) => {
            drop((monitor_channel, account_pipe, board));
            // The upload pipe is the account's process's.
            crate::upload_pipe::close();
            if let Some((sandbox, root)) = confinement {
                let keep = [
                    stream.as_raw_fd(),
                    preauth_channel.as_fd_raw(),
                    preauth_pipe.as_raw_fd(),
                ];
                sandbox.confine_for_good(&keep, root, monitor, &log);
            }
            let code = transport::serve(
                stream,
                Arc::clone(&server.ssh),
                preauth_channel,
                preauth_pipe,
            );
            pureftpd_os::end_child(code);
        }
        Ok(ForkResult::Parent { child }) => {
            drop((stream, preauth_channel, preauth_pipe, confinement));
            // Opened now, as root, for the account's process (as pure-ftpd's sessions).
            let alt_log = config.alt_log.as_ref().and_then(|spec| {
                crate::altlog::AltLog::open(spec, crate::time_zone::local())
                    .map_err(|e| {
                        log.log(
                            Level::Error,
                            &format!("Unable to open the log {}: {e}", spec.path.display()),
                        );
                    })
                    .ok()
            });
            Monitor {
                alt_log,
                connected_at,
                config,
                user_keys: &server.user_keys,
                log,
                board,
                peer,
                local,
                channel: monitor_channel,
                pipe: account_pipe,
                preauth: child,
                failures: 0,
            }
            .serve();
        }
        Err(e) => log.log(Level::Error, &format!("Unable to fork: {e}")),
    }
}
