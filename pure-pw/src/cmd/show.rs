//! `pure-pw show <login>`: the record, laid out exactly as Pure-FTPd's pure-pw does.

use nix::unistd::{Gid, Group, Uid, User};
use pureftpd_account::Record;

use super::{missing_login, not_there, strerror};
use crate::passwd_file::Contents;
use crate::{Session, exit};

pub(crate) fn run(session: &mut Session<'_, '_>, login: Option<&[u8]>, json: bool) -> i32 {
    let Some(login) = login else {
        return missing_login(session, exit::FAILURE);
    };
    let Some(record) = fetch(session, login) else {
        return not_there(session, login);
    };
    let (user, group) = (user_name(record.uid), group_name(record.gid));
    let text = if json {
        super::json::show(&record, &user, &group)
    } else {
        render(&record, &user, &group)
    };
    if session.io.out.write_all(&text).is_err() {
        return exit::UNEXPECTED;
    }
    exit::OK
}

/// The first valid record of `login`; malformed lines are reported and skipped, as the
/// C tool does, so that `show` still works on a damaged file.
pub(crate) fn fetch(session: &mut Session<'_, '_>, login: &[u8]) -> Option<Record> {
    let contents = match Contents::read(&session.passwd_file) {
        Ok(Some(contents)) => contents,
        Ok(None) => {
            session
                .io
                .error("Unable to open the passwd file: No such file or directory");
            return None;
        }
        Err(e) => {
            session
                .io
                .error(format!("Unable to open the passwd file: {}", strerror(&e)));
            return None;
        }
    };
    let path = session.passwd_file.clone();
    let io = &mut *session.io;
    contents
        .records_lenient(&path, &mut |bad| {
            io.error(format!("Warning: invalid line: {bad}"))
        })
        .into_iter()
        .find(|r| r.login == login)
}

fn user_name(uid: u32) -> String {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| "-".to_string(), |u| u.name)
}

fn group_name(gid: u32) -> String {
    Group::from_gid(Gid::from_raw(gid))
        .ok()
        .flatten()
        .map_or_else(|| "-".to_string(), |g| g.name)
}

fn state(enabled: bool) -> &'static str {
    if enabled { "enabled" } else { "unlimited" }
}

/// The value, or 0, and its state.
fn limit(value: Option<u64>, unit: u64) -> (u64, &'static str) {
    (value.map_or(0, |v| v / unit), state(value.is_some()))
}

/// The `show` block: a blank line, 17 `Name : value` lines, a blank line.
fn render(record: &Record, user: &str, group: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let ips = |list: &Option<Vec<u8>>| list.as_deref().map_or_else(|| "-".to_string(), text);
    let (download, download_state) = limit(record.download_bandwidth, 1024);
    let (upload, upload_state) = limit(record.upload_bandwidth, 1024);
    let (files, files_state) = limit(record.quota_files, 1);
    let (size, size_state) = limit(record.quota_size, 1 << 20);
    let (begin, end) = record.time_window.map_or((0, 0), |w| (w.begin(), w.end()));
    let lines = [
        String::new(),
        format!("Login              : {}", text(&record.login)),
        format!("Password           : {}", text(&record.password)),
        format!("UID                : {} ({user})", record.uid),
        format!("GID                : {} ({group})", record.gid),
        format!("Directory          : {}", text(&record.home)),
        format!("Full name          : {}", text(&record.gecos)),
        format!("Download bandwidth : {download} Kb ({download_state})"),
        format!("Upload   bandwidth : {upload} Kb ({upload_state})"),
        format!("Max files          : {files} ({files_state})"),
        format!("Max size           : {size} Mb ({size_state})"),
        format!(
            "Ratio              : {}:{} ({}:{})",
            record.upload_ratio.unwrap_or(0),
            record.download_ratio.unwrap_or(0),
            state(record.upload_ratio.is_some()),
            state(record.download_ratio.is_some())
        ),
        format!("Allowed local  IPs : {}", ips(&record.allow_local_ips)),
        format!("Denied  local  IPs : {}", ips(&record.deny_local_ips)),
        format!("Allowed client IPs : {}", ips(&record.allow_client_ips)),
        format!("Denied  client IPs : {}", ips(&record.deny_client_ips)),
        format!(
            "Time restrictions  : {begin:04}-{end:04} ({})",
            state(record.time_window.is_some())
        ),
        format!(
            "Max sim sessions   : {} ({})",
            record.max_sessions.unwrap_or(0),
            state(record.max_sessions.is_some())
        ),
        String::new(),
    ];
    for line in lines {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}
