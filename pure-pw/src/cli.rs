//! pure-pw's command line: `pure-pw <action> [<login>] [options]`.
//!
//! Kept as Pure-FTPd parses it: the word after the action is always the login (or, for
//! `mkdb`, the database path), even if it starts with `-`; options follow getopt's rules
//! (bundling, `-u1`, arguments anywhere, `--` ends options); an unknown option prints
//! `<login>: invalid option -- 'X'` and the usage, and exits 0. Options that depend on
//! each other (`-u` after `-g`, `-D` then `-d`) behave as in the C tool.
//!
//! Unlike the C tool, values it would silently mangle are refused: `-u 12abc` or
//! `-t 1.5` are errors, not 12 and 1.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use pureftpd_account::TimeWindow;
use pureftpd_account::ip::IpList;
use pureftpd_cli::{Exit, Getopt, Item, Opt};

use crate::{exit, usage};

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    UserAdd,
    UserMod,
    UserDel,
    Passwd,
    Show,
    Mkdb,
    List,
}

impl Action {
    fn parse(word: &[u8]) -> Option<Self> {
        let actions = [
            ("useradd", Self::UserAdd),
            ("usermod", Self::UserMod),
            ("userdel", Self::UserDel),
            ("passwd", Self::Passwd),
            ("show", Self::Show),
            ("mkdb", Self::Mkdb),
            ("list", Self::List),
        ];
        actions
            .iter()
            .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(word))
            .map(|&(_, action)| action)
    }
}

/// An optional field: left alone, emptied with `''`, or set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T: Copy> Change<T> {
    /// Applies the change to a field.
    pub(crate) fn apply(self, field: &mut Option<T>) {
        match self {
            Self::Keep => {}
            Self::Clear => *field = None,
            Self::Set(value) => *field = Some(value),
        }
    }

    /// The value for a new account.
    pub(crate) fn initial(self) -> Option<T> {
        match self {
            Self::Set(value) => Some(value),
            Self::Keep | Self::Clear => None,
        }
    }
}

/// Everything the options can say.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub(crate) passwd_file: Option<PathBuf>,
    pub(crate) pdb_file: Option<PathBuf>,
    pub(crate) also_mkdb: bool,
    /// 0 when not given (root is never allowed).
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) home: Option<Vec<u8>>,
    pub(crate) gecos: Option<Vec<u8>>,
    pub(crate) upload_bandwidth: Change<u64>,
    pub(crate) download_bandwidth: Change<u64>,
    pub(crate) upload_ratio: Change<u32>,
    pub(crate) download_ratio: Change<u32>,
    pub(crate) max_sessions: Change<u32>,
    pub(crate) quota_files: Change<u64>,
    pub(crate) quota_size: Change<u64>,
    pub(crate) allow_local_ips: Option<Vec<u8>>,
    pub(crate) deny_local_ips: Option<Vec<u8>>,
    pub(crate) allow_client_ips: Option<Vec<u8>>,
    pub(crate) deny_client_ips: Option<Vec<u8>>,
    pub(crate) time_window: Change<TimeWindow>,
    /// `-C`: concurrent logins the hash's memory is shared between.
    pub(crate) concurrent_logins: u64,
    /// `-M`: MB of memory reserved for hashing.
    pub(crate) hash_memory_mb: u64,
}

/// A parsed command line.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub(crate) action: Action,
    pub(crate) login: Option<Vec<u8>>,
    pub(crate) options: Options,
    /// `--json` (ours, `show` and `list` only).
    pub(crate) json: bool,
}

/// The options (plain getopt): `-m` and `-h` are flags, every other letter takes a
/// value.
const TABLE: [Opt; 23] = [
    Opt::short('c', true),
    Opt::short('C', true),
    Opt::short('d', true),
    Opt::short('D', true),
    Opt::short('f', true),
    Opt::short('F', true),
    Opt::short('g', true),
    Opt::short('i', true),
    Opt::short('I', true),
    Opt::short('n', true),
    Opt::short('N', true),
    Opt::short('q', true),
    Opt::short('Q', true),
    Opt::short('r', true),
    Opt::short('R', true),
    Opt::short('t', true),
    Opt::short('T', true),
    Opt::short('u', true),
    Opt::short('y', true),
    Opt::short('z', true),
    Opt::short('M', true),
    Opt::short('m', false),
    Opt::short('h', false),
];

