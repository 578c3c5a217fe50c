use crate::fields::{Field, LineError, parse_number, parse_optional, shown};
use crate::time_window::TimeWindow;

/// One account line of `pureftpd.passwd`.
///
/// Optional fields are `None` when empty or absent (a line may stop after field 6).
/// The four IP lists distinguish an absent field (`None`) from an empty one
/// (`Some(vec![])`), because the server only applies IP rules when all four exist and
/// `pure-pw show` prints `-` for an absent one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Account name (field 1).
    pub login: Vec<u8>,
    /// Password hash (field 2).
    pub password: Vec<u8>,
    /// User id, above 0 (field 3).
    pub uid: u32,
    /// Group id, above 0 (field 4).
    pub gid: u32,
    /// Free text (field 5).
    pub gecos: Vec<u8>,
    /// Absolute home directory; `/./` marks the chroot point (field 6).
    pub home: Vec<u8>,
    /// Bytes per second (field 7).
    pub upload_bandwidth: Option<u64>,
    /// Bytes per second (field 8).
    pub download_bandwidth: Option<u64>,
    /// Above 0 (field 9).
    pub upload_ratio: Option<u32>,
    /// Above 0 (field 10).
    pub download_ratio: Option<u32>,
    /// Above 0 (field 11).
    pub max_sessions: Option<u32>,
    /// Number of files (field 12).
    pub quota_files: Option<u64>,
    /// Bytes (field 13).
    pub quota_size: Option<u64>,
    /// Field 14, verbatim.
    pub allow_local_ips: Option<Vec<u8>>,
    /// Field 15, verbatim.
    pub deny_local_ips: Option<Vec<u8>>,
    /// Field 16, verbatim.
    pub allow_client_ips: Option<Vec<u8>>,
    /// Field 17, verbatim.
    pub deny_client_ips: Option<Vec<u8>>,
    /// Field 18.
    pub time_window: Option<TimeWindow>,
}

impl Record {
    /// Parses a whole line (without its line feed).
    ///
    /// Stricter than Pure-FTPd, which skips what it cannot read: every numeric field must
    /// be digits only, ids above 0, the home absolute, the time window valid. Every line
    /// Pure-FTPd's `pure-pw` writes passes. Fields after the 18th are ignored, as
    /// Pure-FTPd ignores them (its mkdb keeps such a line and its server logs the user
    /// in): see [`extra_fields`].
    ///
    /// # Errors
    /// The first faulty field.
    pub fn parse(line: &[u8]) -> Result<Self, LineError> {
        let (login, value) = split_login(line)?;
        Self::parse_value(login, value)
    }

    /// Parses a login and the rest of its line (fields 2 to 18), which is the value a
    /// `.pdb` file stores under the login.
    ///
    /// # Errors
    /// As [`Record::parse`].
    pub fn parse_value(login: &[u8], value: &[u8]) -> Result<Self, LineError> {
        Fields::parse(login, value).map(Fields::into_record)
    }

    /// Checks a whole line as [`Record::parse`] does, without building the record.
    ///
    /// # Errors
    /// As [`Record::parse`].
    pub fn check(line: &[u8]) -> Result<(), LineError> {
        let (login, value) = split_login(line)?;
        Fields::parse(login, value).map(drop)
    }

    /// The line as Pure-FTPd's `pure-pw` writes it: always 18 fields, no line feed.
    #[must_use]
    pub fn to_line(&self) -> Vec<u8> {
        let number = |n: Option<u64>| n.map(|n| n.to_string().into_bytes()).unwrap_or_default();
        let small = |n: Option<u32>| number(n.map(u64::from));
        let text = |t: &Option<Vec<u8>>| t.clone().unwrap_or_default();
        let fields: [Vec<u8>; 18] = [
            self.login.clone(),
            self.password.clone(),
            self.uid.to_string().into_bytes(),
            self.gid.to_string().into_bytes(),
            self.gecos.clone(),
            self.home.clone(),
            number(self.upload_bandwidth),
            number(self.download_bandwidth),
            small(self.upload_ratio),
            small(self.download_ratio),
            small(self.max_sessions),
            number(self.quota_files),
            number(self.quota_size),
            text(&self.allow_local_ips),
            text(&self.deny_local_ips),
            text(&self.allow_client_ips),
            text(&self.deny_client_ips),
            self.time_window
                .map(|w| w.to_string().into_bytes())
                .unwrap_or_default(),
        ];
        fields.join(&b':')
    }
}

/// The login, and the rest of the line.
/// How many fields a whole line has beyond the 18 of the format (ignored when read).
#[must_use]
pub fn extra_fields(line: &[u8]) -> usize {
    (line.iter().filter(|&&b| b == b':').count() + 1).saturating_sub(Field::ALL.len())
}

