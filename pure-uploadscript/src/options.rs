//! The command line, as Pure-FTPd's pure-uploadscript reads it.

use std::ffi::OsString;
use std::path::PathBuf;

/// What to run and how.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) daemonize: bool,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) pid_file: PathBuf,
    pub(crate) program: PathBuf,
}

const HELP: &str = "-B\t--daemonize\t\n-g\t--gid\t<opt>\n-h\t--help\t\n-p\t--pidfile\t<opt>\n\
                    -r\t--run\t<opt>\n-u\t--uid\t<opt>\n";

/// Parses the arguments; `Err` is the exit status after the help or an error was
/// printed.
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Options, i32> {
    use lexopt::Arg::{Long, Short, Value};
    let mut options = Options {
        daemonize: false,
        uid: None,
        gid: None,
        pid_file: PathBuf::from("/var/run/pure-uploadscript.pid"),
        program: PathBuf::new(),
    };
    let help = || {
        print!("{HELP}");
        Err(0)
    };
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(|e| {
        eprintln!("pure-uploadscript: {e}");
        254
    })? {
        let letter = match arg {
            Short(c) => c,
            Long(name) => match name {
                "daemonize" => 'B',
                "gid" => 'g',
                "help" => 'h',
                "pidfile" => 'p',
                "run" => 'r',
                "uid" => 'u',
                other => {
                    eprintln!("pure-uploadscript: unrecognized option '--{other}'");
                    return help();
                }
            },
            Value(_) => return help(),
        };
        let mut value = || {
            parser.value().map_err(|e| {
                eprintln!("pure-uploadscript: {e}");
                254
            })
        };
        match letter {
            'B' => options.daemonize = true,
            'h' => return help(),
            'g' => options.gid = Some(id(&value()?, "GID", group_id)?),
            'u' => options.uid = Some(id(&value()?, "UID", user_id)?),
            'p' => options.pid_file = PathBuf::from(value()?),
            'r' => options.program = PathBuf::from(value()?),
            c => {
                eprintln!("pure-uploadscript: invalid option -- '{c}'");
                return help();
            }
        }
    }
    if options.program.as_os_str().is_empty() {
        eprintln!("Sorry, but I need -r <program to run>");
        return help();
    }
    Ok(options)
}

fn id(value: &OsString, what: &str, by_name: fn(&str) -> Option<u32>) -> Result<u32, i32> {
    let text = value.to_str().unwrap_or_default();
    text.parse().ok().or_else(|| by_name(text)).ok_or_else(|| {
        eprintln!("Illegal {what} - Must be a number");
        254
    })
}

fn user_id(name: &str) -> Option<u32> {
    Some(nix::unistd::User::from_name(name).ok()??.uid.as_raw())
}

fn group_id(name: &str) -> Option<u32> {
    Some(nix::unistd::Group::from_name(name).ok()??.gid.as_raw())
}
