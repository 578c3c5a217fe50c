//! `pure-ftpd /etc/pure-ftpd.conf`: the configuration file, read into the command line
//! it stands for (spec §10.4). Lines are `Key value`; `#` starts a comment; booleans
//! are `yes` or `no`; `Include file` reads another file in place; the `-l` lines
//! (`PureDB`, `UnixAuthentication`, `ExtAuth`, ...) keep their order.

use std::ffi::OsString;
use std::path::Path;

use super::args::ConfigError;

/// How a key's value becomes an option.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `yes` adds the flag, `no` nothing.
    Flag,
    /// One value, as is.
    Value,
    /// Two numbers, joined with `:` (one is allowed where Pure-FTPd allows it).
    Pair,
    /// Two file names, joined with `,` (`CertFileAndKey`).
    CertAndKey,
    /// A `-l` backend: the prefix, then the value (if any).
    Login(&'static str),
    /// A `-l` backend without argument, when `yes`.
    LoginFlag(&'static str),
}

const KEYS: &[(&str, char, Kind)] = &[
    ("AllowAnonymousFXP", 'W', Kind::Flag),
    ("AllowDotFiles", 'z', Kind::Flag),
    ("AllowUserFXP", 'w', Kind::Flag),
    ("AltLog", 'O', Kind::Value),
    ("AnonymousBandwidth", 't', Kind::Pair),
    ("AnonymousCanCreateDirs", 'M', Kind::Flag),
    ("AnonymousCantUpload", 'i', Kind::Flag),
    ("AnonymousOnly", 'e', Kind::Flag),
    ("AnonymousRatio", 'q', Kind::Pair),
    ("AntiWarez", 's', Kind::Flag),
    ("AutoRename", 'r', Kind::Flag),
    ("Bind", 'S', Kind::Value),
    ("BrokenClientsCompatibility", 'b', Kind::Flag),
    ("CallUploadScript", 'o', Kind::Flag),
    ("CertFile", '2', Kind::Value),
    ("CertFileAndKey", '2', Kind::CertAndKey),
    ("ChrootEveryone", 'A', Kind::Flag),
    ("CreateHomeDir", 'j', Kind::Flag),
    ("CustomerProof", 'Z', Kind::Flag),
    ("Daemonize", 'B', Kind::Flag),
    ("DisplayDotFiles", 'D', Kind::Flag),
    ("DontResolve", 'H', Kind::Flag),
    ("ExtAuth", 'l', Kind::Login("extauth:")),
    ("ExtCert", '3', Kind::Value),
    ("ForcePassiveIP", 'P', Kind::Value),
    ("FortunesFile", 'F', Kind::Value),
    ("IPV4Only", '4', Kind::Flag),
    ("IPV6Only", '6', Kind::Flag),
    ("KeepAllFiles", 'K', Kind::Flag),
    ("LDAPConfigFile", 'l', Kind::Login("ldap:")),
    ("LimitRecursion", 'L', Kind::Pair),
    ("LogPID", '1', Kind::Flag),
    ("MaxClientsNumber", 'c', Kind::Value),
    ("MaxClientsPerIP", 'C', Kind::Value),
    ("MaxDiskUsage", 'k', Kind::Value),
    ("MaxIdleTime", 'I', Kind::Value),
    ("MaxLoad", 'm', Kind::Value),
    ("MinUID", 'u', Kind::Value),
    ("MySQLConfigFile", 'l', Kind::Login("mysql:")),
    ("NATmode", 'N', Kind::Flag),
    ("NoAnonymous", 'E', Kind::Flag),
    ("NoChmod", 'R', Kind::Flag),
    ("NoRename", 'G', Kind::Flag),
    ("NoTruncate", '0', Kind::Flag),
    ("PAMAuthentication", 'l', Kind::LoginFlag("pam")),
    ("PassivePortRange", 'p', Kind::Pair),
    ("PerUserLimits", 'y', Kind::Pair),
    ("PGSQLConfigFile", 'l', Kind::Login("pgsql:")),
    ("PIDFile", 'g', Kind::Value),
    ("ProhibitDotFilesRead", 'X', Kind::Flag),
    ("ProhibitDotFilesWrite", 'x', Kind::Flag),
    ("PureDB", 'l', Kind::Login("puredb:")),
    ("Quota", 'n', Kind::Pair),
    ("SyslogFacility", 'f', Kind::Value),
    ("TLS", 'Y', Kind::Value),
    ("TLSCipherSuite", 'J', Kind::Value),
    ("TrustedGID", 'a', Kind::Value),
    ("TrustedIP", 'V', Kind::Value),
    ("Umask", 'U', Kind::Pair),
    ("UnixAuthentication", 'l', Kind::LoginFlag("unix")),
    ("UserBandwidth", 'T', Kind::Pair),
    ("UserRatio", 'Q', Kind::Pair),
    ("VerboseLog", 'd', Kind::Flag),
];

/// The keys a configuration file may hold, besides `Include` (the man page is checked
/// against them).
pub fn keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|(key, _, _)| *key)
}

