//! From a command line to a [`Command`].
//!
//! The verb is the leading run of `[A-Za-z0-9@]`, case-insensitive; it must be followed
//! by the end of the line or one space, and the argument is everything after that space
//! (further spaces included). Leading bytes above 0x7F (the Telnet IP/Synch a client
//! sends before ABOR) are skipped. A line with no verb, or a verb glued to other
//! characters, is ignored without a reply, as Pure-FTPd 1.0.50 does.

use crate::addr::{self, AddrError};
use std::net::{SocketAddr, SocketAddrV4};

/// What a line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Nothing: no reply is sent.
    Ignore,
    /// A command.
    Command(Command),
}

/// TYPE's argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeCode {
    /// `A`: ASCII, line ends converted.
    Ascii,
    /// `I` or `L8`: bytes as they are.
    Image,
    /// `L` alone or `L 8`: binary, with a `Missing argument` remark.
    LocalUnsized,
    /// `L` followed by another digit: refused.
    LocalOther,
    /// Anything else.
    Unknown(Vec<u8>),
    /// No argument.
    Missing,
}

/// REST's argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// A byte offset.
    At(u64),
    /// Not a number.
    NotNumeric,
    /// No argument.
    Missing,
}

/// A SITE subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// `SITE HELP`.
    Help,
    /// `SITE TIME`.
    Time,
    /// `SITE IDLE [seconds]`, the raw argument.
    Idle(Vec<u8>),
    /// `SITE CHMOD <mode> <path>` (or plain `CHMOD`), the raw argument.
    Chmod(Vec<u8>),
    /// `SITE UTIME ...`, the raw argument.
    Utime(Vec<u8>),
    /// `SITE ALIAS [name]`.
    Alias(Vec<u8>),
    /// Any other word, upper-cased as the client wrote it.
    Unknown(Vec<u8>),
    /// `SITE` alone.
    Missing,
}

/// A command with its argument. Paths stay bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Command {
    User(Vec<u8>),
    Pass(Vec<u8>),
    Acct,
    Quit,
    Noop,
    Syst,
    Type(TypeCode),
    Mode(Vec<u8>),
    Stru(Vec<u8>),
    Feat,
    Opts(Vec<u8>),
    Help,
    Auth(Vec<u8>),
    Adat,
    Pbsz,
    Prot(Vec<u8>),
    Ccc,
    Cwd(Vec<u8>),
    Cdup,
    Pwd,
    Port(Result<SocketAddrV4, AddrError>),
    Eprt(Result<SocketAddr, AddrError>),
    Pasv,
    Epsv(Vec<u8>),
    Esta,
    Estp,
    Pret(Vec<u8>),
    Allo(Vec<u8>),
    Rest(Restart),
    Retr(Vec<u8>),
    Stor(Vec<u8>),
    Appe(Vec<u8>),
    Stou,
    Dele(Vec<u8>),
    Rmd(Vec<u8>),
    Mkd(Vec<u8>),
    Rnfr(Vec<u8>),
    Rnto(Vec<u8>),
    Abor,
    List(Vec<u8>),
    Nlst(Vec<u8>),
    Mlsd(Vec<u8>),
    Mlst(Vec<u8>),
    Size(Vec<u8>),
    Mdtm(Vec<u8>),
    Mfmt(Vec<u8>),
    Stat(Vec<u8>),
    Site(Site),
    /// An HTTP method: the client mistook us for a web server or proxy (lower-cased).
    Http(Vec<u8>),
    /// Any other verb (lower-cased).
    Unknown(Vec<u8>),
}

impl Command {
    /// Whether the command may be used before logging in.
    #[must_use]
    pub fn allowed_before_login(&self) -> bool {
        matches!(
            self,
            Self::User(_)
                | Self::Pass(_)
                | Self::Acct
                | Self::Quit
                | Self::Noop
                | Self::Syst
                | Self::Auth(_)
                | Self::Adat
                | Self::Pbsz
                | Self::Prot(_)
                | Self::Ccc
                | Self::Type(_)
                | Self::Mode(_)
                | Self::Stru(_)
                | Self::Feat
                | Self::Opts(_)
                | Self::Help
                | Self::Http(_)
        )
    }

