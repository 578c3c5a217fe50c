//! The command lines of every tool of the workspace, parsed one way.
//!
//! Pure-FTPd's tools read their options with glibc's `getopt` (pure-pw, pure-ftpwho,
//! pure-quotacheck) or `getopt_long` (pure-ftpd, pure-authd, pure-certd,
//! pure-uploadscript). Admins' scripts depend on what those accept and print, so each
//! tool here describes its options in one [`Opt`] table and reads them with [`Getopt`],
//! which accepts what glibc accepts (bundles, `-c5`, `--name=value`, unambiguous long
//! prefixes, `--` ending the options) and words every mistake as glibc does
//! ([`Problem::message`]). What a tool does about a mistake (print its help and exit 0,
//! as most of Pure-FTPd's do, or stop with a status) stays the tool's choice, returned
//! as an [`Exit`].
//!
//! Parsing is lexopt's (with `short_equals` off, as getopt: `-c=5` is `-c` with `=5`);
//! this crate adds the table, the long-name matching and glibc's wording, which lexopt
//! leaves to its caller on purpose.
#![forbid(unsafe_code)]

mod exit;
mod getopt;
mod table;
mod version;

pub use exit::Exit;
pub use getopt::{Getopt, Item, Problem};
pub use table::{Opt, help_lines};
pub use version::{PURE_FTPD_RELEASE, answer_version, asks_for_version, version_text};
