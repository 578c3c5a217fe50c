//! `pure-pw passwd <login>`: a new password, nothing else changed.

use super::{missing_login, new_hash};
use crate::cli::Options;
use crate::{Session, exit};

pub(crate) fn run(session: &mut Session<'_, '_>, login: Option<&[u8]>, options: &Options) -> i32 {
    let Some(login) = login else {
        return missing_login(session, exit::FAILURE);
    };
    // As in the C tool, the password is asked for before the login is looked up.
    let result = new_hash(session, options)
        .and_then(|hash| super::usermod::modify(session, login, |record| record.password = hash));
    match result {
        Ok(()) => exit::OK,
        Err(code) => code,
    }
}
