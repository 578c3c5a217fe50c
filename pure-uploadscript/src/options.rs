//! The command line, as Pure-FTPd's pure-uploadscript reads it (getopt_long): a
//! mistake prints getopt's message and the help, status 0.

use std::ffi::OsString;
use std::path::PathBuf;

use pureftpd_bridge::daemon::options::{group_id, user_id};
use pureftpd_cli::{Exit, Getopt, Item, Opt, help_lines};

/// What to run and how.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) daemonize: bool,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) pid_file: PathBuf,
    pub(crate) program: PathBuf,
}

const TABLE: [Opt; 6] = [
    Opt::flag('B', "daemonize"),
    Opt::valued('g', "gid"),
    Opt::flag('h', "help"),
    Opt::valued('p', "pidfile"),
    Opt::valued('r', "run"),
    Opt::valued('u', "uid"),
];

/// Parses the arguments after the program name; `program` starts getopt's messages.
pub(crate) fn parse(
    program: &str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<Options, Exit> {
    let mut options = Options {
        daemonize: false,
        uid: None,
        gid: None,
        pid_file: PathBuf::from("/var/run/pure-uploadscript.pid"),
        program: PathBuf::new(),
    };
    let help = || Exit::help(help_lines(&TABLE));
    let mut getopt = Getopt::new(&TABLE, args);
    loop {
        let (letter, value) = match getopt.next() {
            Ok(Some(Item::Opt { letter, value })) => (letter, value.unwrap_or_default()),
            Ok(None) => break,
            // getopt leaves the words that are not options to the tool, which ignores them.
            Ok(Some(Item::Operand(_))) => continue,
            Err(problem) => return Err(help().after(problem.message(program))),
        };
        match letter {
            'B' => options.daemonize = true,
            'h' => return Err(help()),
            'g' => options.gid = Some(group_id(&value)?),
            'u' => options.uid = Some(user_id(&value)?),
            'p' => options.pid_file = PathBuf::from(value),
            'r' => options.program = PathBuf::from(value),
            _ => unreachable!("every letter of TABLE is handled"),
        }
    }
    if options.program.as_os_str().is_empty() {
        // Pure-FTPd's leaves a blank line after it.
        return Err(help().after("Sorry, but I need -r <program to run>\n"));
    }
    Ok(options)
}
