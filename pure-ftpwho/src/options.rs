//! Pure-FTPd's options (`getopt "CchHnpsvwWx"`), with its fall-through quirks: `-c`
//! and `-C` mean CGI mode (a `Content-Type` line, then the HTML table alone), `-W` the
//! HTML table alone, `-w` the whole page; `GATEWAY_INTERFACE` in the environment
//! selects CGI with the whole page. An unknown option prints the help, status 0,
//! and nothing on stderr (Pure-FTPd's closes it first).
//! `--json` is ours.

use std::ffi::OsString;

use pureftpd_cli::{Exit, Getopt, Item, Opt};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The text table (`-v`: verbose).
    Text,
    /// `-s`.
    Shell,
    /// `-x`.
    Xml,
    /// `-w`, `-W`, `-c`.
    Html,
    /// `-p`.
    Plist,
    /// `--json`.
    Json,
}

/// What to print, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The format.
    pub format: Format,
    /// `-v`.
    pub verbose: bool,
    /// `-H`/`-n`: addresses, not host names.
    pub numeric: bool,
    /// HTML: print `Content-Type: text/html` and a blank line first.
    pub cgi: bool,
    /// HTML: the table alone, without the page around it.
    pub html_raw: bool,
}

/// The help text (Pure-FTPd's, plus `--json`).
pub(crate) const HELP: &str = "\nUsage :\n\n\
-c : this program is called by a web server (CGI mode)\n\
-h : help\n\
-H : don't resolve host names, only show IP addresses\n\
-n : synonym for -H\n\
-p : output Apple / GNUStep plist data\n\
-s : easily parsable output for shell scripts\n\
\x20    format is :\n\
\x20    pid|acct|time|state|file|peer|local|port|current|total|%|bandwidth\n\
-v : output verbose ASCII\n\
-w : output HTML page (web mode)\n\
-W : output HTML page without header/footer (embedded mode)\n\
-x : output XML data\n\
--json : output JSON (one object per session)\n\n";

/// Stand-in letter of `--json`, which has no short form.
const JSON: char = '\u{1}';

/// Pure-FTPd's `getopt "CchHnpsvwWx"`, and our `--json`.
const TABLE: [Opt; 12] = [
    Opt::short('C', false),
    Opt::short('c', false),
    Opt::short('h', false),
    Opt::short('H', false),
    Opt::short('n', false),
    Opt::short('p', false),
    Opt::short('s', false),
    Opt::short('v', false),
    Opt::short('w', false),
    Opt::short('W', false),
    Opt::short('x', false),
    Opt::flag(JSON, "json"),
];

/// Parses the arguments; a mistake or `-h` is the help, status 0. Pure-FTPd's closes
/// stderr before reading its options, so getopt's complaint is never seen: nor is ours.
///
/// # Errors
/// The help, as an [`Exit`].
pub(crate) fn parse(
    args: impl IntoIterator<Item = OsString>,
    cgi_environment: bool,
) -> Result<Options, Exit> {
    let mut options = Options {
        format: if cgi_environment {
            Format::Html
        } else {
            Format::Text
        },
        verbose: false,
        numeric: false,
        cgi: cgi_environment,
        html_raw: false,
    };
    let mut getopt = Getopt::new(&TABLE, args);
    loop {
        let letter = match getopt.next() {
            Ok(Some(Item::Opt { letter, .. })) => letter,
            Ok(None) => break,
            Ok(Some(Item::Operand(_))) => continue,
            Err(_) => return Err(Exit::help(HELP)),
        };
        match letter {
            'h' => return Err(Exit::help(HELP)),
            'n' | 'H' => options.numeric = true,
            'C' | 'c' => {
                options.cgi = true;
                options.html_raw = true;
                options.format = Format::Html;
            }
            'W' => {
                options.html_raw = true;
                options.format = Format::Html;
            }
            'w' => options.format = Format::Html,
            'p' => options.format = Format::Plist,
            's' => options.format = Format::Shell,
            'x' => options.format = Format::Xml,
            'v' => options.verbose = true,
            JSON => options.format = Format::Json,
            _ => unreachable!("every letter of TABLE is handled"),
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str], cgi: bool) -> Result<Options, Exit> {
        parse(args.iter().map(OsString::from), cgi)
    }

    #[test]
    fn pure_ftpds_fall_through() {
        let c = parse_args(&["-c"], false).unwrap();
        assert_eq!((c.format, c.cgi, c.html_raw), (Format::Html, true, true));
        let w = parse_args(&["-W"], false).unwrap();
        assert_eq!((w.format, w.cgi, w.html_raw), (Format::Html, false, true));
        let cgi = parse_args(&[], true).unwrap();
        assert_eq!(
            (cgi.format, cgi.cgi, cgi.html_raw),
            (Format::Html, true, false)
        );
        let sv = parse_args(&["-s", "-vn"], false).unwrap();
        assert_eq!(
            (sv.format, sv.verbose, sv.numeric),
            (Format::Shell, true, true)
        );
        assert_eq!(parse_args(&["-q"], false), Err(Exit::help(HELP)));
        assert_eq!(parse_args(&["--bogus"], false), Err(Exit::help(HELP)));
        assert_eq!(parse_args(&["--json"], false).unwrap().format, Format::Json);
    }
}
