//! The records of a transfer that moved bytes, shared by FTP and SFTP sessions: the
//! syslog line (`/srv/ftp/bob//f.bin uploaded  (1000 bytes, 4607.42KB/sec)`, as
//! Pure-FTPd words it), the `-O` transfer log and, for uploads under `-o`, the upload
//! pipe for `pure-uploadscript`.

use std::time::Duration;

use crate::altlog::AltLog;
use crate::log::{Level, Logger};

/// A path inside a session's root as it is on the server, as Pure-FTPd logs it: the
/// chroot base, `/`, then the path (hence a `//`).
pub(crate) fn real_path(base: &std::path::Path, path: &[u8]) -> Vec<u8> {
    let base = base.as_os_str().as_encoded_bytes();
    let mut real = base.strip_suffix(b"/").unwrap_or(base).to_vec();
    real.push(b'/');
    real.extend_from_slice(path);
    real
}

/// Where a session records its transfers.
pub(crate) struct Recorder<'a> {
    pub(crate) log: &'a Logger,
    pub(crate) alt_log: Option<&'a AltLog>,
    /// `-o`.
    pub(crate) upload_script: bool,
    /// Session start, seconds since 1970 (the `stats` format has it).
    pub(crate) session_start: i64,
    /// `TYPE A` was in force.
    pub(crate) ascii: bool,
}

impl Recorder<'_> {
    /// Records a transfer of `bytes` to or from `real`, the file's path on the server.
    pub(crate) fn record(&self, real: &[u8], upload: bool, bytes: u64, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let rate = if seconds > 0.0 {
            bytes as f64 / 1024.0 / seconds
        } else {
            0.0
        };
        let what = if upload { "uploaded" } else { "downloaded" };
        self.log.log(
            Level::Notice,
            &format!(
                "{} {what}  ({bytes} bytes, {rate:.2}KB/sec)",
                String::from_utf8_lossy(real)
            ),
        );
        let clean = crate::vfs::normalize(b"/", b"/", real);
        if upload && self.upload_script {
            let login = self.log.account.as_bytes();
            if let Err(e) = crate::upload_pipe::report(login, &clean) {
                self.log.log(
                    Level::Warning,
                    &format!(
                        "Upload of {} not reported: {e}",
                        String::from_utf8_lossy(&clean)
                    ),
                );
            }
        }
        if let Some(alt_log) = self.alt_log {
            let transfer = crate::altlog::Transfer {
                upload,
                path: &clean,
                bytes,
                seconds,
                ascii: self.ascii,
                account: &self.log.account,
                host: &self.log.host,
                session_start: self.session_start,
            };
            if let Err(e) = alt_log.write(&transfer) {
                self.log.log(
                    Level::Error,
                    &format!("Unable to write the transfer log: {e}"),
                );
            }
        }
    }
}
