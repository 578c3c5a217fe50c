//! One option of a tool, as a row of its table.

/// An option: its letter, its long name, and whether it takes a value (getopt's
/// `c:`, getopt_long's `required_argument`). No tool of Pure-FTPd's has an optional
/// value, so neither has this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opt {
    /// The letter (`-c`); for a long-only option, a stand-in that is not a graphic
    /// ASCII character, so that no short option reaches it.
    pub letter: char,
    /// The long name without dashes (`maxclientsnumber`), if it has one.
    pub long: Option<&'static str>,
    /// Whether a value follows.
    pub takes_value: bool,
}

impl Opt {
    /// A flag, with its long name.
    #[must_use]
    pub const fn flag(letter: char, long: &'static str) -> Self {
        Self {
            letter,
            long: Some(long),
            takes_value: false,
        }
    }

    /// An option with a value, with its long name.
    #[must_use]
    pub const fn valued(letter: char, long: &'static str) -> Self {
        Self {
            letter,
            long: Some(long),
            takes_value: true,
        }
    }

    /// A short option only (plain getopt).
    #[must_use]
    pub const fn short(letter: char, takes_value: bool) -> Self {
        Self {
            letter,
            long: None,
            takes_value,
        }
    }

    /// Whether `-letter` reaches this option.
    pub(crate) fn has_short(&self) -> bool {
        self.letter.is_ascii_graphic()
    }
}

/// Pure-FTPd's help for a getopt_long table: one line per option with a letter and a
/// long name, in table order, `-c\t--name\t<opt>` (or nothing after the last tab).
#[must_use]
pub fn help_lines(table: &[Opt]) -> String {
    table
        .iter()
        .filter(|o| o.has_short())
        .filter_map(|o| {
            let long = o.long?;
            let value = if o.takes_value { "<opt>" } else { "" };
            Some(format!("-{}\t--{long}\t{value}\n", o.letter))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lines_skip_long_only_and_short_only_options() {
        let table = [
            Opt::flag('B', "daemonize"),
            Opt::valued('g', "gid"),
            Opt::valued('\u{1}', "ours"),
            Opt::short('x', false),
        ];
        assert_eq!(help_lines(&table), "-B\t--daemonize\t\n-g\t--gid\t<opt>\n");
    }
}
