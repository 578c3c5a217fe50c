//! One module per action. Each returns pure-pw's exit status and prints its own
//! messages, worded as Pure-FTPd's pure-pw words them.

pub(crate) mod json;
pub(crate) mod list;
pub(crate) mod mkdb;
pub(crate) mod passwd;
pub(crate) mod show;
pub(crate) mod useradd;
pub(crate) mod userdel;
pub(crate) mod usermod;

use std::io;

use pureftpd_account::password::{self, HashPolicy};
use pureftpd_account::{Password, Record};

use crate::cli::Options;
use crate::passwd_file::{Contents, ReplaceError, replace};
use crate::{Session, exit, prompt};

/// An I/O error as C's `perror` words it: "No such file or directory".
pub(crate) fn strerror(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => error.to_string(),
    }
}

/// Reads the passwd file for an edit, under the lock, refusing a malformed file.
/// `missing_ok`: a missing file is an empty one (useradd creates it).
pub(crate) fn load_for_edit(
    session: &mut Session<'_, '_>,
    missing_ok: bool,
) -> Result<Option<Contents>, i32> {
    session.lock()?;
    let contents = match Contents::read(&session.passwd_file) {
        Ok(Some(contents)) => contents,
        Ok(None) if missing_ok => Contents::default(),
        Ok(None) => return Ok(None),
        Err(e) => {
            session
                .io
                .error(format!("Unable to open the passwd file: {}", strerror(&e)));
            return Err(exit::PASSWD_FILE);
        }
    };
    if let Err(bad) = contents.validate(&session.passwd_file) {
        session.io.error(format!(
            "{bad}\nFix or remove that line; nothing was changed."
        ));
        return Err(exit::PASSWD_FILE);
    }
    Ok(Some(contents))
}

/// Writes the new contents; on failure prints the C tool's message for `action_hint`
/// ("doesn't already exist" or "already exists") and returns its code.
pub(crate) fn save(
    session: &mut Session<'_, '_>,
    login: &[u8],
    new: &[u8],
    hint: &str,
) -> Result<(), i32> {
    match replace(&session.passwd_file, new) {
        Ok(()) => Ok(()),
        Err(ReplaceError::TempExists(tmp)) => {
            session.io.error(format!(
                "Error.\nCheck that [{}] {hint},\nand that [{}] can be written.\n\
                 ([{}] exists: if no pure-pw is running, a crashed one left it; remove it.)",
                String::from_utf8_lossy(login),
                tmp.display(),
                tmp.display()
            ));
            Err(exit::USER_EXISTS)
        }
        // Exit 4, as Pure-FTPd's pure-pw when the file cannot be written (a full disk).
        Err(ReplaceError::Io(tmp, e)) => {
            session.io.error(format!(
                "Unable to write the passwd file [{}]: {}",
                tmp.display(),
                strerror(&e)
            ));
            Err(exit::USER_EXISTS)
        }
    }
}

/// Refuses to write a line that would not read back (a control character in the home,
/// say): every line pure-pw writes passes its own parser.
pub(crate) fn check_record(session: &mut Session<'_, '_>, record: &Record) -> Result<(), i32> {
    match Record::parse(&record.to_line()) {
        Ok(_) => Ok(()),
        Err(e) => {
            session
                .io
                .error(format!("Refusing to write this account: {e}"));
            Err(exit::FAILURE)
        }
    }
}

/// The C tool's message when the login is not in the file.
pub(crate) fn not_there(session: &mut Session<'_, '_>, login: &[u8]) -> i32 {
    session.io.error(format!(
        "Unable to fetch info about user [{}] in file [{}]",
        String::from_utf8_lossy(login),
        session.passwd_file.display()
    ));
    exit::NOT_FOUND
}

/// Asks for a new password and hashes it with the policy of `-M`/`-C`.
pub(crate) fn new_hash(session: &mut Session<'_, '_>, options: &Options) -> Result<Vec<u8>, i32> {
    let Some(clear) = read_password(session) else {
        session.io.error("Error with entering password - aborting");
        return Err(exit::PASSWORD_ENTRY);
    };
    let policy = HashPolicy::for_budget(options.hash_memory_mb, options.concurrent_logins);
    password::create(&clear, &policy)
        .map(String::into_bytes)
        .map_err(|e| {
            session.io.error(e);
            exit::UNEXPECTED
        })
}

fn read_password(session: &mut Session<'_, '_>) -> Option<Password> {
    let io = &mut *session.io;
    prompt::new_password(&mut io.input, io.out)
}

/// "Missing login", exit 1 (userdel exits 255: its C code returns -1).
pub(crate) fn missing_login(session: &mut Session<'_, '_>, code: i32) -> i32 {
    session.io.error("Missing login");
    code
}
