//! getopt and getopt_long over an [`Opt`] table, with glibc's messages.
//!
//! Same acceptance as glibc (the GNU permuting mode every Pure-FTPd tool uses):
//! options and operands in any order, `--` ends the options, `-abc` bundles flags,
//! `-c5` and `-c 5` and `--name=5` and `--name 5` give a value, and a value is taken
//! even when it starts with a dash. A long option may be shortened to any prefix that
//! names one option only; an exact name always wins. With plain getopt ([`Getopt::short_only`])
//! `--name` is the option `-` followed by letters, which no table has.

use std::ffi::OsString;

use lexopt::Arg;

use crate::table::Opt;

/// One thing read from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An option of the table, by its letter (or stand-in), with its value if it takes
    /// one.
    Opt {
        letter: char,
        value: Option<OsString>,
    },
    /// A word that is not an option (getopt leaves these to the tool).
    Operand(OsString),
}

/// A mistake on the command line; [`Problem::message`] words it as glibc does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `-x` with no such letter.
    InvalidOption(char),
    /// `-c` at the end of the line.
    MissingValue(char),
    /// `--name` (as written, with any `=value`) that no long option starts with.
    Unrecognized(String),
    /// `--name` (as written) that starts more than one long option.
    Ambiguous {
        written: String,
        candidates: Vec<&'static str>,
    },
    /// `--name=value` for a flag (the option's full name).
    NoValueAllowed(&'static str),
    /// `--name` at the end of the line for an option with a value (its full name).
    LongMissingValue(&'static str),
}

impl Problem {
    /// glibc's message (without the newline), after `program:` (its `argv[0]`).
    #[must_use]
    pub fn message(&self, program: &str) -> String {
        match self {
            Self::InvalidOption(c) => format!("{program}: invalid option -- '{c}'"),
            Self::MissingValue(c) => {
                format!("{program}: option requires an argument -- '{c}'")
            }
            Self::Unrecognized(written) => {
                format!("{program}: unrecognized option '--{written}'")
            }
            Self::Ambiguous {
                written,
                candidates,
            } => {
                let mut text =
                    format!("{program}: option '--{written}' is ambiguous; possibilities:");
                for name in candidates {
                    text.push_str(&format!(" '--{name}'"));
                }
                text
            }
            Self::NoValueAllowed(name) => {
                format!("{program}: option '--{name}' doesn't allow an argument")
            }
            Self::LongMissingValue(name) => {
                format!("{program}: option '--{name}' requires an argument")
            }
        }
    }
}

/// Reads a command line (without the program name) against a table.
pub struct Getopt<'t> {
    parser: lexopt::Parser,
    table: &'t [Opt],
    long: bool,
}

impl<'t> Getopt<'t> {
    /// getopt_long: short and long options.
    pub fn new(table: &'t [Opt], args: impl IntoIterator<Item = OsString>) -> Self {
        let mut parser = lexopt::Parser::from_args(args);
        // getopt gives `-c=5` the value `=5`.
        parser.set_short_equals(false);
        Self {
            parser,
            table,
            long: true,
        }
    }

    /// Plain getopt: short options only.
    pub fn short_only(table: &'t [Opt], args: impl IntoIterator<Item = OsString>) -> Self {
        Self {
            long: false,
            ..Self::new(table, args)
        }
    }

