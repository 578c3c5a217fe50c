//! `--version`, which none of Pure-FTPd's tools has (each takes it for a mistake and
//! prints its help, or for a file name): ours answer it with their name, our version and
//! the Pure-FTPd release whose behaviour they follow, so that an admin and a package
//! manager can tell which binary is installed.
//!
//! Only `--version` alone on the command line is the question: with anything else
//! beside it the tool parses its arguments as Pure-FTPd's does, so no script that
//! worked with Pure-FTPd's tools changes meaning.

use std::ffi::OsString;

/// The Pure-FTPd release our tools follow (its behaviour is the oracle in the tests).
pub const PURE_FTPD_RELEASE: &str = "1.0.50";

/// `name (pureftpd-rs) VERSION`, then the release it follows.
#[must_use]
pub fn version_text(name: &str) -> String {
    format!(
        "{name} (pureftpd-rs) {}\nCompatible with Pure-FTPd {PURE_FTPD_RELEASE}.\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Whether the arguments after the program's name are exactly `--version`.
#[must_use]
pub fn asks_for_version(args: &[OsString]) -> bool {
    matches!(args, [only] if only == "--version")
}

/// Answers `--version` for the running process and exits 0, if that is all it was
/// asked; returns otherwise. Called first by every tool's `main`.
pub fn answer_version(name: &str) {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if asks_for_version(&args) {
        let _ = crate::Exit::help(version_text(name)).report();
        std::process::exit(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_version_alone_is_the_question() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(asks_for_version(&os(&["--version"])));
        assert!(!asks_for_version(&os(&[])));
        assert!(!asks_for_version(&os(&["--version", "-B"])));
        assert!(!asks_for_version(&os(&["-B", "--version"])));
        assert!(!asks_for_version(&os(&["--versio"])));
        let text = version_text("pure-pw");
        assert!(text.starts_with(&format!(
            "pure-pw (pureftpd-rs) {}\n",
            env!("CARGO_PKG_VERSION")
        )));
    }
}
