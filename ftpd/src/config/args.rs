//! Pure-FTPd's command line: the same short and long options (getopt_long rules:
//! bundling, `-c5`, `--maxclientsnumber=5`, unambiguous long prefixes), the same
//! defaults and the same refusals. A refused line is a [`ConfigError`], which the server
//! reports as `421 Configuration error: ...` and exit status 252.

use std::ffi::OsString;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use pureftpd_cli::{Getopt, Item, Opt, help_lines};

use super::{AuthMethod, Config, UpDown};
use crate::auth::sql::{Dialect, SqlConfig};
use std::sync::Arc;

/// Syslog's `ftp` facility (LOG_FTP is 11 << 3).
pub const FACILITY_FTP: u8 = 11;

/// Why the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// What the `421 Configuration error: ...` line says.
    pub message: String,
    /// getopt's own complaint (`pure-ftpd: unrecognized option '--x'`), which Debian's
    /// prints on stderr before it stops.
    pub getopt: Option<String>,
}

impl ConfigError {
    /// A refusal with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            getopt: None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn bad(message: impl Into<String>) -> ConfigError {
    ConfigError::new(message)
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// Serve with this configuration.
    Serve(Box<Config>),
    /// Print the option list and exit 0.
    Help,
}

/// Pure-FTPd's options, in its order (its `-h` lists them so, and getopt_long names
/// the candidates of an ambiguous prefix so), then the long-only ones of ours. Public
/// so that a test can check the man page against it.
pub const OPTIONS: &[Opt] = &[
    Opt::flag('0', "notruncate"),
    Opt::flag('1', "logpid"),
    Opt::valued('2', "certfile"),
    Opt::valued('3', "extcert"),
    Opt::flag('4', "ipv4only"),
    Opt::flag('6', "ipv6only"),
    Opt::flag('A', "chrooteveryone"),
    Opt::valued('a', "trustedgid"),
    Opt::flag('b', "brokenclientscompatibility"),
    Opt::flag('B', "daemonize"),
    Opt::valued('C', "maxclientsperip"),
    Opt::valued('c', "maxclientsnumber"),
    Opt::flag('d', "verboselog"),
    Opt::flag('D', "displaydotfiles"),
    Opt::flag('e', "anonymousonly"),
    Opt::flag('E', "noanonymous"),
    Opt::valued('f', "syslogfacility"),
    Opt::valued('F', "fortunesfile"),
    Opt::valued('g', "pidfile"),
    Opt::flag('G', "norename"),
    Opt::flag('h', "help"),
    Opt::flag('H', "dontresolve"),
    Opt::valued('I', "maxidletime"),
    Opt::flag('i', "anonymouscantupload"),
    Opt::flag('j', "createhomedir"),
    Opt::flag('K', "keepallfiles"),
    Opt::valued('k', "maxdiskusagepct"),
    Opt::valued('l', "login"),
    Opt::valued('L', "limitrecursion"),
    Opt::flag('M', "anonymouscancreatedirs"),
    Opt::valued('m', "maxload"),
    Opt::flag('N', "natmode"),
    Opt::valued('n', "quota"),
    Opt::flag('o', "uploadscript"),
    Opt::valued('O', "altlog"),
    Opt::valued('p', "passiveportrange"),
    Opt::valued('P', "forcepassiveip"),
    Opt::valued('q', "anonymousratio"),
    Opt::valued('Q', "userratio"),
    Opt::flag('r', "autorename"),
    Opt::flag('R', "nochmod"),
    Opt::flag('s', "antiwarez"),
    Opt::valued('S', "bind"),
    Opt::valued('t', "anonymousbandwidth"),
    Opt::valued('T', "userbandwidth"),
    Opt::valued('U', "umask"),
    Opt::valued('u', "minuid"),
    Opt::valued('V', "trustedip"),
    Opt::flag('w', "allowuserfxp"),
    Opt::flag('W', "allowanonymousfxp"),
    Opt::flag('x', "prohibitdotfileswrite"),
    Opt::flag('X', "prohibitdotfilesread"),
    Opt::valued('y', "peruserlimits"),
    Opt::valued('Y', "tls"),
    Opt::valued('J', "tlsciphersuite"),
    Opt::flag('z', "allowdotfiles"),
    Opt::flag('Z', "customerproof"),
    // Long-only options of ours (no short letter).
    Opt::flag(IMPLICIT_TLS, "implicittls"),
    Opt::flag(STOP_SESSIONS, "stopsessions"),
    Opt::valued(PROXY_PROTOCOL, "proxyprotocol"),
    Opt::valued(METRICS, "metrics"),
];

