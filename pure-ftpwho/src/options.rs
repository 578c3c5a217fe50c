//! Pure-FTPd's options (`getopt "CchHnpsvwWx"`), with its fall-through quirks: `-c`
//! and `-C` mean CGI mode (a `Content-Type` line, then the HTML table alone), `-W` the
//! HTML table alone, `-w` the whole page; `GATEWAY_INTERFACE` in the environment
//! selects CGI with the whole page. An unknown option prints the help, status 0.
//! `--json` is ours.

use std::ffi::OsString;

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

/// Parses the arguments; `Err` holds the help to print (asked for, or a bad option).
///
/// # Errors
/// The help text.
pub(crate) fn parse(
    args: impl IntoIterator<Item = OsString>,
    cgi_environment: bool,
) -> Result<Options, &'static str> {
    use lexopt::Arg::{Long, Short, Value};
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
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(|_| HELP)? {
        match arg {
            Short('h') => return Err(HELP),
            Short('n' | 'H') => options.numeric = true,
            Short('C' | 'c') => {
                options.cgi = true;
                options.html_raw = true;
                options.format = Format::Html;
            }
            Short('W') => {
                options.html_raw = true;
                options.format = Format::Html;
            }
            Short('w') => options.format = Format::Html,
            Short('p') => options.format = Format::Plist,
            Short('s') => options.format = Format::Shell,
            Short('x') => options.format = Format::Xml,
            Short('v') => options.verbose = true,
            Long("json") => options.format = Format::Json,
            Short(c) => {
                eprintln!("pure-ftpwho: invalid option -- '{c}'");
                return Err(HELP);
            }
            Long(_) | Value(_) => return Err(HELP),
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str], cgi: bool) -> Result<Options, &'static str> {
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
        assert_eq!(parse_args(&["-q"], false), Err(HELP));
        assert_eq!(parse_args(&["--json"], false).unwrap().format, Format::Json);
    }
}