fn split_login(line: &[u8]) -> Result<(&[u8], &[u8]), LineError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| LineError::line("has no ':' separator"))?;
    Ok((&line[..colon], &line[colon + 1..]))
}

/// A checked record whose text still points into the line.
struct Fields<'a> {
    login: &'a [u8],
    password: &'a [u8],
    uid: u32,
    gid: u32,
    gecos: &'a [u8],
    home: &'a [u8],
    upload_bandwidth: Option<u64>,
    download_bandwidth: Option<u64>,
    upload_ratio: Option<u32>,
    download_ratio: Option<u32>,
    max_sessions: Option<u32>,
    quota_files: Option<u64>,
    quota_size: Option<u64>,
    ip_lists: [Option<&'a [u8]>; 4],
    time_window: Option<TimeWindow>,
}

impl<'a> Fields<'a> {
    fn parse(login: &'a [u8], value: &'a [u8]) -> Result<Self, LineError> {
        if login.is_empty() {
            return Err(LineError::new(Field::Login, "is empty"));
        }
        if login.iter().any(u8::is_ascii_control) {
            return Err(LineError::new(Field::Login, "contains a control character"));
        }
        // Fields 2 to 18, without allocating.
        let mut fields: [Option<&[u8]>; 17] = [None; 17];
        for (slot, field) in fields.iter_mut().zip(value.split(|&b| b == b':')) {
            *slot = Some(field);
        }
        let get = |field: Field| fields[field.number() - 2];
        let required = |field: Field| get(field).ok_or_else(|| LineError::new(field, "is missing"));
        let password = required(Field::Password)?;
        if password.is_empty() {
            return Err(LineError::new(Field::Password, "is empty"));
        }
        let uid = positive_id(Field::Uid, required(Field::Uid)?)?;
        let gid = positive_id(Field::Gid, required(Field::Gid)?)?;
        let gecos = required(Field::Gecos)?;
        let home = required(Field::Home)?;
        if home.iter().any(u8::is_ascii_control) {
            return Err(LineError::new(Field::Home, "contains a control character"));
        }
        if !home.starts_with(b"/") {
            return Err(LineError::new(
                Field::Home,
                format!("must be an absolute path, not \"{}\"", shown(home)),
            ));
        }
        let time_window = match get(Field::TimeWindow) {
            None | Some(b"") => None,
            Some(text) => Some(TimeWindow::parse(text).map_err(|_| {
                LineError::new(
                    Field::TimeWindow,
                    format!("must be hhmm-hhmm, not \"{}\"", shown(text)),
                )
            })?),
        };
        let optional = |field: Field| parse_optional(field, get(field));
        Ok(Self {
            login,
            password,
            uid,
            gid,
            gecos,
            home,
            upload_bandwidth: optional(Field::UploadBandwidth)?,
            download_bandwidth: optional(Field::DownloadBandwidth)?,
            // Pure-FTPd treats 0 as "no ratio" and "no limit", and so writes it back empty.
            upload_ratio: non_zero(parse_optional(Field::UploadRatio, get(Field::UploadRatio))?),
            download_ratio: non_zero(parse_optional(
                Field::DownloadRatio,
                get(Field::DownloadRatio),
            )?),
            max_sessions: non_zero(parse_optional(Field::MaxSessions, get(Field::MaxSessions))?),
            quota_files: optional(Field::QuotaFiles)?,
            quota_size: optional(Field::QuotaSize)?,
            ip_lists: [
                get(Field::AllowLocalIps),
                get(Field::DenyLocalIps),
                get(Field::AllowClientIps),
                get(Field::DenyClientIps),
            ],
            time_window,
        })
    }

    fn into_record(self) -> Record {
        let [allow_local, deny_local, allow_client, deny_client] =
            self.ip_lists.map(|l| l.map(<[u8]>::to_vec));
        Record {
            login: self.login.to_vec(),
            password: self.password.to_vec(),
            uid: self.uid,
            gid: self.gid,
            gecos: self.gecos.to_vec(),
            home: self.home.to_vec(),
            upload_bandwidth: self.upload_bandwidth,
            download_bandwidth: self.download_bandwidth,
            upload_ratio: self.upload_ratio,
            download_ratio: self.download_ratio,
            max_sessions: self.max_sessions,
            quota_files: self.quota_files,
            quota_size: self.quota_size,
            allow_local_ips: allow_local,
            deny_local_ips: deny_local,
            allow_client_ips: allow_client,
            deny_client_ips: deny_client,
            time_window: self.time_window,
        }
    }
}

fn positive_id(field: Field, text: &[u8]) -> Result<u32, LineError> {
    match parse_number::<u32>(field, text) {
        Ok(0) => Err(LineError::new(
            field,
            "must be above 0 (root is not allowed)",
        )),
        Ok(id) => Ok(id),
        Err(_) => Err(LineError::new(
            field,
            format!(
                "must be a number between 1 and 4294967295, not \"{}\"",
                shown(text)
            ),
        )),
    }
}