    /// The next option or operand, `None` at the end.
    ///
    /// # Errors
    /// The [`Problem`]; the tool decides whether to go on (getopt does), but every
    /// Pure-FTPd tool stops at the first.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Item>, Problem> {
        let arg = match self.parser.next() {
            Ok(Some(arg)) => arg,
            Ok(None) => return Ok(None),
            // Only a value given to a flag gets here, and flags take theirs below.
            Err(e) => return Err(Problem::Unrecognized(e.to_string())),
        };
        match arg {
            Arg::Short(c) => self.short(c).map(Some),
            Arg::Long(_) if !self.long => Err(Problem::InvalidOption('-')),
            Arg::Long(name) => {
                let name = name.to_string();
                self.long(&name).map(Some)
            }
            Arg::Value(word) => Ok(Some(Item::Operand(word))),
        }
    }

    fn short(&mut self, c: char) -> Result<Item, Problem> {
        let option = self
            .table
            .iter()
            .find(|o| o.has_short() && o.letter == c)
            .ok_or(Problem::InvalidOption(c))?;
        let value = if option.takes_value {
            Some(self.parser.value().map_err(|_| Problem::MissingValue(c))?)
        } else {
            None
        };
        Ok(Item::Opt { letter: c, value })
    }

    fn long(&mut self, name: &str) -> Result<Item, Problem> {
        let named = |o: &&Opt| o.long.is_some_and(|l| l == name);
        let option = match self.table.iter().find(named) {
            Some(exact) => exact,
            None => {
                let mut matches = self
                    .table
                    .iter()
                    .filter(|o| o.long.is_some_and(|l| l.starts_with(name)));
                match (matches.next(), matches.next()) {
                    (Some(only), None) => only,
                    (None, _) => return Err(Problem::Unrecognized(self.as_written(name))),
                    (Some(first), Some(second)) => {
                        let candidates = [first, second]
                            .into_iter()
                            .chain(matches)
                            .filter_map(|o| o.long)
                            .collect();
                        return Err(Problem::Ambiguous {
                            written: self.as_written(name),
                            candidates,
                        });
                    }
                }
            }
        };
        let full = option.long.unwrap_or_default();
        let value = if option.takes_value {
            Some(
                self.parser
                    .value()
                    .map_err(|_| Problem::LongMissingValue(full))?,
            )
        } else if self.parser.optional_value().is_some() {
            return Err(Problem::NoValueAllowed(full));
        } else {
            None
        };
        Ok(Item::Opt {
            letter: option.letter,
            value,
        })
    }

    /// `name` with its `=value`, if it had one, as glibc quotes it.
    fn as_written(&mut self, name: &str) -> String {
        match self.parser.optional_value() {
            Some(value) => format!("{name}={}", value.to_string_lossy()),
            None => name.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: [Opt; 6] = [
        Opt::flag('B', "daemonize"),
        Opt::valued('c', "maxclientsnumber"),
        Opt::valued('C', "maxclientsperip"),
        Opt::flag('d', "verboselog"),
        Opt::valued('\u{1}', "proxyprotocol"),
        Opt::short('x', false),
    ];

    fn read(args: &[&str]) -> Result<Vec<Item>, Problem> {
        let mut getopt = Getopt::new(&TABLE, args.iter().map(OsString::from));
        let mut items = Vec::new();
        while let Some(item) = getopt.next()? {
            items.push(item);
        }
        Ok(items)
    }

    fn opt(letter: char, value: Option<&str>) -> Item {
        Item::Opt {
            letter,
            value: value.map(OsString::from),
        }
    }

    #[test]
    fn getopt_forms() {
        assert_eq!(
            read(&[
                "-Bdc5",
                "word",
                "-C",
                "-x",
                "--maxclientsn=7",
                "--max",
                "--",
                "-d"
            ]),
            Err(Problem::Ambiguous {
                written: "max".into(),
                candidates: vec!["maxclientsnumber", "maxclientsperip"]
            })
        );
        assert_eq!(
            read(&[
                "-Bdc5",
                "word",
                "-C",
                "-x",
                "--maxclientsn=7",
                "--verb",
                "--",
                "-d"
            ]),
            Ok(vec![
                opt('B', None),
                opt('d', None),
                opt('c', Some("5")),
                Item::Operand("word".into()),
                opt('C', Some("-x")),
                opt('c', Some("7")),
                opt('d', None),
                Item::Operand("-d".into()),
            ])
        );
        assert_eq!(read(&["-c=5"]), Ok(vec![opt('c', Some("=5"))]));
        assert_eq!(
            read(&["--proxyprotocol", "v1"]),
            Ok(vec![opt('\u{1}', Some("v1"))])
        );
    }

    #[test]
    fn mistakes_in_glibcs_words() {
        let says = |args: &[&str]| read(args).unwrap_err().message("prog");
        assert_eq!(says(&["-q"]), "prog: invalid option -- 'q'");
        assert_eq!(
            says(&["-B", "-c"]),
            "prog: option requires an argument -- 'c'"
        );
        assert_eq!(
            says(&["--bogus=1"]),
            "prog: unrecognized option '--bogus=1'"
        );
        assert_eq!(
            says(&["--max=2"]),
            "prog: option '--max=2' is ambiguous; possibilities: '--maxclientsnumber' '--maxclientsperip'"
        );
        assert_eq!(
            says(&["--daemon=1"]),
            "prog: option '--daemonize' doesn't allow an argument"
        );
        assert_eq!(
            says(&["--maxclientsp"]),
            "prog: option '--maxclientsperip' requires an argument"
        );
        // A stand-in letter is no short option.
        assert_eq!(says(&["-\u{1}"]), "prog: invalid option -- '\u{1}'");
    }

    #[test]
    fn plain_getopt_has_no_long_options() {
        let mut getopt = Getopt::short_only(&TABLE, ["--daemonize".into()]);
        assert_eq!(getopt.next(), Err(Problem::InvalidOption('-')));
    }
}
