//! The FTP control protocol as Pure-FTPd speaks it, with no I/O and no file system:
//!
//! * [`line::LineReader`] frames the bytes a client sends into command lines (LF or
//!   CRLF, control bytes turned into `_`, a hard length limit).
//! * [`command::parse`] turns a line into a [`Command`] with typed arguments; it is a
//!   pure function, fuzzed on its own.
//! * [`Reply`] holds an answer and encodes it with Pure-FTPd's multi-line framing.
//! * [`addr`] reads and writes the host-port forms of PORT, EPRT, PASV and EPSV.
//! * [`c_scan`] reads numbers and time stamps as Pure-FTPd's C does (`strtoul`, `atoi`,
//!   `sscanf`), so that odd arguments get Pure-FTPd's replies.
#![forbid(unsafe_code)]

pub mod addr;
pub mod c_scan;
pub mod command;
pub mod line;
mod reply;

pub use command::{Command, Parsed};
pub use reply::Reply;
