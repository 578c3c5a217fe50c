//! The program pure-authd and pure-certd share: a Unix socket, and for each request a
//! script run with the request in its environment, whose output goes back as the reply.
//!
//! As Pure-FTPd's: the socket is made (mode 0600, umask 077) and the pid file written
//! before `-u`/`-g` drop privileges; the script runs in `/` with stdin and stderr on
//! `/dev/null`, gets the daemon's environment plus the request's variables, and up to
//! 4095 bytes of what it prints are relayed; a request without `end` runs nothing.
//!
//! Beyond Pure-FTPd's one-request-at-a-time loop: requests are served concurrently (at
//! most `-n`, 32 by default; more wait their turn), a script that runs longer than
//! `-t` seconds (60 by default) is killed with its whole process group and the client
//! gets nothing (a refusal), a script that prints more than 4095 bytes is refused
//! rather than cut, and each failure is logged with its reason.

pub mod log;
pub mod options;
mod script;
mod serve;
pub mod setup;

use std::ffi::OsString;

pub use options::Options;

/// What differs between pure-authd and pure-certd.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// Program name, for messages and syslog.
    pub name: &'static str,
    /// `-p` default.
    pub default_pid_file: &'static str,
    /// The word in `You must give -r /path/to/<word>/program`.
    pub program_word: &'static str,
    /// The script's variables for a request (`None` without `end`).
    pub environment: fn(&[u8]) -> Option<crate::Variables>,
    /// Every variable the daemon may set, cleared from the inherited environment.
    pub variables: &'static [&'static str],
    /// The variable naming what a request is about, for the log (never a password).
    pub subject: &'static str,
}

/// pure-authd.
pub const AUTHD: Kind = Kind {
    name: "pure-authd",
    default_pid_file: "/var/run/pure-authd.pid",
    program_word: "auth",
    environment: crate::auth::environment,
    variables: &crate::auth::VARIABLES,
    subject: "AUTHD_ACCOUNT",
};

/// pure-certd.
pub const CERTD: Kind = Kind {
    name: "pure-certd",
    default_pid_file: "/var/run/pure-certd.pid",
    program_word: "cert",
    environment: crate::cert::environment,
    variables: &crate::cert::VARIABLES,
    subject: "CERTD_SNI_NAME",
};

/// Runs the daemon with the process's arguments (the program name first); returns
/// the exit status.
pub fn main(kind: &Kind, args: impl IntoIterator<Item = OsString>) -> i32 {
    let mut args = args.into_iter();
    let program = args.next().map_or_else(
        || kind.name.to_string(),
        |p| p.to_string_lossy().into_owned(),
    );
    let options = match options::parse(kind, &program, args) {
        Ok(options) => options,
        Err(exit) => return exit.report(),
    };
    let drops_privileges = options.uid.is_some() || options.gid.is_some();
    if drops_privileges && !nix::unistd::geteuid().is_root() {
        eprintln!("Sorry, but you have to be root to run this program with -u or -g");
        return 255;
    }
    if options.daemonize && !setup::daemonize() {
        return 0;
    }
    // Scripts get the request's variables and stdin/stdout/stderr, nothing more.
    pureftpd_os::close_on_exec_above_stderr();
    let log = log::Log::new(kind.name, !options.daemonize);
    let listener = match setup::listen(&options.socket) {
        Ok(listener) => listener,
        Err(e) => {
            log.error(&format!(
                "Unable to create the socket {}: {e}",
                options.socket.display()
            ));
            return 1;
        }
    };
    setup::write_pid_file(&options.pid_file, &log);
    if let Err(e) = setup::drop_privileges(options.uid, options.gid) {
        log.error(&format!("Unable to drop privileges: {e}"));
        setup::clean_up(&options);
        return 1;
    }
    if let Err(e) = setup::stop_on_signals(vec![options.socket.clone(), options.pid_file.clone()]) {
        log.error(&format!("Unable to handle signals: {e}"));
        setup::clean_up(&options);
        return 1;
    }
    serve::serve(kind, &options, &listener, log);
    setup::clean_up(&options);
    1
}