/// The usage on stdout, status 0.
pub(crate) fn usage() -> Exit {
    Exit::help(usage::USAGE)
}

fn error(message: impl AsRef<str>) -> Exit {
    Exit::error(message, exit::FAILURE)
}

/// Parses the arguments after the program name.
///
/// # Errors
/// The usage (asked for, or after getopt's complaint), or an error and its status.
pub(crate) fn parse(args: Vec<OsString>) -> Result<Invocation, Exit> {
    let mut args = args.into_iter();
    let Some(action) = args.next() else {
        return Err(usage());
    };
    let action = Action::parse(action.as_encoded_bytes()).ok_or_else(usage)?;
    // `--json` is ours: a word of its own after `show` or `list`, taken out before the
    // rest is read as Pure-FTPd's pure-pw reads it (for other actions it stays a
    // mistake, as there).
    let mut json = false;
    let args: Vec<OsString> = args
        .filter(|word| {
            let ours = matches!(action, Action::Show | Action::List) && word == "--json";
            json |= ours;
            !ours
        })
        .collect();
    let mut args = args.into_iter();
    let login = args.next().map(|word| {
        // A colon would split the line: Pure-FTPd turns it into '_'.
        let mut login = word.into_vec();
        colons_to_underscores(&mut login);
        login
    });
    // The C tool hands getopt the line from the login on, so the login is the name
    // its complaints start with.
    let program = login.as_deref().map_or_else(
        || "pure-pw".to_string(),
        |l| String::from_utf8_lossy(l).into_owned(),
    );
    let mut options = Options {
        concurrent_logins: 8,
        hash_memory_mb: 64,
        ..Options::default()
    };
    let mut chroot = true;
    let mut getopt = Getopt::short_only(&TABLE, args);
    loop {
        let (flag, value) = match getopt.next() {
            Ok(Some(Item::Opt { letter, value })) => (letter, value),
            Ok(None) => break,
            // getopt moves operands to the end: they are ignored.
            Ok(Some(Item::Operand(_))) => continue,
            Err(problem) => return Err(usage().after(problem.message(&program))),
        };
        match (flag, value) {
            ('m', _) => options.also_mkdb = true,
            ('h', _) => return Err(usage()),
            (flag, Some(value)) => {
                if flag == 'D' {
                    // As in the C tool, once -D is seen no later -d chroots either.
                    chroot = false;
                }
                apply(&mut options, flag, value.into_vec(), chroot)?;
            }
            (_, None) => unreachable!("every other letter takes a value"),
        }
    }
    Ok(Invocation {
        action,
        login,
        options,
        json,
    })
}

fn apply(options: &mut Options, flag: char, value: Vec<u8>, chroot: bool) -> Result<(), Exit> {
    let shown = String::from_utf8_lossy(&value).into_owned();
    match flag {
        'c' => options.gecos = Some(text_field(value, "the gecos")?),
        'd' | 'D' => options.home = Some(home(value, chroot)?),
        'f' => options.passwd_file = Some(PathBuf::from(OsString::from_vec(value))),
        'F' => options.pdb_file = Some(PathBuf::from(OsString::from_vec(value))),
        'u' => set_uid(options, &value)?,
        'g' => set_gid(options, &value)?,
        'i' => options.allow_local_ips = Some(ip_list(value)?),
        'I' => options.deny_local_ips = Some(ip_list(value)?),
        'r' => options.allow_client_ips = Some(ip_list(value)?),
        'R' => options.deny_client_ips = Some(ip_list(value)?),
        'n' => options.quota_files = clearable(&value, Some, "files quota")?,
        'N' => {
            options.quota_size =
                clearable(&value, |mb: u64| mb.checked_mul(1 << 20), "size quota (MB)")?
        }
        // A bandwidth of 0 leaves the field as it was, as in the C tool.
        't' => {
            options.download_bandwidth = bandwidth(&value, "download bandwidth (KB/s)")?
                .unwrap_or(options.download_bandwidth)
        }
        'T' => {
            options.upload_bandwidth =
                bandwidth(&value, "upload bandwidth (KB/s)")?.unwrap_or(options.upload_bandwidth)
        }
        'q' => options.upload_ratio = ratio(&value, "Illegal upload ratio")?,
        'Q' => options.download_ratio = ratio(&value, "Illegal download ratio")?,
        'y' => {
            options.max_sessions = match clearable::<u32>(&value, Some, "max sessions")? {
                Change::Set(0) => Change::Clear,
                other => other,
            }
        }
        'z' => {
            options.time_window = if value.is_empty() {
                Change::Clear
            } else {
                Change::Set(TimeWindow::parse(&value).map_err(error)?)
            }
        }
        'C' => {
            options.concurrent_logins = match number::<u64>(&value) {
                Some(n) if n >= 1 => n,
                _ => return Err(error("number of concurrent logins must be at least 1")),
            }
        }
        'M' => {
            options.hash_memory_mb = match number::<u64>(&value) {
                Some(n) if n >= 1 => n,
                _ => {
                    return Err(error(format!(
                        "memory reserved for password hashing is too low: [{shown}] (give megabytes)"
                    )));
                }
            }
        }
        _ => unreachable!("flags are checked before"),
    }
    Ok(())
}

