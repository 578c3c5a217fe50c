//! `--json` for `show` and `list` (ours; Pure-FTPd's pure-pw has only its text layouts,
//! which scripts had to scrape). One object per account: sizes in bytes, bandwidths in
//! bytes per second, `null` where the record sets no limit, IP lists as arrays, names as
//! UTF-8 (invalid bytes replaced). `list` leaves out the password hash, as its text does;
//! `show` includes it, as its text does.

use pureftpd_account::Record;
use serde_json::{Map, Value, json};

/// `show --json`: the record, with the names of its uid and gid.
pub(crate) fn show(record: &Record, user: &str, group: &str) -> Vec<u8> {
    let mut object = account(record);
    object.insert("password".into(), text(&record.password).into());
    object.insert("user".into(), user.into());
    object.insert("group".into(), group.into());
    pretty(&Value::Object(object))
}

/// `list --json`: an array of the records, in file order, without password hashes.
pub(crate) fn list(records: &[Record]) -> Vec<u8> {
    let accounts: Vec<Value> = records
        .iter()
        .map(|record| Value::Object(account(record)))
        .collect();
    pretty(&Value::Array(accounts))
}

fn account(record: &Record) -> Map<String, Value> {
    let value = json!({
        "login": text(&record.login),
        "uid": record.uid,
        "gid": record.gid,
        "home": text(&record.home),
        "gecos": text(&record.gecos),
        "download_bandwidth": record.download_bandwidth,
        "upload_bandwidth": record.upload_bandwidth,
        "quota_files": record.quota_files,
        "quota_size": record.quota_size,
        "upload_ratio": record.upload_ratio,
        "download_ratio": record.download_ratio,
        "allow_local_ips": ips(record.allow_local_ips.as_deref()),
        "deny_local_ips": ips(record.deny_local_ips.as_deref()),
        "allow_client_ips": ips(record.allow_client_ips.as_deref()),
        "deny_client_ips": ips(record.deny_client_ips.as_deref()),
        "time_window": record.time_window.map(|w| json!({"begin": w.begin(), "end": w.end()})),
        "max_sessions": record.max_sessions,
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A field's comma-separated list as an array; `null` when the field is empty.
fn ips(list: Option<&[u8]>) -> Value {
    let items: Vec<Value> = list
        .unwrap_or_default()
        .split(|&b| b == b',')
        .filter(|item| !item.is_empty())
        .map(|item| Value::String(text(item)))
        .collect();
    if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items)
    }
}

fn pretty(value: &Value) -> Vec<u8> {
    // Serialising plain values into memory cannot fail.
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}
