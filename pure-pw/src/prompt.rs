//! Reading a new password twice, as Pure-FTPd's pure-pw does: `Password: ` then
//! `Enter it again: ` on stdout, three attempts. From a terminal the input is not
//! echoed; otherwise two lines are read from stdin, so scripts can pipe them in.

use std::io::{self, BufRead, IsTerminal, Write};

use pureftpd_account::Password;

const ATTEMPTS: usize = 3;

/// Where the two entries come from.
pub(crate) enum Input<'a> {
    /// The controlling terminal, echo off.
    Terminal,
    /// Lines of a pipe or file.
    Lines(&'a mut dyn BufRead),
}

/// Asks for a new password; `None` after three mismatches or at end of input.
pub(crate) fn new_password(input: &mut Input<'_>, out: &mut dyn Write) -> Option<Password> {
    for _ in 0..ATTEMPTS {
        write!(out, "Password: ").ok()?;
        out.flush().ok()?;
        let first = read_line(input)?;
        write!(out, "\nEnter it again: ").ok()?;
        out.flush().ok()?;
        let second = read_line(input)?;
        writeln!(out).ok()?;
        if first == second {
            return Some(first);
        }
        writeln!(out, "You didn't enter the same password").ok()?;
    }
    None
}

/// Stdin as the C tool uses it.
pub(crate) fn stdin_input(stdin: &mut dyn BufRead) -> Input<'_> {
    if io::stdin().is_terminal() {
        Input::Terminal
    } else {
        Input::Lines(stdin)
    }
}

/// One entry, cut at its first CR or LF.
fn read_line(input: &mut Input<'_>) -> Option<Password> {
    let mut bytes = match input {
        Input::Terminal => rpassword::read_password().ok()?.into_bytes(),
        Input::Lines(reader) => {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line).ok()? == 0 {
                return None;
            }
            line
        }
    };
    if let Some(end) = bytes.iter().position(|&b| b == b'\r' || b == b'\n') {
        bytes.truncate(end);
    }
    Some(Password::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stdin: &str) -> (Option<Password>, String) {
        let mut reader = stdin.as_bytes();
        let mut out = Vec::new();
        let pw = new_password(&mut Input::Lines(&mut reader), &mut out);
        (pw, String::from_utf8(out).unwrap())
    }

    #[test]
    fn two_equal_lines_give_a_password() {
        let (pw, out) = run("secret\r\nsecret\n");
        assert_eq!(pw, Some(Password::from("secret")));
        assert_eq!(out, "Password: \nEnter it again: \n");
    }

    #[test]
    fn mismatches_retry_three_times_then_give_up() {
        let (pw, out) = run("a\nb\nc\nc\n");
        assert_eq!(pw, Some(Password::from("c")));
        assert_eq!(out.matches("You didn't enter the same password").count(), 1);
        let (pw, out) = run("a\nb\na\nb\na\nb\na\na\n");
        assert_eq!(pw, None);
        assert_eq!(out.matches("Password: ").count(), 3);
    }

    #[test]
    fn end_of_input_gives_up_and_empty_is_allowed() {
        assert_eq!(run("only one\n").0, None);
        assert_eq!(run("").0, None);
        assert_eq!(run("\n\n").0, Some(Password::from("")));
    }
}
