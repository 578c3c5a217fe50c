//! `pure-pw usermod <login> [options]`: only the options given change; the record moves
//! to the end of the file, as with Pure-FTPd's pure-pw.

use pureftpd_account::Record;

use super::{load_for_edit, missing_login, not_there, save};
use crate::cli::Options;
use crate::{Session, exit};

pub(crate) fn run(session: &mut Session<'_, '_>, login: Option<&[u8]>, options: &Options) -> i32 {
    let Some(login) = login else {
        return missing_login(session, exit::FAILURE);
    };
    match modify(session, login, |record| apply(record, options)) {
        Ok(()) => exit::OK,
        Err(code) => code,
    }
}

/// Rewrites `login`'s record through `change`, under the lock.
pub(crate) fn modify(
    session: &mut Session<'_, '_>,
    login: &[u8],
    change: impl FnOnce(&mut Record),
) -> Result<(), i32> {
    let Some(contents) = load_for_edit(session, false)? else {
        session
            .io
            .error("Unable to open the passwd file: No such file or directory");
        return Err(not_there(session, login));
    };
    // The file was validated: no line is skipped here.
    let Some(mut record) = contents.find(&session.passwd_file, login, &mut |_| {}) else {
        return Err(not_there(session, login));
    };
    change(&mut record);
    super::check_record(session, &record)?;
    let new = contents.rewritten(login, Some(&record));
    save(session, login, &new, "already exists")
}

fn apply(record: &mut Record, options: &Options) {
    if options.uid > 0 {
        record.uid = options.uid;
    }
    if options.gid > 0 {
        record.gid = options.gid;
    }
    if let Some(home) = &options.home {
        record.home.clone_from(home);
    }
    if let Some(gecos) = &options.gecos {
        record.gecos.clone_from(gecos);
    }
    options.upload_bandwidth.apply(&mut record.upload_bandwidth);
    options
        .download_bandwidth
        .apply(&mut record.download_bandwidth);
    options.upload_ratio.apply(&mut record.upload_ratio);
    options.download_ratio.apply(&mut record.download_ratio);
    options.max_sessions.apply(&mut record.max_sessions);
    options.quota_files.apply(&mut record.quota_files);
    options.quota_size.apply(&mut record.quota_size);
    options.time_window.apply(&mut record.time_window);
    let lists = [
        (&options.allow_local_ips, &mut record.allow_local_ips),
        (&options.deny_local_ips, &mut record.deny_local_ips),
        (&options.allow_client_ips, &mut record.allow_client_ips),
        (&options.deny_client_ips, &mut record.deny_client_ips),
    ];
    for (given, field) in lists {
        if let Some(list) = given {
            *field = Some(list.clone());
        }
    }
}
