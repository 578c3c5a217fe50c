//! PureDB, the constant hash database behind Pure-FTPd's `pureftpd.pdb`.
//!
//! The file format (magic `PDB2`) is documented byte by byte in [`format`](mod@format). This crate
//! reads it without trusting it — every offset is bounds-checked and a malformed file
//! is an [`Error`], never a panic — and writes it so that, for the same records in the
//! same order, the output is byte-identical to what Pure-FTPd's `pure-pw mkdb` writes.
//!
//! * [`Reader`] looks keys up in bytes already in memory (a file read whole, or a map).
//! * [`FileReader`] looks keys up in a file with a handful of positioned reads, without
//!   loading it; this is what a server does on each login.
//! * [`Builder`] collects records and either returns the file's bytes or replaces a file
//!   atomically ([`Builder::write_file`]): a killed writer never leaves a torn database
//!   where a server reads it.
#![forbid(unsafe_code)]

mod build;
mod error;
mod file;
pub mod format;
mod lookup;
mod read;

pub use build::{Builder, remove_stale_temporaries};
pub use error::{Error, ErrorKind};
pub use file::FileReader;
pub use format::hash;
pub use read::{Reader, Stats};
