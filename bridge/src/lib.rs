//! Pure-FTPd's bridges to admin scripts, wire-compatible with its own:
//!
//! * [`auth`]: `-l extauth:/socket` asks `pure-authd`, which runs a script with the
//!   `AUTHD_*` environment and relays what it prints (`auth_ok:1`, `uid:`, ...).
//! * [`cert`]: `-3 /socket` asks `pure-certd` which certificate to present for a TLS
//!   server name; the script gets `CERTD_SNI_NAME`.
//!
//! Both exchanges are one block of `keyword:value` lines ended by `end`, at most
//! [`MAX_MESSAGE`] bytes, over a Unix stream socket; the answer is read until EOF
//! ([`lines`], [`client`]). [`daemon`] is the program both daemons share.

pub mod auth;
pub mod cert;
pub mod client;
pub mod daemon;
pub mod lines;
pub mod upload;

/// Longest request or reply, in bytes (Pure-FTPd reads into a 4096-byte buffer and
/// keeps one for the terminating NUL).
pub const MAX_MESSAGE: usize = 4095;

/// A script's environment variables for one request.
pub type Variables = Vec<(&'static str, std::ffi::OsString)>;
