//! A session as pure-ftpwho shows it: the record's values, and what Pure-FTPd derives
//! from them (time since connecting, bandwidth, percentage).

use std::collections::HashMap;
use std::net::IpAddr;

use pureftpd_scoreboard::{Record, State};

/// Host names for addresses: reverse lookups (`getnameinfo`, as Pure-FTPd), each
/// address looked up once per run, or numeric with `-H`.
#[derive(Debug)]
pub(crate) struct Resolver {
    numeric: bool,
    names: HashMap<IpAddr, String>,
}

impl Resolver {
    pub(crate) fn new(numeric: bool) -> Self {
        Self {
            numeric,
            names: HashMap::new(),
        }
    }

    fn name(&mut self, ip: IpAddr) -> String {
        if self.numeric {
            return ip.to_string();
        }
        self.names
            .entry(ip)
            .or_insert_with(|| dns_lookup::lookup_addr(&ip).unwrap_or_else(|_| ip.to_string()))
            .clone()
    }
}

/// One line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The session's process.
    pub pid: u32,
    /// The login (`?` before login).
    pub account: Vec<u8>,
    /// Seconds since the client connected.
    pub since: u64,
    /// Seconds since the current transfer started (or since connecting).
    pub xfer_since: u64,
    /// Pure-FTPd's state strings: `IDLE`, ` DL `, ` UL `.
    pub state: &'static str,
    /// The file being transferred.
    pub file: Vec<u8>,
    /// The client's host.
    pub host: String,
    /// The server's host the client connected to.
    pub local_host: String,
    /// The server's port.
    pub local_port: String,
    /// REST offset (0 when beyond the current position).
    pub restart: u64,
    /// The file's size, for downloads; else 0.
    pub total: u64,
    /// Position in the file, during transfers; else 0.
    pub current: u64,
    /// Whether the control connection uses TLS (or SSH).
    pub encrypted: bool,
    /// `ftp`, or `sftp` for a session of `pure-sftpd`.
    pub protocol: &'static str,
}

impl Entry {
    pub(crate) fn new(record: &Record, now: u64, resolver: &mut Resolver) -> Self {
        let transferring = matches!(record.state, State::Download | State::Upload);
        let current = if transferring { record.current } else { 0 };
        Self {
            pid: record.pid,
            account: record.account.clone(),
            since: now.saturating_sub(record.connected),
            xfer_since: if record.transfer_started > 0 {
                now.saturating_sub(record.transfer_started)
            } else {
                0
            },
            state: match record.state {
                State::Idle => "IDLE",
                State::Download => " DL ",
                State::Upload => " UL ",
            },
            file: record.file.clone(),
            host: resolver.name(record.peer),
            local_host: resolver.name(record.local),
            local_port: record.local_port.to_string(),
            restart: if record.restart <= current {
                record.restart
            } else {
                0
            },
            total: if record.state == State::Download {
                record.size
            } else {
                0
            },
            current,
            encrypted: record.encrypted,
            protocol: if record.sftp { "sftp" } else { "ftp" },
        }
    }

    /// Bytes per second of the current transfer (0 when nothing is known yet).
    #[must_use]
    pub fn bandwidth(&self) -> u64 {
        if self.xfer_since > 0 && self.current > self.restart {
            (self.current - self.restart) / self.xfer_since
        } else {
            0
        }
    }

    /// Percentage done, rounded, at most 100; `None` without a transfer of known size.
    #[must_use]
    pub fn percent(&self) -> Option<u64> {
        (self.current > 0 && self.total > 0).then(|| {
            // floor(current * 100 / total + 0.5), in integers.
            let (current, total) = (u128::from(self.current), u128::from(self.total));
            let rounded = (current * 200 + total) / (total * 2);
            u64::try_from(rounded.min(100)).unwrap_or(100)
        })
    }

    /// `HH:MM` since connecting.
    #[must_use]
    pub fn hours_minutes(&self) -> String {
        format!("{:02}:{:02}", self.since / 3600, (self.since / 60) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(current: u64, total: u64) -> Entry {
        Entry {
            pid: 1,
            account: b"a".to_vec(),
            since: 3725,
            xfer_since: 4,
            state: " DL ",
            file: Vec::new(),
            host: String::new(),
            local_host: String::new(),
            local_port: "21".into(),
            restart: 0,
            total,
            current,
            encrypted: false,
            protocol: "ftp",
        }
    }

    #[test]
    fn derived_values_as_pure_ftpd_computes_them() {
        assert_eq!(entry(0, 100).percent(), None);
        assert_eq!(entry(6, 100).percent(), Some(6));
        // Rounded half up, as (int)(pct + 0.5).
        assert_eq!(entry(65, 1000).percent(), Some(7));
        assert_eq!(entry(64, 1000).percent(), Some(6));
        assert_eq!(entry(1000, 1000).percent(), Some(100));
        assert_eq!(entry(2000, 1000).percent(), Some(100));
        assert_eq!(entry(4096, 0).bandwidth(), 1024);
        assert_eq!(entry(4096, 0).hours_minutes(), "01:02");
    }
}
