//! Pure-FTPd virtual accounts, shared by `pure-pw` and the server.
//!
//! * [`Record`] is one line of `pureftpd.passwd` (18 colon-separated fields), parsed
//!   strictly ([`Record::parse`]) and written exactly as Pure-FTPd's `pure-pw` writes it
//!   ([`Record::to_line`]).
//! * [`Account`] is what a server needs to log a user in: ids, home and chroot point,
//!   limits and restrictions, typed.
//! * [`password`] verifies every hash format Pure-FTPd accepts, with caps on the cost a
//!   stored hash may ask for, and creates new argon2id hashes.
//! * [`find_account`] looks a login up in a `.pdb` file.
//! * [`Password`] holds a clear-text password: redacted in `Debug`, wiped on drop.
#![forbid(unsafe_code)]

mod account;
mod fields;
pub mod ip;
mod lookup;
pub mod password;
mod record;
mod secret;
pub mod time_window;

pub use account::{Account, Home};
pub use fields::{Field, LineError};
pub use lookup::{LookupError, find_account};
pub use record::{Record, extra_fields};
pub use secret::Password;
pub use time_window::TimeWindow;