/// Deepest `Include` nesting (a file including itself would loop).
const MAX_INCLUDE_DEPTH: usize = 8;

/// The arguments the file stands for.
///
/// # Errors
/// The file cannot be read, or a line is not understood (the message names the file
/// and line, as Pure-FTPd's does).
pub fn arguments(path: &Path) -> Result<Vec<OsString>, ConfigError> {
    let mut args = Vec::new();
    read_into(path, 0, &mut args)?;
    Ok(args)
}

fn read_into(path: &Path, depth: usize, args: &mut Vec<OsString>) -> Result<(), ConfigError> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(ConfigError::new(format!(
            "{}: Include nested too deeply",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(format!(
            "Unable to open [{}]: {}",
            path.display(),
            crate::errno_text(&e)
        ))
    })?;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let not_understood = || {
            ConfigError::new(format!(
                "{}:{}:1: property not found line {}: [{line}].",
                path.display(),
                index + 1,
                index + 1
            ))
        };
        let (key, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let values = words(rest.trim()).ok_or_else(not_understood)?;
        if key.eq_ignore_ascii_case("Include") {
            let [file] = values.as_slice() else {
                return Err(not_understood());
            };
            read_into(Path::new(file), depth + 1, args)?;
            continue;
        }
        let &(_, letter, kind) = KEYS
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(key))
            .ok_or_else(not_understood)?;
        let value = match (kind, values.as_slice()) {
            (Kind::Flag | Kind::LoginFlag(_), [yes]) if yes.eq_ignore_ascii_case("yes") => {
                match kind {
                    Kind::LoginFlag(method) => Some(method.to_string()),
                    _ => None,
                }
            }
            (Kind::Flag | Kind::LoginFlag(_), [no]) if no.eq_ignore_ascii_case("no") => continue,
            (Kind::Value, [value]) => Some(value.clone()),
            (Kind::Pair, [one]) => Some(one.clone()),
            (Kind::Pair, [first, second]) => Some(format!("{first}:{second}")),
            (Kind::CertAndKey, [cert, key]) => Some(format!("{cert},{key}")),
            (Kind::Login(prefix), [value]) => Some(format!("{prefix}{value}")),
            _ => return Err(not_understood()),
        };
        args.push(OsString::from(format!("-{letter}")));
        if let Some(value) = value {
            args.push(OsString::from(value));
        }
    }
    Ok(())
}

/// Words separated by blanks; `"..."` keeps blanks in a word. `None` for an
/// unterminated quote.
fn words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            words.push(quoted[..end].to_string());
            rest = quoted[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            words.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args_of(text: &str) -> Result<Vec<String>, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pure-ftpd.conf");
        std::fs::write(&path, text).unwrap();
        arguments(&path).map(|args| args.into_iter().map(|a| a.into_string().unwrap()).collect())
    }

    #[test]
    fn keys_become_the_options_they_stand_for() {
        let args = args_of(
            "# a comment\n\
             Bind 127.0.0.1,2121\n\
             PureDB /etc/pureftpd.pdb\n\
             UnixAuthentication yes\n\
             PAMAuthentication no\n\
             NoAnonymous yes\n\
             AnonymousOnly no\n\
             PassivePortRange 30000 50000\n\
             UserBandwidth 8\n\
             CertFileAndKey \"/etc/a cert.pem\" \"/etc/key.pem\"\n\
             quota 1000:10\n",
        )
        .unwrap();
        assert_eq!(
            args,
            [
                "-S",
                "127.0.0.1,2121",
                "-l",
                "puredb:/etc/pureftpd.pdb",
                "-l",
                "unix",
                "-E",
                "-p",
                "30000:50000",
                "-T",
                "8",
                "-2",
                "/etc/a cert.pem,/etc/key.pem",
                "-n",
                "1000:10"
            ]
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line() {
        let error = args_of("Bind 127.0.0.1,21\nFooBar yes\n").unwrap_err();
        assert!(
            error
                .message
                .ends_with(":2:1: property not found line 2: [FooBar yes]."),
            "{}",
            error.message
        );
        assert!(args_of("NoAnonymous maybe\n").is_err());
        assert!(args_of("PassivePortRange 1 2 3\n").is_err());
        assert!(args_of("FortunesFile \"unterminated\n").is_err());
    }

    #[test]
    fn include_reads_another_file_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner.conf");
        std::fs::write(&inner, "NoRename yes\n").unwrap();
        let outer = dir.path().join("outer.conf");
        std::fs::write(
            &outer,
            format!(
                "NoChmod yes\nInclude {}\nKeepAllFiles yes\n",
                inner.display()
            ),
        )
        .unwrap();
        let args: Vec<String> = arguments(&outer)
            .unwrap()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(args, ["-R", "-G", "-K"]);
        let looping = dir.path().join("loop.conf");
        std::fs::write(&looping, format!("Include {}\n", looping.display())).unwrap();
        assert!(arguments(&looping).is_err());
    }
}
