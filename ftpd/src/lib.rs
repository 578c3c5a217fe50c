//! `pure-ftpd`: the FTP server; and `pure-sftpd`, SFTP for the same accounts through the
//! same master, auth chain, confinement and file-system view ([`sftp`] has its process
//! diagram: SSH in the pre-login process, SFTP served by the account's process).
//!
//! # Processes and privileges
//!
//! ```text
//!  master (root or you)       one process per session (forked), started as root:
//!  ─ binds, accepts ────────▶ monitor (root)             pre-login process (forked)
//!  ─ -c / -C limits           logs, scoreboard, greeting  nobody/nogroup, no groups,
//!  ─ ticket keys for TLS      ────── fork ─────────────▶  no capabilities, no_new_privs,
//!    resumption, rotated                                  not dumpable, root = a removed
//!  ─ reaps, removes           ◀─ USER / PASS / SNI ─────  directory; greeting, parser,
//!    scoreboard files,           (typed messages,         AUTH TLS + handshake, the
//!    stops on SIGTERM             privsep/protocol.rs)    commands allowed before login
//!  ─ keeps running, as root:  auth chain (puredb, unix, pam, extauth, mysql, pgsql,
//!    the port-20 helper        ldap, anonymous), delays, retry limit
//!    (one for all sessions,   → accepted: chroot, ids, home, quota; keeps its end of
//!    nobody + bind cap only)    the port-20 helper (port20/service.rs)
//!    and with --metrics the
//!    endpoint (exec'd, nobody)
//!                             ◀─ handover (unparsed input, TYPE, PROT) ─
//!                             account's process:          in clear: exits
//!                             serves the session          under TLS: stays the control
//!                             (data connections: its own  connection's TLS endpoint,
//!                             TLS, resuming with the      relays clear text until the
//!                             shared ticket keys)         end or CCC
//! ```
//!
//! Not started as root there is no privilege to separate: the session process serves
//! the client itself, as the invoking user, confined to the account's home by the
//! virtual chroot of [`vfs`]. If fd 0 is a socket (inetd, systemd socket activation),
//! that one connection is served the same way (its session makes its own ticket keys).
//!
//! The master never starts a thread, which keeps `fork` sound ([`pureftpd_os::fork`]).
//! A session is plain blocking code: `session/dispatch.rs` hands each command to its
//! handler (those that need a login receive it as an argument), and a transfer is a job
//! made by its command, moved by `session/transfer/engine.rs` and reported by
//! `session/transfer/report.rs`.
//!
//! # Why a TLS relay, and not kernel TLS
//!
//! Pure-FTPd runs all of the above as root until the login succeeds: the TLS handshake,
//! the command parser and the replies of extauth/certd handlers. Here they run in the
//! pre-login process ([`privsep`]). The control connection's TLS session is made there,
//! and rustls cannot move a live session to another process. Two ways were open without
//! crypto of our own: hand the session's keys to the kernel (kTLS) and let the account's
//! process use the socket, or keep the pre-login process as the TLS endpoint and relay
//! clear text. We relay, everywhere:
//!
//! * kTLS needs the `tls` module (`/proc/sys/net/ipv4/tcp_available_ulp`; absent on
//!   this project's test machines and in most containers), so the relay would be needed
//!   anyway; two paths would double what must be tested.
//! * Under kTLS, records that are not application data (TLS 1.3 tickets, key updates,
//!   the close_notify of `CCC`) come up to user space as control messages, which the
//!   account's process would have to handle with secrets it holds: a second TLS state
//!   machine, which rustls exists to spare us.
//! * Control traffic is small: the relay's cost is one process per TLS session (a few
//!   hundred KiB of PSS, mostly shared with the account's process) and one extra hop
//!   per reply, 15-40 µs on loopback; logins per second are 0.96x of an unseparated
//!   server in clear and under TLS (`scripts/bench-privsep.sh`, README; with the port-20
//!   helper served for all sessions by one process, `port20/service.rs`). Data connections do
//!   not pass through it: the account's process makes them, resuming the control
//!   connection's TLS session with the ticket keys all processes of the server share.

mod account_rules;
pub mod altlog;
pub mod auth;
pub mod certd;
pub mod config;
pub mod listener;
pub mod log;
mod messages;
pub mod metrics;
mod owner_bits;
pub mod port20;
pub mod privilege;
pub mod privsep;
pub mod proxy_protocol;
pub mod quota;
pub mod scoreboard;
mod send_deadline;
pub mod session;
pub mod sftp;
pub mod supervised;
mod time_zone;
pub mod tls;
pub mod tls_stream;
pub mod tls_tickets;
pub mod tls_upload;
mod transfer_record;
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
    if let Some(code) = metrics::endpoint::run_if_asked() {
        return code;
    }
    // A standalone server forks its sessions; under inetd each process is alone.
    let inetd = inetd_socket();
    if inetd.is_none() {
        pureftpd_os::malloc_cache::run_again_without_it();
    }
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
    let config = match with_metrics_from_environment(config) {
        Ok(config) => config,
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
    // Read once here, so that every session forked later inherits them (and writes
    // none of the statics that keep them: a write copies a page into each session).
    let _ = time_zone::local();
    let _ = session::aliases::file();
    if inetd.is_none() {
        pureftpd_account::password::detect_cpu_features();
    }
    if privsep::wanted() {
        let _ = privsep::prepare();
    }
    // Modes of created files are exactly those asked for (-U applies on top).
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    match inetd {
        Some(_) if config.metrics.is_some() => configuration_error(&args::ConfigError::new(
            "--metrics needs the standalone server: under inetd each connection is a server of its own, with no master to count for all",
        ))
        .report(),
        Some(stream) => listener::serve_inetd(&config, tls, stream),
        None => listener::run(&config, tls),
    }
}

/// `PURE_FTPD_METRICS=ADDRESS:PORT` stands for `--metrics` when the command line has
/// none: Debian's `pure-ftpd-wrapper` builds the command line from a fixed table of
/// option files, so that a service started through it takes the endpoint from its
/// environment (`Environment=` in a systemd drop-in, or `/etc/default/pure-ftpd-common`
/// with `export`).
fn with_metrics_from_environment(
    mut config: Box<config::Config>,
) -> Result<Box<config::Config>, args::ConfigError> {
    if config.metrics.is_none()
        && let Some(value) = std::env::var_os("PURE_FTPD_METRICS").filter(|v| !v.is_empty())
    {
        config.metrics = Some(args::metrics_address(&value.to_string_lossy())?);
    }
    Ok(config)
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
