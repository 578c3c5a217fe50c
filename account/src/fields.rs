use std::fmt;

/// The 18 fields of a `pureftpd.passwd` line, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// 1: account name.
    Login,
    /// 2: password hash.
    Password,
    /// 3: numeric user id, above 0.
    Uid,
    /// 4: numeric group id, above 0.
    Gid,
    /// 5: free text.
    Gecos,
    /// 6: absolute home; `/./` marks the chroot point.
    Home,
    /// 7: upload bandwidth, bytes per second.
    UploadBandwidth,
    /// 8: download bandwidth, bytes per second.
    DownloadBandwidth,
    /// 9: the "1" of a 1:10 ratio.
    UploadRatio,
    /// 10: the "10" of a 1:10 ratio.
    DownloadRatio,
    /// 11: maximum concurrent sessions.
    MaxSessions,
    /// 12: maximum number of files (directories count).
    QuotaFiles,
    /// 13: maximum total size, bytes.
    QuotaSize,
    /// 14: server addresses the account may connect to.
    AllowLocalIps,
    /// 15: server addresses the account may not connect to.
    DenyLocalIps,
    /// 16: client addresses the account may connect from.
    AllowClientIps,
    /// 17: client addresses the account may not connect from.
    DenyClientIps,
    /// 18: `hhmm-hhmm`, server local time.
    TimeWindow,
}

impl Field {
    /// Every field, in file order.
    pub const ALL: [Field; 18] = [
        Field::Login,
        Field::Password,
        Field::Uid,
        Field::Gid,
        Field::Gecos,
        Field::Home,
        Field::UploadBandwidth,
        Field::DownloadBandwidth,
        Field::UploadRatio,
        Field::DownloadRatio,
        Field::MaxSessions,
        Field::QuotaFiles,
        Field::QuotaSize,
        Field::AllowLocalIps,
        Field::DenyLocalIps,
        Field::AllowClientIps,
        Field::DenyClientIps,
        Field::TimeWindow,
    ];

    /// The field's position on the line, from 1.
    #[must_use]
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|&f| f == self).unwrap_or(0) + 1
    }

    /// A short name for messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Field::Login => "login",
            Field::Password => "password",
            Field::Uid => "uid",
            Field::Gid => "gid",
            Field::Gecos => "gecos",
            Field::Home => "home directory",
            Field::UploadBandwidth => "upload bandwidth",
            Field::DownloadBandwidth => "download bandwidth",
            Field::UploadRatio => "upload ratio",
            Field::DownloadRatio => "download ratio",
            Field::MaxSessions => "max sessions",
            Field::QuotaFiles => "files quota",
            Field::QuotaSize => "size quota",
            Field::AllowLocalIps => "allowed local IPs",
            Field::DenyLocalIps => "denied local IPs",
            Field::AllowClientIps => "allowed client IPs",
            Field::DenyClientIps => "denied client IPs",
            Field::TimeWindow => "time restriction",
        }
    }
}

/// Why a `pureftpd.passwd` line (or a `.pdb` record) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    field: Option<Field>,
    problem: String,
}

impl LineError {
    pub(crate) fn new(field: Field, problem: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            problem: problem.into(),
        }
    }

    pub(crate) fn line(problem: impl Into<String>) -> Self {
        Self {
            field: None,
            problem: problem.into(),
        }
    }

    /// The faulty field, when one is to blame.
    #[must_use]
    pub fn field(&self) -> Option<Field> {
        self.field
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(
                f,
                "field {} ({}) {}",
                field.number(),
                field.name(),
                self.problem
            ),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for LineError {}

/// Shows untrusted bytes in a message: printable ASCII as is, the rest escaped.
pub(crate) fn shown(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// A non-empty run of ASCII digits that fits `T`.
pub(crate) fn parse_number<T: std::str::FromStr>(
    field: Field,
    text: &[u8],
) -> Result<T, LineError> {
    let digits = !text.is_empty() && text.iter().all(u8::is_ascii_digit);
    digits
        .then(|| std::str::from_utf8(text).ok()?.parse().ok())
        .flatten()
        .ok_or_else(|| {
            LineError::new(
                field,
                format!("must be a whole number, not \"{}\"", shown(text)),
            )
        })
}

/// An optional number: an empty field is `None`.
pub(crate) fn parse_optional<T: std::str::FromStr>(
    field: Field,
    text: Option<&[u8]>,
) -> Result<Option<T>, LineError> {
    match text {
        None | Some(b"") => Ok(None),
        Some(text) => parse_number(field, text).map(Some),
    }
}