fn non_zero(n: Option<u32>) -> Option<u32> {
    n.filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOB: &[u8] = b"bob:$argon2id$v=19$m=8192,t=511,p=1$i0L$+Zt9:1002:1002:Bob Builder:/home/bob:51200:102400:1:10:3:1000:20971520:127.0.0.1:192.168.1.1/32:192.168.0.0/24,10.0.0.1:10.1.1.1:900-1800";

    #[test]
    fn full_lines_round_trip() {
        let record = Record::parse(BOB).unwrap();
        assert_eq!(record.uid, 1002);
        assert_eq!(record.upload_bandwidth, Some(51200));
        assert_eq!(record.download_bandwidth, Some(102400));
        assert_eq!(
            (record.upload_ratio, record.download_ratio),
            (Some(1), Some(10))
        );
        assert_eq!(record.max_sessions, Some(3));
        assert_eq!(record.quota_size, Some(20_971_520));
        assert_eq!(record.deny_client_ips.as_deref(), Some(&b"10.1.1.1"[..]));
        assert_eq!(record.time_window.unwrap().to_string(), "900-1800");
        assert_eq!(record.to_line(), BOB);
    }

    #[test]
    fn short_lines_are_accepted_and_written_in_full() {
        let record = Record::parse(b"u:hash:5:6:gecos:/srv/u/./").unwrap();
        assert_eq!(record.allow_local_ips, None);
        assert_eq!(record.to_line(), b"u:hash:5:6:gecos:/srv/u/./::::::::::::");
    }

    #[test]
    fn zero_ratios_and_sessions_mean_none() {
        let record = Record::parse(b"u:h:1:1::/h:0:0:0:0:0:0:0:::::").unwrap();
        assert_eq!(record.upload_ratio, None);
        assert_eq!(record.max_sessions, None);
        assert_eq!(record.upload_bandwidth, Some(0));
        assert_eq!(record.quota_files, Some(0));
        assert_eq!(record.to_line(), b"u:h:1:1::/h:0:0::::0:0:::::");
    }

    #[test]
    fn control_characters_are_refused_in_names_and_paths() {
        assert_eq!(
            Record::parse(b"a\x01:h:1:1::/h").unwrap_err().field(),
            Some(Field::Login)
        );
        assert_eq!(
            Record::parse(b"a:h:1:1::/h\x00x").unwrap_err().field(),
            Some(Field::Home)
        );
        assert!(
            Record::parse(b"a:h:1:1:tab\there:/h").is_ok(),
            "gecos is free text"
        );
    }

    /// A 19th field (a trailing colon, say) is ignored, as Pure-FTPd ignores it.
    #[test]
    fn fields_after_the_eighteenth_are_ignored() {
        let line = b"u:h:1:1::/h::::::::::::900-1800:";
        let record = Record::parse(line).unwrap();
        assert_eq!(record.time_window.unwrap().to_string(), "900-1800");
        assert_eq!(extra_fields(line), 1);
        assert_eq!(extra_fields(b"u:h:1:1::/h::::::::::::x:y:z"), 2);
        assert_eq!(extra_fields(b"u:h:1:1::/h"), 0);
    }

    #[test]
    fn broken_lines_name_the_field() {
        let cases: [(&[u8], Option<Field>); 12] = [
            (b"nocolon", None),
            (b":h:1:1::/h", Some(Field::Login)),
            (b"u::1:1::/h", Some(Field::Password)),
            (b"u:h:0:1::/h", Some(Field::Uid)),
            (b"u:h:12abc:1::/h", Some(Field::Uid)),
            (b"u:h:-1:1::/h", Some(Field::Uid)),
            (b"u:h:4294967296:1::/h", Some(Field::Uid)),
            (b"u:h:1:0::/h", Some(Field::Gid)),
            (b"u:h:1:1:gecos", Some(Field::Home)),
            (b"u:h:1:1::home", Some(Field::Home)),
            (b"u:h:1:1::/h:1.5", Some(Field::UploadBandwidth)),
            (b"u:h:1:1::/h::::::::::::2500-1000", Some(Field::TimeWindow)),
        ];
        for (line, field) in cases {
            let err = Record::parse(line).unwrap_err();
            assert_eq!(
                err.field(),
                field,
                "{}: {err}",
                String::from_utf8_lossy(line)
            );
        }
        let err = Record::parse(b"u:h:12abc:1::/h").unwrap_err();
        assert_eq!(
            err.to_string(),
            "field 3 (uid) must be a number between 1 and 4294967295, not \"12abc\""
        );
    }
}