/// Digits only, fitting `T`.
fn number<T: std::str::FromStr>(value: &[u8]) -> Option<T> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

fn clearable<T: std::str::FromStr>(
    value: &[u8],
    scale: impl Fn(T) -> Option<T>,
    what: &str,
) -> Result<Change<T>, Exit> {
    if value.is_empty() {
        return Ok(Change::Clear);
    }
    number(value)
        .and_then(scale)
        .map(Change::Set)
        .ok_or_else(|| {
            error(format!(
                "Invalid {what}: [{}] (give a whole number, or '' for unlimited)",
                String::from_utf8_lossy(value)
            ))
        })
}

/// `None` for 0, which leaves the field unchanged.
fn bandwidth(value: &[u8], what: &str) -> Result<Option<Change<u64>>, Exit> {
    match clearable::<u64>(value, Some, what)? {
        Change::Set(0) => Ok(None),
        Change::Set(kb) => kb
            .checked_mul(1024)
            .map(|bytes| Some(Change::Set(bytes)))
            .ok_or_else(|| error(format!("Invalid {what}: too large"))),
        other => Ok(Some(other)),
    }
}

fn ratio(value: &[u8], message: &str) -> Result<Change<u32>, Exit> {
    if value.is_empty() {
        return Ok(Change::Clear);
    }
    match number::<u32>(value) {
        Some(n) if n >= 1 => Ok(Change::Set(n)),
        _ => Err(error(message)),
    }
}

fn set_uid(options: &mut Options, value: &[u8]) -> Result<(), Exit> {
    if options.uid > 0 {
        return Err(error("You already gave an uid"));
    }
    let name = String::from_utf8_lossy(value);
    if let Ok(Some(user)) = nix::unistd::User::from_name(&name) {
        options.uid = user.uid.as_raw();
        if options.gid == 0 {
            options.gid = user.gid.as_raw();
        }
        return Ok(());
    }
    options.uid = number(value).ok_or_else(|| {
        Exit::error(
            format!("Unknown user [{name}]: give a user name or a numeric uid"),
            exit::NEED_IDS,
        )
    })?;
    Ok(())
}

fn set_gid(options: &mut Options, value: &[u8]) -> Result<(), Exit> {
    if options.gid > 0 && options.uid == 0 {
        return Err(error("You already gave a gid"));
    }
    let name = String::from_utf8_lossy(value);
    if let Ok(Some(group)) = nix::unistd::Group::from_name(&name) {
        options.gid = group.gid.as_raw();
        return Ok(());
    }
    options.gid = number(value).ok_or_else(|| {
        Exit::error(
            format!("Unknown group [{name}]: give a group name or a numeric gid"),
            exit::NEED_IDS,
        )
    })?;
    Ok(())
}

/// `-d`/`-D`: trailing slashes removed, `/./` appended to chroot.
fn home(mut value: Vec<u8>, chroot: bool) -> Result<Vec<u8>, Exit> {
    while value.last() == Some(&b'/') {
        value.pop();
    }
    if value.is_empty() {
        return Err(error("home directory is missing"));
    }
    if chroot {
        value.extend_from_slice(b"/./");
    }
    text_field(value, "the home directory")
}

