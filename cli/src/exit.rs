//! How a tool ends without doing its work.

use std::io::Write;

/// What a tool prints instead of working, and its exit status: the help (asked for, or
/// after a mistake, as Pure-FTPd's tools do), an error message, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The exit status.
    pub status: i32,
    /// Printed on standard error first (each message ends with a newline).
    pub stderr: String,
    /// Then printed on standard output.
    pub stdout: String,
}

impl Exit {
    /// `text` on standard output, status 0 (`-h`).
    #[must_use]
    pub fn help(text: impl Into<String>) -> Self {
        Self {
            status: 0,
            stderr: String::new(),
            stdout: text.into(),
        }
    }

    /// `message` and a newline on standard error, and `status`.
    #[must_use]
    pub fn error(message: impl AsRef<str>, status: i32) -> Self {
        Self {
            status,
            stderr: format!("{}\n", message.as_ref()),
            stdout: String::new(),
        }
    }

    /// The same, with `message` (and a newline) printed on standard error before
    /// anything else: getopt's complaint before the help, for example.
    #[must_use]
    pub fn after(mut self, message: impl AsRef<str>) -> Self {
        self.stderr.insert(0, '\n');
        self.stderr.insert_str(0, message.as_ref());
        self
    }

    /// Prints to `out` and `err`; returns the status. Write errors are ignored: the
    /// status is what matters, and a closed stdout must not turn help into a panic.
    pub fn print_to(&self, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
        let _ = err.write_all(self.stderr.as_bytes());
        let _ = err.flush();
        let _ = out.write_all(self.stdout.as_bytes());
        let _ = out.flush();
        self.status
    }

    /// Prints to the process's standard output and error; returns the status.
    #[must_use]
    pub fn report(&self) -> i32 {
        self.print_to(&mut std::io::stdout().lock(), &mut std::io::stderr().lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_first_then_the_help() {
        let exit = Exit::help("usage\n")
            .after("prog: invalid option -- 'x'")
            .after("first");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(exit.print_to(&mut out, &mut err), 0);
        assert_eq!(out, b"usage\n");
        assert_eq!(err, b"first\nprog: invalid option -- 'x'\n");
        assert_eq!(
            Exit::error("Missing path", 255),
            Exit {
                status: 255,
                stderr: "Missing path\n".into(),
                stdout: String::new()
            }
        );
    }
}