/// Stand-in letter of `--implicittls`, which has no short form.
const IMPLICIT_TLS: char = '\u{1}';
/// Stand-in letter of `--stopsessions`.
const STOP_SESSIONS: char = '\u{2}';
/// Stand-in letter of `--proxyprotocol`.
const PROXY_PROTOCOL: char = '\u{3}';
/// Stand-in letter of `--metrics`.
const METRICS: char = '\u{4}';

/// The `-h` text: one line per option, after the version line and a blank line when
/// run as root (as Pure-FTPd's, which prints the version only to root).
#[must_use]
pub fn help_text(with_version: bool) -> String {
    let version = if with_version {
        format!("pure-ftpd v{} [privsep]\n\n", crate::VERSION)
    } else {
        String::new()
    };
    version + &help_lines(OPTIONS)
}

/// Parses the arguments after the program name; `program` (`argv[0]`) starts getopt's
/// complaints.
///
/// # Errors
/// An unknown option, a missing or invalid value, a stray argument.
pub fn parse(program: &str, args: Vec<OsString>) -> Result<Invocation, ConfigError> {
    // `pure-ftpd /etc/pure-ftpd.conf`: one argument that is not an option.
    let args = match args.as_slice() {
        [only] if !only.as_encoded_bytes().starts_with(b"-") => {
            super::file::arguments(std::path::Path::new(only))?
        }
        _ => args,
    };
    let mut config = Config::default();
    let mut getopt = Getopt::new(OPTIONS, args);
    loop {
        let (letter, value) = match getopt.next() {
            Ok(Some(Item::Opt { letter, value })) => (letter, value),
            Ok(None) => break,
            Ok(Some(Item::Operand(word))) => {
                return Err(bad(format!(
                    "Invalid argument: \"{}\"",
                    word.to_string_lossy()
                )));
            }
            Err(problem) => {
                return Err(ConfigError {
                    getopt: Some(problem.message(program)),
                    ..bad("Unknown run-time option")
                });
            }
        };
        if letter == 'h' {
            return Ok(Invocation::Help);
        }
        let value = match value {
            Some(value) => Some(
                value
                    .into_string()
                    .map_err(|_| bad(format!("Invalid argument for -{letter}")))?,
            ),
            None => None,
        };
        apply(&mut config, letter, value.as_deref().unwrap_or_default())?;
    }
    Ok(Invocation::Serve(Box::new(config)))
}

