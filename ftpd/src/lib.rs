//! `pure-ftpd`: the FTP server.
//!
//! # Processes and privileges
//!
//! ```text
//!  master (root or you)            one process per session (forked)
//!  ─ binds, accepts ─────────────▶ session: parses commands (as root until login)
//!  ─ -c / -C limits                  USER/PASS → auth chain (puredb, unix, pam, extauth,
//!                                      mysql, pgsql, ldap, anonymous)
//!  ─ reaps, removes scoreboard       → chroot, setgroups, setgid, setuid (for good)
//!    files, stops on SIGTERM         → serves the account, confined to its root
//! ```
//!
//! The master never starts a thread, which keeps `fork` sound ([`pureftpd_os::fork`]).
//! A session is plain blocking code: `session/dispatch.rs` hands each command to its
//! handler (those that need a login receive it as an argument), and a transfer is a job
//! made by its command, moved by `session/transfer/engine.rs` and reported by
//! `session/transfer/report.rs`. Not started as root, sessions run as the invoking
//! user, confined to the account's home by the virtual chroot of [`vfs`].
//! If fd 0 is a socket (inetd, systemd socket activation), that one connection is
//! served.

pub mod altlog;
pub mod auth;
pub mod certd;
pub mod config;
pub mod listener;
pub mod log;
mod messages;
pub mod port20;
pub mod privilege;
pub mod proxy_protocol;
pub mod quota;
pub mod scoreboard;
mod send_deadline;
pub mod session;
mod time_zone;
pub mod tls;
pub mod tls_stream;
pub mod tls_tickets;
pub mod tls_upload;
pub mod upload_pipe;
pub mod vfs;

use std::io::{self, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;

use config::args::{self, Invocation};
use pureftpd_cli::Exit;

/// The version shown by `-h`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Exit status for a configuration error, as Pure-FTPd's.
const CONFIG_ERROR: i32 = 252;

/// Runs the server; returns the exit status.
pub fn main() -> i32 {
    let mut args = std::env::args_os();
    let program = args.next().map_or_else(
        || "pure-ftpd".to_string(),
        |p| p.to_string_lossy().into_owned(),
    );
    let config = match args::parse(&program, args.collect()) {
        Ok(Invocation::Serve(config)) => config,
        Ok(Invocation::Help) => {
            let as_root = nix::unistd::geteuid().is_root();
            return Exit::help(args::help_text(as_root)).report();
        }
        Err(e) => return configuration_error(&e).report(),
    };
    // The certificate is checked now, not at the first client.
    let tls = match tls::server_config(&config) {
        Ok(tls) => tls,
        Err(e) => return configuration_error(&e).report(),
    };
    if config.upload_script
        && let Err(e) = upload_pipe::open()
    {
        eprintln!(
            "pure-ftpd: -o: unable to open the upload pipe {}: {e}",
            pureftpd_bridge::upload::pipe_path().display()
        );
        return 1;
    }
    // Read once here, so that every session forked later inherits it.
    let _ = time_zone::local();
    // Modes of created files are exactly those asked for (-U applies on top).
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    match inetd_socket() {
        Some(stream) => listener::serve_inetd(&config, tls, stream),
        None => listener::run(&config, tls),
    }
}

/// Reports a configuration error as Pure-FTPd does: an FTP reply on the would-be client
/// socket (inetd), getopt's complaint if any on stderr; and, where Pure-FTPd's only
/// logs it, the reply on stderr too. Exit status 252.
fn configuration_error(error: &args::ConfigError) -> Exit {
    let line = format!("421 Configuration error: {error}\r");
    if let Some(mut socket) = inetd_socket() {
        let _ = socket.write_all(format!("{line}\n").as_bytes());
    }
    let exit = Exit::error(line, CONFIG_ERROR);
    match &error.getopt {
        Some(complaint) => exit.after(complaint),
        None => exit,
    }
}

/// The connection on fd 0 when started by inetd (or systemd with a socket).
fn inetd_socket() -> Option<TcpStream> {
    let stdin = io::stdin();
    let fd = stdin.as_fd();
    let stat = nix::sys::stat::fstat(fd).ok()?;
    if stat.st_mode & 0o170_000 != 0o140_000 {
        return None;
    }
    let owned = fd.try_clone_to_owned().ok()?;
    let stream = TcpStream::from(owned);
    stream.peer_addr().ok()?;
    Some(stream)
}

/// An I/O error as C's `strerror` words it ("No such file or directory").
#[must_use]
pub fn errno_text(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => error.to_string(),
    }
}
