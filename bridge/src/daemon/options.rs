//! The daemons' command line: Pure-FTPd's options and messages (`-B -g -h -p -r -s -u`
//! and their long forms), plus two of ours: `-t/--timeout` and `-n/--max-running`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

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

/// What to do instead of serving.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// Help was asked for, or an option was unknown: the help is printed, status 0
    /// (as Pure-FTPd).
    Help,
    /// A fatal mistake: the message, and the status to exit with.
    Error(String, i32),
}

const TABLE: [(char, &str, bool); 9] = [
    ('B', "daemonize", false),
    ('g', "gid", true),
    ('h', "help", false),
    ('n', "max-running", true),
    ('p', "pidfile", true),
    ('r', "run", true),
    ('s', "socket", true),
    ('t', "timeout", true),
    ('u', "uid", true),
];

/// The help, as Pure-FTPd prints it (one line per option), with ours added.
#[must_use]
pub fn help() -> String {
    TABLE
        .iter()
        .map(|(short, long, arg)| {
            format!("-{short}\t--{long}\t{}\n", if *arg { "<opt>" } else { "" })
        })
        .collect()
}

/// Parses the arguments (without the program name).
///
/// # Errors
/// [`Exit`]: help, or a message and status.
pub fn parse(kind: &Kind, args: impl IntoIterator<Item = OsString>) -> Result<Options, Exit> {
    use lexopt::Arg::{Long, Short};
    let mut parser = lexopt::Parser::from_args(args);
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
    let unknown = |what: String| {
        eprintln!("{}: invalid option -- '{what}'", kind.name);
        Exit::Help
    };
    while let Some(arg) = parser.next().map_err(|e| Exit::Error(e.to_string(), 254))? {
        let letter = match arg {
            Short(c) if TABLE.iter().any(|(s, _, _)| *s == c) => c,
            Long(name) => match TABLE.iter().find(|(_, l, _)| *l == name) {
                Some((s, _, _)) => *s,
                None => return Err(unknown(name.to_string())),
            },
            Short(c) => return Err(unknown(c.to_string())),
            lexopt::Arg::Value(v) => {
                return Err(Exit::Error(
                    format!("Unexpected argument: {}", v.to_string_lossy()),
                    254,
                ));
            }
        };
        let mut value = || {
            parser
                .value()
                .map_err(|e| Exit::Error(format!("{}: {e}", kind.name), 254))
        };
        match letter {
            'B' => options.daemonize = true,
            'h' => return Err(Exit::Help),
            'g' => options.gid = Some(id(&value()?, "GID", group_id)?),
            'u' => options.uid = Some(id(&value()?, "UID", user_id)?),
            'p' => options.pid_file = PathBuf::from(value()?),
            'r' => options.program = PathBuf::from(value()?),
            's' => options.socket = PathBuf::from(value()?),
            't' => {
                let seconds = number(&value()?).filter(|&s| s > 0).ok_or_else(|| {
                    Exit::Error(
                        "The timeout must be a number of seconds above 0".into(),
                        254,
                    )
                })?;
                options.timeout = Duration::from_secs(seconds);
            }
            'n' => {
                options.max_running = number(&value()?)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|&n| (1..=1024).contains(&n))
                    .ok_or_else(|| {
                        Exit::Error("-n wants a number of scripts from 1 to 1024".into(), 254)
                    })?;
            }
            _ => unreachable!("every letter of TABLE is handled"),
        }
    }
    if !options.program.is_absolute() {
        return Err(Exit::Error(
            format!("You must give -r /path/to/{}/program", kind.program_word),
            254,
        ));
    }
    if options.socket.as_os_str().is_empty() {
        return Err(Exit::Error("You must give -s /path/to/socket".into(), 254));
    }
    Ok(options)
}

fn number(value: &OsString) -> Option<u64> {
    value.to_str()?.parse().ok()
}

/// A numeric id, or (an addition to Pure-FTPd's) a user or group name.
fn id(value: &OsString, what: &str, by_name: fn(&str) -> Option<u32>) -> Result<u32, Exit> {
    let text = value.to_str().unwrap_or_default();
    text.parse()
        .ok()
        .or_else(|| by_name(text))
        .ok_or_else(|| Exit::Error(format!("Illegal {what} - Must be a number"), 254))
}

fn user_id(name: &str) -> Option<u32> {
    Some(nix::unistd::User::from_name(name).ok()??.uid.as_raw())
}

fn group_id(name: &str) -> Option<u32> {
    Some(nix::unistd::Group::from_name(name).ok()??.gid.as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: Kind = super::super::AUTHD;

    fn parse_args(args: &[&str]) -> Result<Options, Exit> {
        parse(&KIND, args.iter().map(OsString::from))
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
            Err(Exit::Error(message, code)) => (message, code),
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
        assert_eq!(parse_args(&["-x"]), Err(Exit::Help));
        assert_eq!(parse_args(&["--help"]), Err(Exit::Help));
        assert!(help().starts_with("-B\t--daemonize\t\n-g\t--gid\t<opt>\n"));
    }
}