/// A free-text field: colons become '_' (as in the C tool); a line break, which would
/// split the account in two, is refused.
fn text_field(mut value: Vec<u8>, what: &str) -> Result<Vec<u8>, Exit> {
    if value.iter().any(|&b| b == b'\n' || b == b'\r') {
        return Err(error(format!("{what} cannot contain a line break")));
    }
    colons_to_underscores(&mut value);
    Ok(value)
}

fn ip_list(value: Vec<u8>) -> Result<Vec<u8>, Exit> {
    if value.contains(&b':') {
        return Err(error(format!(
            "Invalid address list [{}]: pureftpd.passwd uses ':' as its separator, so IPv6 \
             addresses cannot be stored; use a host name instead",
            String::from_utf8_lossy(&value)
        )));
    }
    IpList::parse(&value).map_err(|e| error(format!("Invalid address list: {e}")))?;
    Ok(value)
}

pub(crate) fn colons_to_underscores(bytes: &mut [u8]) {
    for b in bytes.iter_mut().filter(|b| **b == b':') {
        *b = b'_';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Invocation, Exit> {
        parse(line.split(' ').map(OsString::from).collect())
    }

    #[test]
    fn the_word_after_the_action_is_always_the_login() {
        let inv = parse_line("list -f file").unwrap();
        assert_eq!(inv.login.as_deref(), Some(&b"-f"[..]));
        assert_eq!(inv.options.passwd_file, None);
        let inv = parse_line("mkdb -F x").unwrap();
        assert_eq!(inv.login.as_deref(), Some(&b"-F"[..]));
    }

    #[test]
    fn getopt_bundles_and_permutes() {
        let inv = parse_line("USERADD dave junk -u1 -g1 -mD/d// -C64").unwrap();
        assert_eq!(inv.action, Action::UserAdd);
        assert_eq!((inv.options.uid, inv.options.gid), (1, 1));
        assert!(inv.options.also_mkdb);
        assert_eq!(inv.options.home.as_deref(), Some(&b"/d"[..]));
        assert_eq!(inv.options.concurrent_logins, 64);
    }

    #[test]
    fn minus_d_after_minus_capital_d_does_not_chroot() {
        let inv = parse_line("useradd a -D /x -d /y").unwrap();
        assert_eq!(inv.options.home.as_deref(), Some(&b"/y"[..]));
        let inv = parse_line("useradd a -d /y/").unwrap();
        assert_eq!(inv.options.home.as_deref(), Some(&b"/y/./"[..]));
    }

    #[test]
    fn unknown_options_print_the_usage() {
        assert_eq!(
            parse_line("useradd gina -X").unwrap_err(),
            usage().after("gina: invalid option -- 'X'")
        );
        assert_eq!(parse_line("bogus").unwrap_err(), usage());
        assert_eq!(
            parse_line("show bob -u").unwrap_err(),
            usage().after("bob: option requires an argument -- 'u'")
        );
    }

    #[test]
    fn junk_numbers_are_refused() {
        for line in [
            "useradd a -u 12abc",
            "useradd a -t 1.5",
            "useradd a -n -3",
            "useradd a -y x",
            "useradd a -N 99999999999999999",
            "useradd a -r 1.2.3.999",
            "useradd a -r ::1",
        ] {
            assert!(
                matches!(parse_line(line), Err(Exit { status, .. }) if status != 0),
                "{line}"
            );
        }
    }

    #[test]
    fn empty_values_clear_and_zero_bandwidth_keeps() {
        let inv = parse_line("usermod a -t 0 -T  -q  -y 0 -z  -n ").unwrap();
        let o = inv.options;
        assert_eq!(o.download_bandwidth, Change::Keep);
        assert_eq!(o.upload_bandwidth, Change::Clear);
        assert_eq!(o.upload_ratio, Change::Clear);
        assert_eq!(o.max_sessions, Change::Clear);
        assert_eq!(o.time_window, Change::Clear);
        assert_eq!(o.quota_files, Change::Clear);
    }
}