#[allow(clippy::too_many_lines)]
pub(crate) fn apply(c: &mut Config, flag: char, value: &str) -> Result<(), ConfigError> {
    match flag {
        '0' => c.no_truncate = true,
        '1' => c.log_pid = true,
        '2' => c.cert_file = Some(value.to_string()),
        '3' => c.ext_cert = Some(PathBuf::from(value)),
        '4' => c.ipv4_only = true,
        '6' => c.ipv6_only = true,
        'a' => {
            c.trusted_gid = Some(number(value, "trusted gid")?);
            c.chroot_everyone = false;
        }
        'A' => {
            c.chroot_everyone = true;
            c.trusted_gid = None;
        }
        'b' => c.broken_clients = true,
        'B' => c.daemonize = true,
        'c' => c.max_clients = at_least_one(value, "max clients")?,
        'C' => c.max_clients_per_ip = Some(at_least_one(value, "max clients per IP")?),
        'd' => c.verbose = c.verbose.saturating_add(1),
        'D' => c.display_dot_files = true,
        'e' => c.anonymous_only = true,
        'E' => c.no_anonymous = true,
        'f' => c.syslog_facility = facility(value)?,
        'F' => c.fortunes_file = Some(PathBuf::from(value)),
        'g' => c.pid_file = Some(PathBuf::from(value)),
        'G' => c.no_rename = true,
        'H' => c.dont_resolve = true,
        'i' => c.anonymous_cant_upload = true,
        'I' => {
            // Minutes; zero or junk keeps the default, as in Pure-FTPd.
            if let Ok(minutes) = value.trim().parse::<u64>()
                && minutes > 0
            {
                c.max_idle = Duration::from_secs(minutes.saturating_mul(60));
            }
        }
        'j' => c.create_home = true,
        'J' => c.tls_ciphers = Some(value.to_string()),
        'k' => {
            let pct: u8 = number(value, "max disk usage")?;
            if pct == 0 || pct > 100 {
                return Err(bad(format!("Illegal max disk usage percentage: {value}")));
            }
            c.max_disk_usage = Some(pct);
        }
        'K' => c.keep_all_files = true,
        'l' => c.auth.push(auth_method(value)?),
        'L' => {
            let (files, depth) =
                pair(value).ok_or_else(|| bad(format!("Illegal recursion limits: {value}")))?;
            if files < 1 || depth < 1 {
                return Err(bad(format!("Illegal recursion limits: {value}")));
            }
            c.max_list_entries = u32::try_from(files).unwrap_or(u32::MAX);
            c.max_list_depth = u32::try_from(depth).unwrap_or(u32::MAX);
        }
        'm' => {
            let load: f64 = value
                .trim()
                .parse()
                .map_err(|_| bad(format!("Illegal load limit: {value}")))?;
            if load <= 0.0 || !load.is_finite() {
                return Err(bad(format!("Illegal load limit: {value}")));
            }
            c.max_load = Some(load);
        }
        'M' => c.anonymous_can_mkdir = true,
        'n' => {
            let (files, mb) = pair(value).ok_or_else(|| bad(format!("Illegal quota: {value}")))?;
            c.quota = Some((files, mb.saturating_mul(1 << 20)));
        }
        'N' => c.nat_mode = true,
        'o' => c.upload_script = true,
        'O' => c.alt_log = Some(crate::altlog::Spec::parse(value).map_err(ConfigError::new)?),
        'p' => c.passive_ports = port_range(value)?,
        'P' => c.force_passive_ip = Some(value.to_string()),
        'q' => c.anonymous_ratio = Some(ratio(value)?),
        'Q' => c.user_ratio = Some(ratio(value)?),
        'r' => c.auto_rename = true,
        'R' => c.no_chmod = true,
        's' => c.anti_warez = true,
        'S' => bind(c, value)?,
        't' => c.anonymous_bandwidth = Some(bandwidth(value)?),
        'T' => c.user_bandwidth = Some(bandwidth(value)?),
        'u' => c.min_uid = number(value, "min uid")?,
        'U' => (c.file_umask, c.dir_umask) = umask(value)?,
        'V' => {
            c.trusted_ip = Some(
                value
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("Illegal trusted IP address: {value}")))?,
            );
        }
        'w' => c.allow_user_fxp = true,
        'W' => c.allow_anonymous_fxp = true,
        'x' => c.prohibit_dot_write = true,
        'X' => c.prohibit_dot_read = true,
        'y' => {
            let (user, anon) =
                pair(value).ok_or_else(|| bad(format!("Illegal user limits: {value}")))?;
            c.per_user_limits = Some((
                u32::try_from(user).unwrap_or(u32::MAX),
                u32::try_from(anon).unwrap_or(u32::MAX),
            ));
        }
        'Y' => {
            c.tls = number(value, "TLS level")?;
            if c.tls > 3 {
                return Err(bad(format!("Illegal TLS level: {value}")));
            }
        }
        'z' => c.allow_dot_files = true,
        'Z' => c.customer_proof = true,
        IMPLICIT_TLS => c.implicit_tls = true,
        STOP_SESSIONS => c.stop_sessions = true,
        PROXY_PROTOCOL => {
            for address in value.split(',').filter(|a| !a.is_empty()) {
                let ip = address
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse::<IpAddr>()
                    .map_err(|_| {
                        bad(format!(
                            "--proxyprotocol: {address} is not an IP address (list the load balancers' addresses, separated by commas)"
                        ))
                    })?;
                c.proxy_from.push(crate::session::canonical_ip(ip));
            }
            if c.proxy_from.is_empty() {
                return Err(bad("--proxyprotocol needs the load balancers' addresses"));
            }
        }
        METRICS => c.metrics = Some(metrics_address(value)?),
        _ => return Err(bad("Unknown run-time option")),
    }
    Ok(())
}

