//! `pure-pw userdel <login>`: removes every line of the login.

use super::{load_for_edit, missing_login, save};
use crate::{Session, exit};

pub(crate) fn run(session: &mut Session<'_, '_>, login: Option<&[u8]>) -> i32 {
    let Some(login) = login else {
        // The C tool returns -1 here.
        return missing_login(session, exit::UNEXPECTED);
    };
    let contents = match load_for_edit(session, false) {
        Ok(contents) => contents,
        Err(code) => return code,
    };
    let Some(contents) = contents.filter(|c| c.has(login)) else {
        session.io.error(format!(
            "Error.\nCheck that [{}] already exists,\nand that [{}] can be written.",
            String::from_utf8_lossy(login),
            crate::passwd_file::sibling(&session.passwd_file, ".tmp").display()
        ));
        return exit::USER_EXISTS;
    };
    let new = contents.rewritten(login, None);
    match save(session, login, &new, "already exists") {
        Ok(()) => exit::OK,
        Err(code) => code,
    }
}
