//! `pure-pw useradd <login> -u <uid> [-g <gid>] -d|-D <home> [...]`.

use pureftpd_account::Record;

use super::{load_for_edit, missing_login, new_hash, save};
use crate::cli::Options;
use crate::{Session, exit};

/// The longest login Debian's pure-ftpd accepts (it truncates longer ones).
const MAX_LOGIN_LEN: usize = 128;

pub(crate) fn run(session: &mut Session<'_, '_>, login: Option<&[u8]>, options: &Options) -> i32 {
    match add(session, login, options) {
        Ok(()) => exit::OK,
        Err(code) => code,
    }
}

fn add(session: &mut Session<'_, '_>, login: Option<&[u8]>, options: &Options) -> Result<(), i32> {
    let Some(login) = login else {
        return Err(missing_login(session, exit::FAILURE));
    };
    check_login(session, login)?;
    if options.uid == 0 || options.gid == 0 {
        session.io.error("You must give (non-root) uid and gid");
        return Err(exit::NEED_IDS);
    }
    let Some(home) = options.home.clone() else {
        session.io.error("Missing home directory");
        return Err(exit::NEED_HOME);
    };
    let password = new_hash(session, options)?;
    let record = new_record(login, password, home, options);
    super::check_record(session, &record)?;
    let contents = load_for_edit(session, true)?.unwrap_or_default();
    if contents.has(login) {
        session.io.error(format!(
            "Error.\nCheck that [{}] doesn't already exist,\nand that [{}] can be written.",
            String::from_utf8_lossy(login),
            crate::passwd_file::sibling(&session.passwd_file, ".tmp").display()
        ));
        return Err(exit::USER_EXISTS);
    }
    let new = contents.rewritten(login, Some(&record));
    save(session, login, &new, "doesn't already exist")
}

/// A login must fit on one line, not look like a comment, and be one the server accepts.
fn check_login(session: &mut Session<'_, '_>, login: &[u8]) -> Result<(), i32> {
    let problem = if login.iter().any(u8::is_ascii_control) {
        Some("cannot contain control characters or line breaks".to_string())
    } else if login.starts_with(b"#") {
        Some("cannot start with '#' (the line would be a comment)".to_string())
    } else if login.len() > MAX_LOGIN_LEN {
        Some(format!(
            "is longer than {MAX_LOGIN_LEN} bytes, which pure-ftpd cannot log in"
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => {
            session.io.error(format!(
                "The login [{}] {problem}",
                String::from_utf8_lossy(login)
            ));
            Err(exit::FAILURE)
        }
        None => Ok(()),
    }
}

fn new_record(login: &[u8], password: Vec<u8>, home: Vec<u8>, options: &Options) -> Record {
    Record {
        login: login.to_vec(),
        password,
        uid: options.uid,
        gid: options.gid,
        gecos: options.gecos.clone().unwrap_or_default(),
        home,
        upload_bandwidth: options.upload_bandwidth.initial(),
        download_bandwidth: options.download_bandwidth.initial(),
        upload_ratio: options.upload_ratio.initial(),
        download_ratio: options.download_ratio.initial(),
        max_sessions: options.max_sessions.initial(),
        quota_files: options.quota_files.initial(),
        quota_size: options.quota_size.initial(),
        allow_local_ips: options.allow_local_ips.clone(),
        deny_local_ips: options.deny_local_ips.clone(),
        allow_client_ips: options.allow_client_ips.clone(),
        deny_client_ips: options.deny_client_ips.clone(),
        time_window: options.time_window.initial(),
    }
}