/// `--metrics`' value (or `PURE_FTPD_METRICS`'), checked here and bound by the master:
/// a typo stops the start.
///
/// # Errors
/// It is not `ADDRESS:PORT`.
pub fn metrics_address(value: &str) -> Result<String, ConfigError> {
    if value
        .rsplit_once(':')
        .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
    {
        return Err(bad(format!(
            "--metrics: {value} is not ADDRESS:PORT (for example 127.0.0.1:9121 or [::1]:9121)"
        )));
    }
    Ok(value.to_string())
}

fn number<T: std::str::FromStr>(value: &str, what: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| bad(format!("Illegal {what}: {value}")))
}

fn at_least_one(value: &str, what: &str) -> Result<u32, ConfigError> {
    match value.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(bad(format!("Illegal {what}: {value}"))),
    }
}

/// `a:b`, both numbers.
fn pair(value: &str) -> Option<(u64, u64)> {
    let (a, b) = value.split_once(':')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

fn port_range(value: &str) -> Result<(u16, u16), ConfigError> {
    let fail = || bad(format!("Illegal ports range: {value}"));
    let (first, last) = pair(value).ok_or_else(fail)?;
    let (first, last) = (
        u16::try_from(first).map_err(|_| fail())?,
        u16::try_from(last).map_err(|_| fail())?,
    );
    if first < 1024 || first > last {
        return Err(fail());
    }
    Ok((first, last))
}

fn ratio(value: &str) -> Result<(u32, u32), ConfigError> {
    match pair(value) {
        Some((up, down)) if up >= 1 && down >= 1 => Ok((
            u32::try_from(up).unwrap_or(u32::MAX),
            u32::try_from(down).unwrap_or(u32::MAX),
        )),
        _ => Err(bad(format!("Illegal ratio: {value}"))),
    }
}

/// `KB` (both ways), `up:down`, `up:` or `:down`, in KB/s; stored in bytes/s.
fn bandwidth(value: &str) -> Result<UpDown, ConfigError> {
    let fail = || bad(format!("Illegal bandwidth: {value}"));
    let side = |s: &str| -> Result<Option<u64>, ConfigError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<u64>() {
            Ok(kb) if kb > 0 => Ok(Some(kb.saturating_mul(1024))),
            _ => Err(fail()),
        }
    };
    let limits = match value.split_once(':') {
        Some((up, down)) => UpDown {
            up: side(up)?,
            down: side(down)?,
        },
        None => {
            let both = side(value)?;
            UpDown {
                up: both,
                down: both,
            }
        }
    };
    if limits.up.is_none() && limits.down.is_none() {
        return Err(fail());
    }
    Ok(limits)
}

