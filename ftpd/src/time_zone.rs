//! The server's local time zone, for log lines, listings and account time limits: from
//! `TZ` or `/etc/localtime`, read once per process. The master reads it at start, before
//! it forks any session, so sessions inherit it and never read it again (inside a chroot
//! the file is not there anyway); as Pure-FTPd, which calls `tzset()` once at start, a
//! new zone takes a restart.
//!
//! Only that one file is parsed: jiff's `TimeZone::system` would index the whole
//! zoneinfo database, which every session would pay for in memory.

use std::sync::OnceLock;

use jiff::tz::TimeZone;

static LOCAL: OnceLock<TimeZone> = OnceLock::new();

/// The local time zone (UTC when none can be read).
pub(crate) fn local() -> TimeZone {
    LOCAL.get_or_init(read).clone()
}

fn read() -> TimeZone {
    let from_tz = std::env::var("TZ").ok().map(|tz| {
        let name = tz.trim_start_matches(':').to_string();
        let path = if name.starts_with('/') {
            name.clone()
        } else {
            format!("/usr/share/zoneinfo/{name}")
        };
        (name, path)
    });
    let (name, path) =
        from_tz.unwrap_or_else(|| ("localtime".to_string(), "/etc/localtime".to_string()));
    std::fs::read(&path)
        .ok()
        .and_then(|bytes| TimeZone::tzif(&name, &bytes).ok())
        .unwrap_or(TimeZone::UTC)
}
