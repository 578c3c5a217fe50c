//! `-O format:/path`: one line per transfer in a file, in Pure-FTPd's formats (spec
//! §9): `clf` (the default when no format is given), `stats`, `w3c`, `xferlog`.
//!
//! Each session opens the file when the client connects (before any chroot; mode
//! 0600, never through a symbolic link) and appends each line with one `write` under
//! an exclusive lock, so lines of concurrent sessions never interleave. A new W3C file
//! starts with its four header lines. Names are escaped so that none can forge a line:
//! `clf` and `w3c` URL-encode the path as Pure-FTPd does, `xferlog` turns blanks and
//! control characters into `_` as Pure-FTPd does, and `stats` (which Pure-FTPd writes
//! raw) turns control characters into `_`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// A line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache's common log format.
    Clf,
    /// ftpStats' compact format.
    Stats,
    /// W3C extended log format.
    W3c,
    /// wu-ftpd's xferlog.
    Xferlog,
}

/// What `-O` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The format.
    pub format: Format,
    /// The file (absolute).
    pub path: PathBuf,
}

impl Spec {
    /// Parses `format:/path` (format case-blind), or a bare path for CLF.
    ///
    /// # Errors
    /// Pure-FTPd's messages (the configuration error's text): an unknown format, a path
    /// that is not absolute.
    pub fn parse(value: &str) -> Result<Self, String> {
        let (format, path) = match value.split_once(':') {
            Some((name, path)) if !name.starts_with('/') => {
                let format = match name.to_ascii_lowercase().as_str() {
                    "clf" => Format::Clf,
                    "stats" => Format::Stats,
                    "w3c" => Format::W3c,
                    "xferlog" => Format::Xferlog,
                    _ => {
                        return Err(format!("Unknown logging format: {name}"));
                    }
                };
                (format, path)
            }
            _ => (Format::Clf, value),
        };
        if !path.starts_with('/') {
            return Err(format!("Prohibited file name: {path}"));
        }
        Ok(Self {
            format,
            path: PathBuf::from(path),
        })
    }
}

/// One completed (or cut) transfer.
#[derive(Debug, Clone)]
pub struct Transfer<'a> {
    /// Upload (else download).
    pub upload: bool,
    /// The file's path on the server (chroot base and path inside it).
    pub path: &'a [u8],
    /// Bytes moved.
    pub bytes: u64,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// TYPE A (else binary).
    pub ascii: bool,
    /// The login.
    pub account: &'a str,
    /// The client's host.
    pub host: &'a str,
    /// Session start, seconds since 1970 (for `stats`).
    pub session_start: i64,
}

/// A session's open log.
#[derive(Debug)]
pub struct AltLog {
    format: Format,
    file: File,
    tz: TimeZone,
}

impl AltLog {
    /// Opens (or creates, mode 0600) the file; a new W3C file gets its header.
    ///
    /// # Errors
    /// It cannot be opened (or is a symbolic link).
    pub fn open(spec: &Spec, tz: TimeZone) -> io::Result<Self> {
        let open = |create_new: bool| {
            let mut options = OpenOptions::new();
            options
                .append(true)
                .mode(0o600)
                .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits());
            if create_new {
                options.create_new(true);
            } else {
                options.create(true);
            }
            options.open(&spec.path)
        };
        let (file, created) = match open(true) {
            Ok(file) => (file, true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => (open(false)?, false),
            Err(e) => return Err(e),
        };
        let log = Self {
            format: spec.format,
            file,
            tz,
        };
        if created && spec.format == Format::W3c {
            let now = Timestamp::now().to_zoned(TimeZone::UTC);
            log.append(
                format!(
                    "#Software: Pure-FTPd 1.0.50\n#Version: 1.0\n#Date: {}\n\
                     #Fields: date time c-ip cs-method cs-uri-stem sc-status cs-username sc-bytes\n",
                    now.strftime("%Y-%m-%d %H:%M:%S")
                )
                .as_bytes(),
            )?;
        }
        Ok(log)
    }

    /// Appends the transfer's line.
    ///
    /// # Errors
    /// The write failed.
    pub fn write(&self, transfer: &Transfer<'_>) -> io::Result<()> {
        let now = Timestamp::now().to_zoned(self.tz.clone());
        self.append(&line(self.format, transfer, &now))
    }

    fn append(&self, line: &[u8]) -> io::Result<()> {
        self.file.lock()?;
        let written = (&self.file).write_all(line);
        self.file.unlock()?;
        written
    }
}

fn or_dash(value: &str) -> &str {
    if value.is_empty() { "-" } else { value }
}