/// `files:dirs` in octal; either may be omitted; a single value sets both.
fn umask(value: &str) -> Result<(u32, u32), ConfigError> {
    let fail = || bad(format!("Illegal umask: {value}"));
    let octal = |s: &str| -> Result<Option<u32>, ConfigError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        match u32::from_str_radix(s, 8) {
            Ok(m) if m <= 0o777 => Ok(Some(m)),
            _ => Err(fail()),
        }
    };
    let defaults = (0o133, 0o022);
    match value.split_once(':') {
        Some((files, dirs)) => Ok((
            octal(files)?.unwrap_or(defaults.0),
            octal(dirs)?.unwrap_or(defaults.1),
        )),
        None => {
            let both = octal(value)?.ok_or_else(fail)?;
            Ok((both, both))
        }
    }
}

fn bind(c: &mut Config, value: &str) -> Result<(), ConfigError> {
    // `host,port`, `,port`, `host,` or a bare port; an IPv6 host has colons, never a comma.
    let (host, port) = match value.rsplit_once(',') {
        Some((host, port)) => (host.trim(), port.trim()),
        None if value.parse::<u16>().is_ok() => ("", value.trim()),
        None => (value.trim(), ""),
    };
    c.bind_host = (!host.is_empty()).then(|| {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string()
    });
    if !port.is_empty() {
        c.bind_port = port.to_string();
    }
    Ok(())
}

fn auth_method(value: &str) -> Result<AuthMethod, ConfigError> {
    let (method, arg) = value.split_once(':').unwrap_or((value, ""));
    let method = method.to_ascii_lowercase();
    let path = || {
        if arg.is_empty() {
            Err(bad(format!(
                "Missing file for authentication method: {value}"
            )))
        } else {
            Ok(PathBuf::from(arg))
        }
    };
    // Pure-FTPd matches the method name as a prefix.
    let is = |name: &str| !method.is_empty() && name.starts_with(&method);
    if is("unix") {
        Ok(AuthMethod::Unix)
    } else if is("pam") {
        Ok(AuthMethod::Pam)
    } else if is("puredb") {
        Ok(AuthMethod::PureDb(path()?))
    } else if is("extauth") {
        Ok(AuthMethod::ExtAuth(path()?))
    } else if is("ldap") {
        let config = crate::auth::ldap::LdapConfig::read(&path()?).map_err(bad)?;
        Ok(AuthMethod::Ldap(Arc::new(config)))
    } else if is("mysql") || is("pgsql") {
        let dialect = if is("mysql") {
            Dialect::MySql
        } else {
            Dialect::PgSql
        };
        let config = SqlConfig::read(dialect, &path()?).map_err(bad)?;
        Ok(if is("mysql") {
            AuthMethod::MySql(Arc::new(config))
        } else {
            AuthMethod::PgSql(Arc::new(config))
        })
    } else {
        Err(bad(format!("Unknown authentication method: {value}")))
    }
}

/// Syslog facility names, as syslog.h spells them.
fn facility(name: &str) -> Result<Option<u8>, ConfigError> {
    let facilities: [(&str, u8); 20] = [
        ("kern", 0),
        ("user", 1),
        ("mail", 2),
        ("daemon", 3),
        ("auth", 4),
        ("syslog", 5),
        ("lpr", 6),
        ("news", 7),
        ("uucp", 8),
        ("cron", 9),
        ("authpriv", 10),
        ("ftp", 11),
        ("local0", 16),
        ("local1", 17),
        ("local2", 18),
        ("local3", 19),
        ("local4", 20),
        ("local5", 21),
        ("local6", 22),
        ("local7", 23),
    ];
    if name.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    facilities
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, f)| Some(f))
        .ok_or_else(|| bad(format!("Unknown syslog facility: {name}")))
}