    /// The lower-case verb, for logs.
    #[must_use]
    pub fn verb(line: &[u8]) -> Vec<u8> {
        let start = line.iter().position(|&b| b < 0x80).unwrap_or(line.len());
        line[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'@')
            .map(u8::to_ascii_lowercase)
            .collect()
    }
}

/// Parses one line (already framed by [`crate::line::LineReader`]).
#[must_use]
pub fn parse(line: &[u8]) -> Parsed {
    let start = line.iter().position(|&b| b < 0x80).unwrap_or(line.len());
    let line = &line[start..];
    let verb_len = line
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'@')
        .count();
    if verb_len == 0 {
        return Parsed::Ignore;
    }
    let arg = match line.get(verb_len) {
        None => &[][..],
        Some(b) if b.is_ascii_whitespace() => &line[verb_len + 1..],
        Some(_) => return Parsed::Ignore,
    };
    let verb = line[..verb_len].to_ascii_lowercase();
    Parsed::Command(command(&verb, arg))
}

fn command(verb: &[u8], arg: &[u8]) -> Command {
    let raw = || arg.to_vec();
    match verb {
        b"user" => Command::User(raw()),
        b"pass" => Command::Pass(raw()),
        b"acct" => Command::Acct,
        b"quit" => Command::Quit,
        b"noop" => Command::Noop,
        b"syst" => Command::Syst,
        b"type" => Command::Type(type_code(arg)),
        b"mode" => Command::Mode(raw()),
        b"stru" => Command::Stru(raw()),
        b"feat" => Command::Feat,
        b"opts" => Command::Opts(raw()),
        b"help" => Command::Help,
        b"auth" => Command::Auth(raw()),
        b"adat" => Command::Adat,
        b"pbsz" => Command::Pbsz,
        b"prot" => Command::Prot(raw()),
        b"ccc" => Command::Ccc,
        b"cwd" | b"xcwd" => Command::Cwd(raw()),
        b"cdup" | b"xcup" => Command::Cdup,
        b"pwd" | b"xpwd" => Command::Pwd,
        b"port" => Command::Port(addr::parse_port(arg)),
        b"eprt" => Command::Eprt(addr::parse_eprt(arg)),
        b"pasv" | b"p@sw" => Command::Pasv,
        b"epsv" => Command::Epsv(raw()),
        b"esta" => Command::Esta,
        b"estp" => Command::Estp,
        b"pret" => Command::Pret(raw()),
        b"allo" => Command::Allo(raw()),
        b"rest" => Command::Rest(restart(arg)),
        b"retr" => Command::Retr(raw()),
        b"stor" => Command::Stor(reveal_extra_spaces(arg)),
        b"appe" => Command::Appe(reveal_extra_spaces(arg)),
        b"stou" => Command::Stou,
        b"dele" => Command::Dele(raw()),
        b"rmd" | b"xrmd" => Command::Rmd(raw()),
        b"mkd" | b"xmkd" => Command::Mkd(reveal_extra_spaces(arg)),
        b"rnfr" => Command::Rnfr(raw()),
        b"rnto" => Command::Rnto(reveal_extra_spaces(arg)),
        b"abor" => Command::Abor,
        b"list" => Command::List(raw()),
        b"nlst" => Command::Nlst(raw()),
        b"mlsd" => Command::Mlsd(raw()),
        b"mlst" => Command::Mlst(raw()),
        b"size" => Command::Size(raw()),
        b"mdtm" => Command::Mdtm(raw()),
        b"mfmt" => Command::Mfmt(raw()),
        b"stat" => Command::Stat(raw()),
        b"site" => Command::Site(site(arg)),
        b"chmod" => Command::Site(Site::Chmod(raw())),
        b"connect" | b"delete" | b"get" | b"head" | b"options" | b"post" | b"put" => {
            Command::Http(verb.to_vec())
        }
        _ => Command::Unknown(verb.to_vec()),
    }
}

