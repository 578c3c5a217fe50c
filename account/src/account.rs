use std::ffi::OsStr;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::fields::{Field, LineError};
use crate::ip::{self, IpList};
use crate::record::Record;
use crate::time_window::TimeWindow;

/// Where an account lives: the directory it is confined to and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// The chroot directory when [`Home::chroot`] is set, else the home itself.
    pub root: PathBuf,
    /// The starting directory, relative to `root` (`/` unless the home continues after
    /// its `/./`).
    pub start: PathBuf,
    /// Whether the home asked for a chroot with `/./`.
    pub chroot: bool,
}

impl Home {
    /// Splits a home at its first `/./`: `/base/./` chroots to `/base/` and starts in
    /// `/`; `/base/./sub` starts in `/sub`. Without `/./`, the home is not chrooted.
    #[must_use]
    pub fn parse(home: &[u8]) -> Self {
        let path = |bytes: &[u8]| PathBuf::from(OsStr::from_bytes(bytes));
        match home.windows(3).position(|w| w == b"/./") {
            Some(at) => {
                let start = &home[at + 2..];
                Self {
                    root: path(&home[..=at]),
                    start: if start == b"/" {
                        PathBuf::from("/")
                    } else {
                        path(start)
                    },
                    chroot: true,
                }
            }
            None => Self {
                root: path(home),
                start: PathBuf::from("/"),
                chroot: false,
            },
        }
    }

    /// The starting directory as a real path, outside any chroot.
    #[must_use]
    pub fn start_dir(&self) -> PathBuf {
        let inside = self.start.strip_prefix("/").unwrap_or(&self.start);
        if inside.as_os_str().is_empty() {
            self.root.clone()
        } else {
            self.root.join(inside)
        }
    }
}

/// Allow and deny lists for one kind of address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpRules {
    /// Addresses that may connect (empty: any).
    pub allow: IpList,
    /// Addresses that may not connect.
    pub deny: IpList,
}

impl IpRules {
    /// Whether `address` passes both lists.
    pub fn allows(&self, address: IpAddr, resolve: &mut dyn FnMut(&str) -> Vec<IpAddr>) -> bool {
        ip::allowed(&self.allow, &self.deny, address, resolve)
    }
}

/// A virtual account as the server uses it, from a `.pdb` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub login: Vec<u8>,
    /// Stored password hash; check it with [`crate::password::verify`].
    pub password_hash: Vec<u8>,
    /// User id the session runs as.
    pub uid: u32,
    /// Group id the session runs as.
    pub gid: u32,
    /// Free text.
    pub gecos: Vec<u8>,
    /// Home and chroot point.
    pub home: Home,
    /// Upload limit, bytes per second.
    pub upload_bandwidth: Option<u64>,
    /// Download limit, bytes per second.
    pub download_bandwidth: Option<u64>,
    /// Upload part of an upload:download ratio.
    pub upload_ratio: Option<u32>,
    /// Download part of an upload:download ratio.
    pub download_ratio: Option<u32>,
    /// Maximum concurrent sessions of this login.
    pub max_sessions: Option<u32>,
    /// Maximum number of files.
    pub quota_files: Option<u64>,
    /// Maximum total size, bytes.
    pub quota_size: Option<u64>,
    /// Rules on the server address the client connected to; `None` unless the record
    /// has all four IP fields (as Pure-FTPd requires before applying any).
    pub local_ips: Option<IpRules>,
    /// Rules on the client's address; same condition.
    pub client_ips: Option<IpRules>,
    /// Allowed login hours.
    pub time_window: Option<TimeWindow>,
}