/// Whether an address is one of ours to bind.
#[must_use]
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(line: &str) -> Result<Config, ConfigError> {
        match parse(
            "pure-ftpd",
            line.split_whitespace().map(OsString::from).collect(),
        )? {
            Invocation::Serve(c) => Ok(*c),
            Invocation::Help => panic!("help"),
        }
    }

    #[test]
    fn defaults_are_pure_ftpds() {
        let c = config("").unwrap();
        assert_eq!(c.max_clients, 50);
        assert_eq!(c.max_idle, Duration::from_secs(900));
        assert_eq!(c.passive_ports, (1024, 65535));
        assert_eq!((c.file_umask, c.dir_umask), (0o133, 0o022));
        assert_eq!((c.max_list_entries, c.max_list_depth), (10_000, 5));
        assert_eq!(c.auth_chain(), vec![AuthMethod::Pam]);
    }

    #[test]
    fn short_long_bundled_and_prefixed_options() {
        let c = config("-c5 -C 2 --maxidletime=3 -Ej --bind 127.0.0.1,2121 -l puredb:/etc/p.pdb -l unix --userband 10:20").unwrap();
        assert_eq!((c.max_clients, c.max_clients_per_ip), (5, Some(2)));
        assert_eq!(c.max_idle, Duration::from_secs(180));
        assert!(c.no_anonymous && c.create_home);
        assert_eq!(
            (c.bind_host.as_deref(), c.bind_port.as_str()),
            (Some("127.0.0.1"), "2121")
        );
        assert_eq!(
            c.auth,
            vec![AuthMethod::PureDb("/etc/p.pdb".into()), AuthMethod::Unix]
        );
        assert_eq!(
            c.user_bandwidth,
            Some(UpDown {
                up: Some(10240),
                down: Some(20480)
            })
        );
    }

    #[test]
    fn the_last_of_a_and_capital_a_decides() {
        let c = config("-a 100 -A").unwrap();
        assert!(c.chroot_everyone && c.trusted_gid.is_none());
        let c = config("-A -a 100").unwrap();
        assert!(!c.chroot_everyone && c.trusted_gid == Some(100));
    }

    #[test]
    fn values_pure_ftpd_refuses_are_refused() {
        for line in [
            "-p 80:90",
            "-p 3000:2000",
            "-c 0",
            "-l nosuch",
            "-U 999",
            "-Y 4",
            "-t 0",
            "--bogus",
            "-9",
            "stray",
            "-q 0:1",
            "-L 0:5",
        ] {
            assert!(config(line).is_err(), "{line}");
        }
        assert_eq!(
            config("--max").unwrap_err().getopt.as_deref(),
            Some(
                "pure-ftpd: option '--max' is ambiguous; possibilities: '--maxclientsperip' \
                 '--maxclientsnumber' '--maxidletime' '--maxdiskusagepct' '--maxload'"
            )
        );
        assert_eq!(
            config("-p 80:90").unwrap_err().message,
            "Illegal ports range: 80:90"
        );
    }

    #[test]
    fn umask_and_bind_forms() {
        assert_eq!(umask("077").unwrap(), (0o77, 0o77));
        assert_eq!(umask(":077").unwrap(), (0o133, 0o77));
        let c = config("-S 2121").unwrap();
        assert_eq!((c.bind_host, c.bind_port.as_str()), (None, "2121"));
        let c = config("-S ::1,2121").unwrap();
        assert_eq!(c.bind_host.as_deref(), Some("::1"));
    }

    #[test]
    fn help_lists_every_option_once() {
        assert!(!help_text(false).contains("pure-ftpd v"));
        let help = help_text(true);
        assert!(help.starts_with("pure-ftpd v"));
        assert!(help.contains("-0\t--notruncate\t\n"));
        assert!(help.contains("-2\t--certfile\t<opt>\n"));
        assert_eq!(help.lines().count(), 2 + 57);
        assert!(
            !help.contains("implicittls"),
            "long-only options of ours are not in Pure-FTPd's list"
        );
    }
}
