//! The daemons' command line: Pure-FTPd's options and messages (`-B -g -h -p -r -s -u`
//! and their long forms, read as getopt_long reads them), plus two of ours:
//! `-t/--timeout` and `-n/--max-running`. A mistake prints getopt's message and the
//! help, status 0, as Pure-FTPd's daemons do; a value we refuse, or a stray word, stops
//! with a message and status 254.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use pureftpd_cli::{Exit, Getopt, Item, Opt, help_lines};

use super::Kind;

/// Pure-FTPd's optional script timeout (DO_AUTHD_TIMEOUT), on here by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Scripts run at the same time; further requests wait their turn.
pub const DEFAULT_MAX_RUNNING: usize = 32;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-B`: detach and run in the background.
    pub daemonize: bool,
    /// `-u`: user id to run as after creating the socket.
    pub uid: Option<u32>,
    /// `-g`: group id to run as after creating the socket.
    pub gid: Option<u32>,
    /// `-p`: the pid file.
    pub pid_file: PathBuf,
    /// `-r`: the program, absolute.
    pub program: PathBuf,
    /// `-s`: the socket.
    pub socket: PathBuf,
    /// `-t`: how long a script may run before it is killed.
    pub timeout: Duration,
    /// `-n`: scripts running at once.
    pub max_running: usize,
}

/// Pure-FTPd's options in its order, with ours (`-n`, `-t`) where they sort.
const TABLE: [Opt; 9] = [
    Opt::flag('B', "daemonize"),
    Opt::valued('g', "gid"),
    Opt::flag('h', "help"),
    Opt::valued('n', "max-running"),
    Opt::valued('p', "pidfile"),
    Opt::valued('r', "run"),
    Opt::valued('s', "socket"),
    Opt::valued('t', "timeout"),
    Opt::valued('u', "uid"),
];

/// The help, as Pure-FTPd prints it (one line per option), with ours added.
#[must_use]
pub fn help() -> String {
    help_lines(&TABLE)
}

/// Parses the arguments (without the program name); `program` is the name getopt's
/// messages start with (`argv[0]`).
///
/// # Errors
/// [`Exit`]: the help (asked for, or after getopt's complaint, status 0 as Pure-FTPd),
/// or a message and status 254.
pub fn parse(
    kind: &Kind,
    program: &str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<Options, Exit> {
    let mut getopt = Getopt::new(&TABLE, args);
    let mut options = Options {
        daemonize: false,
        uid: None,
        gid: None,
        pid_file: PathBuf::from(kind.default_pid_file),
        program: PathBuf::new(),
        socket: PathBuf::new(),
        timeout: DEFAULT_TIMEOUT,
        max_running: DEFAULT_MAX_RUNNING,
    };
    loop {
        let (letter, value) = match getopt.next() {
            Ok(Some(Item::Opt { letter, value })) => (letter, value.unwrap_or_default()),
            Ok(None) => break,
            Err(problem) => return Err(Exit::help(help()).after(problem.message(program))),
            // Pure-FTPd's ignores a stray word; it is more likely a mistake.
            Ok(Some(Item::Operand(word))) => {
                return Err(Exit::error(
                    format!("Unexpected argument: {}", word.to_string_lossy()),
                    254,
                ));
            }
        };
        match letter {
            'B' => options.daemonize = true,
            'h' => return Err(Exit::help(help())),
            'g' => options.gid = Some(group_id(&value)?),
            'u' => options.uid = Some(user_id(&value)?),
            'p' => options.pid_file = PathBuf::from(value),
            'r' => options.program = PathBuf::from(value),
            's' => options.socket = PathBuf::from(value),
            't' => {
                let seconds = number(&value).filter(|&s| s > 0).ok_or_else(|| {
                    Exit::error("The timeout must be a number of seconds above 0", 254)
                })?;
                options.timeout = Duration::from_secs(seconds);
            }
            'n' => {
                options.max_running = number(&value)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|&n| (1..=1024).contains(&n))
                    .ok_or_else(|| {
                        Exit::error("-n wants a number of scripts from 1 to 1024", 254)
                    })?;
            }
            _ => unreachable!("every letter of TABLE is handled"),
        }
    }
    if !options.program.is_absolute() {
        return Err(Exit::error(
            format!("You must give -r /path/to/{}/program", kind.program_word),
            254,
        ));
    }
    if options.socket.as_os_str().is_empty() {
        return Err(Exit::error("You must give -s /path/to/socket", 254));
    }
    Ok(options)
}

fn number(value: &OsString) -> Option<u64> {
    value.to_str()?.parse().ok()
}

/// `-u`'s value: a number, or (an addition to Pure-FTPd's) a user name; Pure-FTPd's
/// message and status 254 otherwise. Also pure-uploadscript's.
///
/// # Errors
/// The message and status to stop with.
pub fn user_id(value: &OsString) -> Result<u32, Exit> {
    id(value, "UID", |name| {
        Some(nix::unistd::User::from_name(name).ok()??.uid.as_raw())
    })
}

/// `-g`'s value: a number or a group name (see [`user_id`]).
///
/// # Errors
/// The message and status to stop with.
pub fn group_id(value: &OsString) -> Result<u32, Exit> {
    id(value, "GID", |name| {
        Some(nix::unistd::Group::from_name(name).ok()??.gid.as_raw())
    })
}

/// A numeric id, or (an addition to Pure-FTPd's) a user or group name.
fn id(value: &OsString, what: &str, by_name: fn(&str) -> Option<u32>) -> Result<u32, Exit> {
    let text = value.to_str().unwrap_or_default();
    text.parse()
        .ok()
        .or_else(|| by_name(text))
        .ok_or_else(|| Exit::error(format!("Illegal {what} - Must be a number"), 254))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: Kind = super::super::AUTHD;

    fn parse_args(args: &[&str]) -> Result<Options, Exit> {
        parse(&KIND, "pure-authd", args.iter().map(OsString::from))
    }

    #[test]
    fn pure_ftpds_options_and_long_forms() {
        let options = parse_args(&[
            "--daemonize",
            "-u",
            "42",
            "--gid=43",
            "-p",
            "/run/a.pid",
            "--run",
            "/bin/auth",
            "-s",
            "/run/a.sock",
        ])
        .expect("valid");
        assert!(options.daemonize);
        assert_eq!((options.uid, options.gid), (Some(42), Some(43)));
        assert_eq!(options.timeout, DEFAULT_TIMEOUT);
        assert_eq!(options.socket, PathBuf::from("/run/a.sock"));
        let defaults = parse_args(&["-r", "/bin/auth", "-s", "s"]).expect("valid");
        assert_eq!(defaults.pid_file, PathBuf::from("/var/run/pure-authd.pid"));
    }

    #[test]
    fn mistakes_get_pure_ftpds_messages() {
        let error = |args: &[&str]| match parse_args(args) {
            Err(Exit {
                status,
                stderr,
                stdout,
            }) if stdout.is_empty() => (stderr.trim_end().to_string(), status),
            other => panic!("{args:?}: {other:?}"),
        };
        assert_eq!(
            error(&["-s", "/x"]),
            ("You must give -r /path/to/auth/program".into(), 254)
        );
        assert_eq!(
            error(&["-s", "/x", "-r", "relative"]),
            ("You must give -r /path/to/auth/program".into(), 254)
        );
        assert_eq!(
            error(&["-r", "/bin/true"]),
            ("You must give -s /path/to/socket".into(), 254)
        );
        assert_eq!(error(&["-u", "0x"]).0, "Illegal UID - Must be a number");
        assert_eq!(error(&["-r", "/x", "-s", "/y", "-t", "0"]).1, 254);
        assert_eq!(
            parse_args(&["-x"]),
            Err(Exit::help(help()).after("pure-authd: invalid option -- 'x'"))
        );
        assert_eq!(
            parse_args(&["--ru"]),
            Err(Exit::help(help()).after("pure-authd: option '--run' requires an argument"))
        );
        assert_eq!(parse_args(&["--he"]), Err(Exit::help(help())));
        assert!(help().starts_with("-B\t--daemonize\t\n-g\t--gid\t<opt>\n"));
    }
}