fn type_code(arg: &[u8]) -> TypeCode {
    match arg.first().map(u8::to_ascii_lowercase) {
        None => TypeCode::Missing,
        Some(b'a') => TypeCode::Ascii,
        Some(b'i') => TypeCode::Image,
        Some(b'l') => match arg.get(1) {
            Some(b'8') => TypeCode::Image,
            Some(d) if d.is_ascii_digit() => TypeCode::LocalOther,
            _ => TypeCode::LocalUnsized,
        },
        Some(_) => TypeCode::Unknown(arg.to_vec()),
    }
}

/// REST's offset as Pure-FTPd reads it: `strtoull` (leading blanks, a sign, decimal
/// digits) and nothing after the number; anything that does not fit a (signed) `off_t`
/// is refused, as the negative value it becomes there.
fn restart(arg: &[u8]) -> Restart {
    if arg.is_empty() {
        return Restart::Missing;
    }
    let blanks = arg
        .iter()
        .take_while(|b| b" \t\n\x0b\x0c\r".contains(b))
        .count();
    let rest = &arg[blanks..];
    let (negative, digits) = match rest.split_first() {
        Some((b'-', digits)) => (true, digits),
        Some((b'+', digits)) => (false, digits),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Restart::NotNumeric;
    }
    let value = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<u64>().ok())
        .and_then(|v| i64::try_from(v).ok());
    match value {
        Some(0) => Restart::At(0),
        Some(v) if !negative => Restart::At(v.unsigned_abs()),
        _ => Restart::NotNumeric,
    }
}

fn site(arg: &[u8]) -> Site {
    let word_len = arg.iter().take_while(|b| !b.is_ascii_whitespace()).count();
    let (word, rest) = (
        &arg[..word_len],
        arg.get(word_len + 1..).unwrap_or_default(),
    );
    match word.to_ascii_lowercase().as_slice() {
        b"" => Site::Missing,
        b"help" => Site::Help,
        b"time" => Site::Time,
        b"idle" => Site::Idle(rest.to_vec()),
        b"chmod" => Site::Chmod(rest.to_vec()),
        b"utime" => Site::Utime(rest.to_vec()),
        b"alias" => Site::Alias(rest.to_vec()),
        _ => Site::Unknown(word.to_vec()),
    }
}

/// For names that create something (STOR, APPE, MKD, RNTO): `//` and `/./` are
/// simplified, and leading and trailing white space becomes `_`, so that no file
/// name starts or ends invisibly.
#[must_use]
pub fn reveal_extra_spaces(arg: &[u8]) -> Vec<u8> {
    let mut out = simplify(arg);
    let leading = out.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let trailing = out
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    let trailing = trailing.min(out.len() - leading);
    let len = out.len();
    for (i, b) in out.iter_mut().enumerate() {
        if i < leading || i >= len - trailing {
            *b = b'_';
        }
    }
    out
}