impl Account {
    /// Types a record. An IP list that cannot be parsed is an error, so that a server
    /// refuses the login rather than ignore a restriction.
    ///
    /// # Errors
    /// A malformed IP list.
    pub fn from_record(record: Record) -> Result<Self, LineError> {
        let lists = [
            (Field::AllowLocalIps, &record.allow_local_ips),
            (Field::DenyLocalIps, &record.deny_local_ips),
            (Field::AllowClientIps, &record.allow_client_ips),
            (Field::DenyClientIps, &record.deny_client_ips),
        ];
        let mut parsed = Vec::with_capacity(4);
        for (field, text) in lists {
            match text {
                Some(text) => parsed
                    .push(IpList::parse(text).map_err(|e| LineError::new(field, e.to_string()))?),
                None => break,
            }
        }
        let (local_ips, client_ips) = match <[IpList; 4]>::try_from(parsed) {
            Ok([allow_local, deny_local, allow_client, deny_client]) => (
                Some(IpRules {
                    allow: allow_local,
                    deny: deny_local,
                }),
                Some(IpRules {
                    allow: allow_client,
                    deny: deny_client,
                }),
            ),
            Err(_) => (None, None),
        };
        Ok(Self {
            home: Home::parse(&record.home),
            login: record.login,
            password_hash: record.password,
            uid: record.uid,
            gid: record.gid,
            gecos: record.gecos,
            upload_bandwidth: record.upload_bandwidth.filter(|&b| b > 0),
            download_bandwidth: record.download_bandwidth.filter(|&b| b > 0),
            upload_ratio: record.upload_ratio,
            download_ratio: record.download_ratio,
            max_sessions: record.max_sessions,
            quota_files: record.quota_files,
            quota_size: record.quota_size,
            local_ips,
            client_ips,
            time_window: record.time_window,
        })
    }

    /// The home directory as written in the record, as a path.
    #[must_use]
    pub fn home_path(&self) -> &Path {
        &self.home.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_split_at_the_chroot_marker() {
        let h = Home::parse(b"/srv/ftp/alice/./");
        assert_eq!(
            (h.root.as_path(), h.start.as_path(), h.chroot),
            (Path::new("/srv/ftp/alice/"), Path::new("/"), true)
        );
        assert_eq!(h.start_dir(), Path::new("/srv/ftp/alice/"));
        let h = Home::parse(b"/base/./sub/dir");
        assert_eq!(
            (h.root.as_path(), h.start.as_path()),
            (Path::new("/base/"), Path::new("/sub/dir"))
        );
        assert_eq!(h.start_dir(), Path::new("/base/sub/dir"));
        let h = Home::parse(b"/home/bob");
        assert_eq!(
            (h.root.as_path(), h.chroot),
            (Path::new("/home/bob"), false)
        );
    }

    /// A record whose fields 14 to 17 are `ips` (fewer: the line stops early).
    fn with_ips(ips: &[&str]) -> Record {
        let mut fields = vec!["u", "hash", "1", "1", "", "/h", "", "", "", "", "", "", ""];
        fields.extend_from_slice(ips);
        Record::parse(fields.join(":").as_bytes()).unwrap()
    }

    #[test]
    fn ip_rules_need_all_four_fields() {
        let short = with_ips(&["", "", "1.2.3.4"]);
        assert_eq!(Account::from_record(short).unwrap().client_ips, None);
        let full = with_ips(&["", "", "10.0.0.0/8", "10.0.0.9"]);
        let account = Account::from_record(full).unwrap();
        let rules = account.client_ips.unwrap();
        let mut no_dns = |_: &str| Vec::new();
        assert!(rules.allows("10.1.2.3".parse().unwrap(), &mut no_dns));
        assert!(!rules.allows("10.0.0.9".parse().unwrap(), &mut no_dns));
        assert!(!rules.allows("192.0.2.1".parse().unwrap(), &mut no_dns));
    }

    #[test]
    fn malformed_ip_lists_fail_closed() {
        let bad = with_ips(&["", "", "10.0.0.0/99", ""]);
        let err = Account::from_record(bad).unwrap_err();
        assert_eq!(err.field(), Some(Field::AllowClientIps));
    }
}
