//! pure-sftpd's command line: the options of `pure-ftpd` that mean the same for SFTP, read
//! by the same code (so `-S`, `-l`, `-c` ... accept exactly what `pure-ftpd` accepts and
//! refuse what it refuses), plus `--hostkeydir DIR` and `--userkeydir DIR`. An option of `pure-ftpd` that has no
//! meaning here, or is not implemented for SFTP yet, is refused as unknown rather than
//! ignored, so that an admin never believes a setting is in force when it is not.

use std::ffi::OsString;
use std::path::PathBuf;

use pureftpd_cli::{Getopt, Item, Opt, help_lines};

use crate::config::Config;
use crate::config::args::{ConfigError, apply};

/// Where host keys live unless `--hostkeydir` says otherwise.
pub const DEFAULT_HOST_KEY_DIR: &str = "/etc/pure-ftpd/ssh";

/// SSH's port: pure-sftpd's default for `-S`.
const DEFAULT_PORT: &str = "22";

/// Stand-in letter of `--hostkeydir`, which has no short form.
const HOST_KEY_DIR: char = '\u{10}';
/// Stand-in letter of `--userkeydir`, which has no short form.
const USER_KEY_DIR: char = '\u{11}';

/// The options, in pure-ftpd's order, then ours. Public so that a test can check the
/// man page and the help text against it.
pub const OPTIONS: &[Opt] = &[
    Opt::flag('1', "logpid"),
    Opt::flag('A', "chrooteveryone"),
    Opt::valued('a', "trustedgid"),
    Opt::flag('B', "daemonize"),
    Opt::valued('C', "maxclientsperip"),
    Opt::valued('c', "maxclientsnumber"),
    Opt::valued('f', "syslogfacility"),
    Opt::valued('g', "pidfile"),
    Opt::flag('G', "norename"),
    Opt::flag('h', "help"),
    Opt::flag('H', "dontresolve"),
    Opt::valued('I', "maxidletime"),
    Opt::flag('j', "createhomedir"),
    Opt::flag('K', "keepallfiles"),
    Opt::valued('l', "login"),
    Opt::valued('n', "quota"),
    Opt::flag('o', "uploadscript"),
    Opt::valued('O', "altlog"),
    Opt::valued('Q', "userratio"),
    Opt::flag('R', "nochmod"),
    Opt::valued('S', "bind"),
    Opt::valued('T', "userbandwidth"),
    Opt::valued('U', "umask"),
    Opt::valued('u', "minuid"),
    Opt::flag('x', "prohibitdotfileswrite"),
    Opt::flag('X', "prohibitdotfilesread"),
    Opt::valued('y', "peruserlimits"),
    Opt::valued(HOST_KEY_DIR, "hostkeydir"),
    Opt::valued(USER_KEY_DIR, "userkeydir"),
];

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Serve with this configuration and these host keys.
    Serve {
        /// The options shared with pure-ftpd.
        config: Box<Config>,
        /// `--hostkeydir`.
        host_key_dir: PathBuf,
        /// `--userkeydir`.
        user_key_dir: PathBuf,
    },
    /// Print the option list and exit 0.
    Help,
}

/// The `-h` text.
#[must_use]
pub fn help_text() -> String {
    // pure-ftpd's layout, which lists letters only; then the long-only options.
    format!(
        "{}  \t--hostkeydir\t<dir>\n  \t--userkeydir\t<dir>\n",
        help_lines(OPTIONS)
    )
}

/// Parses the arguments after the program name.
///
/// # Errors
/// An unknown option (pure-ftpd's options that SFTP has no use for included), a missing
/// or invalid value, a stray argument.
pub fn parse(program: &str, args: Vec<OsString>) -> Result<Invocation, ConfigError> {
    let mut config = Config {
        bind_port: DEFAULT_PORT.to_string(),
        ..Config::default()
    };
    let mut host_key_dir = PathBuf::from(DEFAULT_HOST_KEY_DIR);
    let mut user_key_dir = PathBuf::from(super::user_keys::DEFAULT_USER_KEY_DIR);
    let mut getopt = Getopt::new(OPTIONS, args);
    loop {
        let (letter, value) = match getopt.next() {
            Ok(Some(Item::Opt { letter, value })) => (letter, value),
            Ok(None) => break,
            Ok(Some(Item::Operand(word))) => {
                return Err(ConfigError::new(format!(
                    "Invalid argument: \"{}\"",
                    word.to_string_lossy()
                )));
            }
            Err(problem) => {
                return Err(ConfigError {
                    getopt: Some(problem.message(program)),
                    ..ConfigError::new("Unknown run-time option")
                });
            }
        };
        match letter {
            'h' => return Ok(Invocation::Help),
            HOST_KEY_DIR | USER_KEY_DIR => {
                let value = value.unwrap_or_default();
                let (dir, name) = if letter == HOST_KEY_DIR {
                    (&mut host_key_dir, "--hostkeydir")
                } else {
                    (&mut user_key_dir, "--userkeydir")
                };
                if value.is_empty() {
                    return Err(ConfigError::new(format!("{name} needs a directory")));
                }
                *dir = PathBuf::from(value);
            }
            letter => {
                let value = match value {
                    Some(value) => Some(value.into_string().map_err(|_| {
                        ConfigError::new(format!("Invalid argument for -{letter}"))
                    })?),
                    None => None,
                };
                apply(&mut config, letter, value.as_deref().unwrap_or_default())?;
            }
        }
    }
    Ok(Invocation::Serve {
        config: Box::new(config),
        host_key_dir,
        user_key_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Invocation, ConfigError> {
        parse("pure-sftpd", words.iter().map(OsString::from).collect())
    }

    #[test]
    fn shared_options_mean_what_they_mean_for_pure_ftpd() {
        let Ok(Invocation::Serve {
            config,
            host_key_dir,
            user_key_dir,
        }) = parse_words(&[
            "-S",
            "127.0.0.1,2222",
            "-A",
            "-u",
            "1000",
            "-c",
            "7",
            "--hostkeydir=/k",
            "--userkeydir",
            "/u",
        ])
        else {
            panic!("refused");
        };
        assert_eq!(config.bind_host.as_deref(), Some("127.0.0.1"));
        assert_eq!(config.bind_port, "2222");
        assert!(config.chroot_everyone);
        assert_eq!(config.min_uid, 1000);
        assert_eq!(host_key_dir, PathBuf::from("/k"));
        assert_eq!(user_key_dir, PathBuf::from("/u"));
    }

    #[test]
    fn port_defaults_to_ssh_and_ftp_only_options_are_refused() {
        let Ok(Invocation::Serve { config, .. }) = parse_words(&[]) else {
            panic!("refused");
        };
        assert_eq!(config.bind_port, "22");
        for ftp_only in [["-Y", "1"], ["-p", "3000:3010"], ["-t", "100"]] {
            let e = parse_words(&ftp_only).unwrap_err();
            assert!(e.getopt.is_some(), "{ftp_only:?} accepted");
        }
        assert!(parse_words(&["--hostkeydir="]).is_err());
        assert!(parse_words(&["--userkeydir="]).is_err());
        let Ok(Invocation::Serve { user_key_dir, .. }) = parse_words(&[]) else {
            panic!("refused");
        };
        assert_eq!(user_key_dir, PathBuf::from("/etc/pure-ftpd/ssh/users"));
    }
}