/// Pure-FTPd's `simplify()`, step for step: `//` and `/./` collapse, `x/../` goes with
/// the name before it, a leading `./` goes, and a trailing `/.` or `/..` is resolved. A
/// leading `../` is skipped rather than removed (Pure-FTPd moves its own pointer past
/// it), so `../a` stays what it is. Only names that create something go through it, as
/// in Pure-FTPd; the result is still resolved inside the session's root.
fn simplify(path: &[u8]) -> Vec<u8> {
    let mut s = path.to_vec();
    while let Some(i) = find(&s, 0, b"//") {
        s.remove(i);
    }
    while let Some(i) = find(&s, 0, b"/./") {
        s.drain(i..i + 2);
    }
    let mut start = 0;
    while s[start..].starts_with(b"../") {
        start += 3;
    }
    let mut parent = find(&s, start, b"/../");
    if parent == Some(start) {
        while s[start..].starts_with(b"/../") {
            s.drain(start..start + 3);
        }
        parent = find(&s, start, b"/../");
    }
    while let Some(at) = parent {
        let next = at + 4;
        let mut from = at;
        if from != start {
            from -= 1;
        }
        while from != start && s[from] != b'/' {
            from -= 1;
        }
        if s[from] == b'/' {
            from += 1;
        }
        s.drain(from..next);
        parent = find(&s, start, b"/../");
    }
    let mut at = start;
    if s.get(at) == Some(&b'.') {
        at += 1;
        if at == s.len() {
            return s;
        }
        if s[at] == b'/' {
            let before = s.len();
            while s.get(at) == Some(&b'/') {
                at += 1;
            }
            s.drain(start..at);
            // Pure-FTPd then looks at the same offset of the shortened string, or past
            // its end at what the copy left there: the end of the old string stops it.
            if at == s.len() || at == before {
                return s;
            }
        }
    } else if at == s.len() {
        return s;
    }
    let Some(mut at) = s.len().checked_sub(1) else {
        return s;
    };
    if s[at] != b'.' || at <= start {
        return s;
    }
    at -= 1;
    if s[at] == b'/' {
        s.truncate(at + 1);
        return s;
    }
    if s[at] != b'.' || at == start {
        return s;
    }
    at -= 1;
    if s[at] != b'/' {
        return s;
    }
    s.truncate(at);
    match s[start..].iter().rposition(|&b| b == b'/') {
        Some(slash) => s.truncate(start + slash + 1),
        None => {
            s.truncate(start);
            s.push(b'/');
        }
    }
    s
}