/// The line for `transfer` at `now` (local time; W3C converts to UTC).
#[must_use]
pub fn line(format: Format, transfer: &Transfer<'_>, now: &Zoned) -> Vec<u8> {
    let host = or_dash(transfer.host);
    let account = or_dash(transfer.account);
    let rounded_seconds = (transfer.seconds + 0.5) as u64;
    match format {
        Format::Clf => {
            // Pure-FTPd's sign: from the negated offset, '+' only when that is positive,
            // so zones east of UTC and UTC itself print '-'.
            let negated = -i64::from(now.offset().seconds()) / 60;
            let sign = if negated > 0 { '+' } else { '-' };
            let minutes = negated.abs();
            let mut line = format!(
                "{host} - {account} [{} {sign}{:02}{:02}] \"{} ",
                now.strftime("%d/%b/%Y:%H:%M:%S"),
                minutes / 60,
                minutes % 60,
                if transfer.upload { "PUT" } else { "GET" }
            )
            .into_bytes();
            line.extend_from_slice(&url_encoded(transfer.path));
            line.extend_from_slice(format!("\" 200 {}\n", transfer.bytes).as_bytes());
            line
        }
        Format::Stats => {
            let mut line = format!(
                "{} {:x}.{:x} {account} {host} {} {} {rounded_seconds} ",
                now.timestamp().as_second(),
                transfer.session_start,
                std::process::id(),
                if transfer.upload { 'U' } else { 'D' },
                transfer.bytes,
            )
            .into_bytes();
            line.extend(
                transfer
                    .path
                    .iter()
                    .map(|&b| if b < 0x20 || b == 0x7f { b'_' } else { b }),
            );
            line.push(b'\n');
            line
        }
        Format::W3c => {
            let utc = now.with_time_zone(TimeZone::UTC);
            let mut line = format!(
                "{} {host} []{} ",
                utc.strftime("%Y-%m-%d %H:%M:%S"),
                if transfer.upload { "created" } else { "sent" }
            )
            .into_bytes();
            line.extend_from_slice(&url_encoded(transfer.path));
            line.extend_from_slice(
                format!(" 226 {} {}\n", transfer.account, transfer.bytes).as_bytes(),
            );
            line
        }
        Format::Xferlog => {
            let mut line = format!(
                "{} {rounded_seconds} {host} {} ",
                now.strftime("%a %b %d %H:%M:%S %Y"),
                transfer.bytes
            )
            .into_bytes();
            line.extend(transfer.path.iter().map(|&b| {
                if b.is_ascii_whitespace() || b < 0x20 || b == 0x7f {
                    b'_'
                } else {
                    b
                }
            }));
            line.extend_from_slice(
                format!(
                    " {} _ {} r {account} ftp 1 * c\n",
                    if transfer.ascii { 'a' } else { 'b' },
                    if transfer.upload { 'i' } else { 'o' }
                )
                .as_bytes(),
            );
            line
        }
    }
}

/// Pure-FTPd's URL encoding: `A-Za-z0-9./_-` kept, every other byte `%XX`.
fn url_encoded(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'_' | b'-') {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(upload: bool) -> Transfer<'static> {
        Transfer {
            upload,
            path: b"/srv/ftp/alice/up 52111.bin",
            bytes: 1234,
            seconds: 0.2,
            ascii: false,
            account: "alice",
            host: "127.0.0.1",
            session_start: 0x6b02_79cd,
        }
    }

    fn at(tz: &str) -> Zoned {
        "2026-11-22T05:12:46Z"
            .parse::<Timestamp>()
            .unwrap()
            .to_zoned(TimeZone::get(tz).unwrap())
    }

    fn text(format: Format, upload: bool, tz: &str) -> String {
        String::from_utf8(line(format, &transfer(upload), &at(tz))).unwrap()
    }

    #[test]
    fn lines_as_pure_ftpd_writes_them() {
        assert_eq!(
            text(Format::Clf, true, "UTC"),
            "127.0.0.1 - alice [22/Nov/2026:05:12:46 -0000] \"PUT /srv/ftp/alice/up%2052111.bin\" 200 1234\n"
        );
        // East of UTC prints '-', west '+' (Pure-FTPd's inverted sign).
        assert!(text(Format::Clf, false, "Europe/Paris").contains(":06:12:46 -0100] \"GET "));
        assert!(text(Format::Clf, false, "America/New_York").contains(":00:12:46 +0500] "));
        let stats = text(Format::Stats, true, "UTC");
        assert!(
            stats.starts_with("1795324366 6b0279cd.")
                && stats.ends_with(" alice 127.0.0.1 U 1234 0 /srv/ftp/alice/up 52111.bin\n"),
            "{stats}"
        );
        assert_eq!(
            text(Format::W3c, true, "Europe/Paris"),
            "2026-11-22 05:12:46 127.0.0.1 []created /srv/ftp/alice/up%2052111.bin 226 alice 1234\n"
        );
        assert_eq!(
            text(Format::Xferlog, true, "UTC"),
            "Sun Nov 22 05:12:46 2026 0 127.0.0.1 1234 /srv/ftp/alice/up_52111.bin b _ i r alice ftp 1 * c\n"
        );
    }

    #[test]
    fn names_cannot_forge_lines() {
        let mut evil = transfer(true);
        evil.path = b"/x\r\nfake line\n";
        for format in [Format::Clf, Format::Stats, Format::W3c, Format::Xferlog] {
            let line = line(format, &evil, &at("UTC"));
            assert_eq!(
                line.iter().filter(|&&b| b == b'\n').count(),
                1,
                "{format:?}"
            );
            assert!(!line.contains(&b'\r'));
        }
    }

    #[test]
    fn specs_as_pure_ftpd_reads_them() {
        let spec = Spec::parse("W3C:/var/log/x").unwrap();
        assert_eq!(
            (spec.format, spec.path),
            (Format::W3c, PathBuf::from("/var/log/x"))
        );
        assert_eq!(Spec::parse("/var/log/y").unwrap().format, Format::Clf);
        assert_eq!(
            Spec::parse("foo:/x").unwrap_err(),
            "Unknown logging format: foo"
        );
        assert_eq!(
            Spec::parse("clf:rel").unwrap_err(),
            "Prohibited file name: rel"
        );
        assert_eq!(Spec::parse("rel").unwrap_err(), "Prohibited file name: rel");
    }
}