/// Where `needle` first occurs in `haystack` at or after `from`.
fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &[u8]) -> Command {
        match parse(line) {
            Parsed::Command(c) => c,
            Parsed::Ignore => panic!("{:?} was ignored", String::from_utf8_lossy(line)),
        }
    }

    #[test]
    fn verbs_are_case_insensitive_and_keep_spaces_in_arguments() {
        assert_eq!(cmd(b"user alice"), Command::User(b"alice".to_vec()));
        assert_eq!(
            cmd(b"RETR  two spaces "),
            Command::Retr(b" two spaces ".to_vec())
        );
        assert_eq!(cmd(b"XCWD dir"), Command::Cwd(b"dir".to_vec()));
        assert_eq!(cmd(b"P@SW"), Command::Pasv);
        assert_eq!(cmd(b"get / HTTP/1.0"), Command::Http(b"get".to_vec()));
        assert_eq!(cmd(b"FOO"), Command::Unknown(b"foo".to_vec()));
    }

    #[test]
    fn lines_without_a_proper_verb_are_ignored() {
        for line in [&b""[..], b" NOOP", b"NOOP_x", b"NOOP-", b"/etc"] {
            assert_eq!(
                parse(line),
                Parsed::Ignore,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn telnet_interrupt_before_abor_is_skipped() {
        assert_eq!(cmd(b"\xff\xf4\xff\xf2ABOR"), Command::Abor);
    }

    #[test]
    fn type_arguments() {
        assert_eq!(cmd(b"TYPE A"), Command::Type(TypeCode::Ascii));
        assert_eq!(cmd(b"TYPE a n"), Command::Type(TypeCode::Ascii));
        assert_eq!(cmd(b"TYPE I"), Command::Type(TypeCode::Image));
        assert_eq!(cmd(b"TYPE L8"), Command::Type(TypeCode::Image));
        assert_eq!(cmd(b"TYPE L 8"), Command::Type(TypeCode::LocalUnsized));
        assert_eq!(cmd(b"TYPE L7"), Command::Type(TypeCode::LocalOther));
        assert_eq!(
            cmd(b"TYPE X"),
            Command::Type(TypeCode::Unknown(b"X".to_vec()))
        );
        assert_eq!(cmd(b"TYPE"), Command::Type(TypeCode::Missing));
    }

    #[test]
    fn rest_and_site() {
        assert_eq!(cmd(b"REST 100"), Command::Rest(Restart::At(100)));
        assert_eq!(cmd(b"REST 100x"), Command::Rest(Restart::NotNumeric));
        assert_eq!(cmd(b"REST +7"), Command::Rest(Restart::At(7)));
        assert_eq!(cmd(b"REST -0"), Command::Rest(Restart::At(0)));
        assert_eq!(cmd(b"REST -1"), Command::Rest(Restart::NotNumeric));
        assert_eq!(
            cmd(b"REST 9223372036854775807"),
            Command::Rest(Restart::At(9_223_372_036_854_775_807))
        );
        assert_eq!(
            cmd(b"REST 9223372036854775808"),
            Command::Rest(Restart::NotNumeric)
        );
        assert_eq!(cmd(b"REST x"), Command::Rest(Restart::NotNumeric));
        assert_eq!(cmd(b"REST"), Command::Rest(Restart::Missing));
        assert_eq!(
            cmd(b"SITE chmod 644 a b"),
            Command::Site(Site::Chmod(b"644 a b".to_vec()))
        );
        assert_eq!(
            cmd(b"CHMOD 644 a"),
            Command::Site(Site::Chmod(b"644 a".to_vec()))
        );
        assert_eq!(cmd(b"SITE"), Command::Site(Site::Missing));
        assert_eq!(
            cmd(b"SITE EXEC ls"),
            Command::Site(Site::Unknown(b"EXEC".to_vec()))
        );
    }

    #[test]
    fn created_names_reveal_invisible_spaces() {
        assert_eq!(cmd(b"STOR  a b "), Command::Stor(b"_a b_".to_vec()));
        assert_eq!(cmd(b"MKD a//b/./c"), Command::Mkd(b"a/b/c".to_vec()));
        assert_eq!(cmd(b"STOR    "), Command::Stor(b"___".to_vec()));
        assert_eq!(cmd(b"STOR"), Command::Stor(Vec::new()));
    }

    /// Pure-FTPd's `simplify()` gives these (its C code run on them); 200,000 random
    /// names of `/`, `.`, `a` and `b` gave the same as ours when the port was written.
    #[test]
    fn created_names_are_simplified_as_pure_ftpd_does() {
        let cases: [(&str, &str); 25] = [
            ("a/../b", "b"),
            ("../a", "../a"),
            ("../../a/../b", "../../b"),
            ("/../x", "/x"),
            ("/../../x", "/x"),
            ("./y", "y"),
            (".//y", "y"),
            ("./", ""),
            (".", "."),
            ("..", ".."),
            ("z/.", "z/"),
            ("q/..", "/"),
            ("p/q/..", "p/"),
            ("/q/..", "/"),
            ("a/b/../../c", "c"),
            ("/a/../../x", "/x"),
            ("a//b/./c", "a/b/c"),
            (".../a", ".../a"),
            ("a/..b", "a/..b"),
            ("x/./../y", "y"),
            ("../.", "../."),
            ("...", "..."),
            ("a/...", "a/..."),
            ("/..", "/"),
            ("a/../..", ".."),
        ];
        for (name, simplified) in cases {
            assert_eq!(
                String::from_utf8(simplify(name.as_bytes())).unwrap(),
                simplified,
                "{name}"
            );
        }
    }

    #[test]
    fn only_some_commands_work_before_login() {
        assert!(cmd(b"FEAT").allowed_before_login());
        assert!(!cmd(b"LIST").allowed_before_login());
        assert!(!cmd(b"CWD /").allowed_before_login());
    }
}
