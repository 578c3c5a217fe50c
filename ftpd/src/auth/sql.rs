//! What `-l mysql:FILE` and `-l pgsql:FILE` share, as Pure-FTPd 1.0.50's `log_mysql.c`
//! and `log_pgsql.c` do it: the configuration keys, the login's allowed characters, the
//! placeholders of the queries, the order of the queries, the password methods and how
//! the answers become an account. `mysql` and `pgsql` only connect,
//! escape and run one query.
//!
//! Pure-FTPd's verdicts, kept: a login with a character outside `[A-Za-z0-9 -_'.:@+]`,
//! a server that cannot be reached, or a query that finds no single non-empty value
//! for the password, uid, gid or home passes the login to the next backend of the
//! chain (the client gets `530` if none knows it); a wrong password, or a uid or gid
//! that is (or names) root, refuses it. Each query must return one column and one row.
//!
//! Deliberate differences: a missing `…Crypt` key stops the start (Pure-FTPd's
//! sessions crash on every login then); a `…Port` that is not a port stops the start
//! (Pure-FTPd quietly uses the default); Pure-FTPd 1.0.50's PostgreSQL build crashes
//! with `PGSQLPort` and cannot connect without it, ours connects. `crypt` takes every
//! crypt(3) format [`pureftpd_account::password`] knows (not argon2).

use std::net::IpAddr;
use std::path::Path;

use pureftpd_account::password::{self, Scheme};
use pureftpd_account::{Home, Password};

use super::conf_file::{self, Settings};
use super::{DirectoryField, Endpoints, LoggedUser, Proof, Verdict};

/// Pure-FTPd's limit on a query once its placeholders are filled in.
const MAX_QUERY: usize = 8192;

/// Which server, for the keys' prefix and the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `MYSQL…` keys, port 3306, `MYSQLTransactions`.
    MySql,
    /// `PGSQL…` keys, port 5432, always in a transaction.
    PgSql,
}

impl Dialect {
    fn prefix(self) -> &'static str {
        match self {
            Self::MySql => "MYSQL",
            Self::PgSql => "PGSQL",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::MySql => 3306,
            Self::PgSql => 5432,
        }
    }

    /// The keys, in Pure-FTPd's table order (a keyword matches as a prefix of a line,
    /// first in this order).
    fn keywords(self) -> &'static [&'static str] {
        match self {
            Self::MySql => &[
                "MYSQLServer",
                "MYSQLPort",
                "MYSQLSocket",
                "MYSQLUser",
                "MYSQLPassword",
                "MYSQLDatabase",
                "MYSQLCrypt",
                "MYSQLTransactions",
                "MYSQLGetPW",
                "MYSQLGetUID",
                "MYSQLDefaultUID",
                "MYSQLGetGID",
                "MYSQLDefaultGID",
                "MYSQLGetDir",
                "MYSQLForceTildeExpansion",
                "MYSQLGetQTAFS",
                "MYSQLGetQTASZ",
                "MYSQLGetRatioUL",
                "MYSQLGetRatioDL",
                "MYSQLGetBandwidthUL",
                "MYSQLGetBandwidthDL",
                // Ours (TLS to the server); CA first: keywords match as prefixes.
                "MYSQLTLSCA",
                "MYSQLTLS",
            ],
            Self::PgSql => &[
                "PGSQLServer",
                "PGSQLPort",
                "PGSQLUser",
                "PGSQLPassword",
                "PGSQLDatabase",
                "PGSQLCrypt",
                "PGSQLGetPW",
                "PGSQLGetUID",
                "PGSQLDefaultUID",
                "PGSQLGetGID",
                "PGSQLDefaultGID",
                "PGSQLGetDir",
                "PGSQLGetQTAFS",
                "PGSQLGetQTASZ",
                "PGSQLGetRatioUL",
                "PGSQLGetRatioDL",
                "PGSQLGetBandwidthUL",
                "PGSQLGetBandwidthDL",
                // Ours (TLS to the server); CA first: keywords match as prefixes.
                "PGSQLTLSCA",
                "PGSQLTLS",
            ],
        }
    }
}

/// How stored passwords are compared (`…Crypt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crypt {
    /// The column holds the password itself; an empty password never matches.
    Cleartext,
    /// `$argon2i$`/`$argon2id$` only.
    Argon2,
    /// `$7$` only.
    Scrypt,
    /// crypt(3) formats.
    Crypt,
    /// Any hash (never cleartext).
    Any,
}

impl Crypt {
    /// As Pure-FTPd: `any`, `argon2`, `scrypt`, `crypt` (any case), else cleartext.
    fn parse(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "any" => Self::Any,
            "argon2" => Self::Argon2,
            "scrypt" => Self::Scrypt,
            "crypt" => Self::Crypt,
            _ => Self::Cleartext,
        }
    }

    fn matches(self, password: &Password, stored: &str) -> bool {
        let scheme = Scheme::detect(stored);
        let hashed = |allowed: bool| {
            allowed && password::verify(password, stored.as_bytes()).unwrap_or(false)
        };
        match self {
            Self::Cleartext => {
                !password.expose().is_empty()
                    && constant_time_eq(password.expose(), stored.as_bytes())
            }
            Self::Argon2 => hashed(scheme == Some(Scheme::Argon2)),
            Self::Scrypt => hashed(scheme == Some(Scheme::Scrypt)),
            Self::Crypt => hashed(scheme.is_some_and(|s| s != Scheme::Argon2)),
            Self::Any => hashed(scheme.is_some()),
        }
    }
}

/// Compares without stopping at the first difference (the length still shows).
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// Host name or address, and port.
    Tcp(String, u16),
    /// A Unix socket (MySQL: the socket file; PostgreSQL: its directory).
    Socket(String),
}

/// One `-l mysql:` or `-l pgsql:` configuration file, read at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlConfig {
    /// MySQL or PostgreSQL.
    pub dialect: Dialect,
    /// The file, for messages.
    pub file: String,
    /// Where to connect.
    pub address: Address,
    /// The port (PostgreSQL's socket file is named after it too).
    pub port: u16,
    /// Database user.
    pub user: Option<String>,
    /// Its password (redacted in `Debug`).
    pub password: Option<Password>,
    /// Database name.
    pub database: Option<String>,
    /// Password method.
    pub crypt: Crypt,
    /// MySQL: `MYSQLTransactions On`; PostgreSQL: always.
    pub transactions: bool,
    /// Ours: `…TLS On` encrypts the connection and checks the server's certificate
    /// against `…TLSCA` (a PEM file), else the Mozilla roots.
    pub tls: Option<Option<String>>,
    queries: Queries,
    default_uid: Option<String>,
    default_gid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Queries {
    password: Option<String>,
    uid: Option<String>,
    gid: Option<String>,
    dir: Option<String>,
    quota_files: Option<String>,
    quota_size: Option<String>,
    ratio_upload: Option<String>,
    ratio_download: Option<String>,
    bandwidth_upload: Option<String>,
    bandwidth_download: Option<String>,
}

impl SqlConfig {
    /// Reads `file` as Pure-FTPd does at start.
    ///
    /// # Errors
    /// A message naming the file (and the line) for an unreadable file, an unknown
    /// key, a key without value, a bad port, no server, no password method.
    pub fn read(dialect: Dialect, file: &Path) -> Result<Self, String> {
        let settings = conf_file::read(file, dialect.keywords())?;
        Self::from_settings(dialect, &settings)
    }

    fn from_settings(dialect: Dialect, settings: &Settings) -> Result<Self, String> {
        let prefix = dialect.prefix();
        let get = |key: &str| settings.get(&format!("{prefix}{key}")).map(str::to_string);
        let port = match get("Port") {
            None => dialect.default_port(),
            Some(port) => port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                format!(
                    "{}: {prefix}Port {port} is not a port number (1 to 65535)",
                    settings.file
                )
            })?,
        };
        let address = match (dialect, get("Server"), get("Socket")) {
            // libpq: a host that is a path is the socket's directory.
            (Dialect::PgSql, Some(server), _) if server.starts_with('/') => Address::Socket(server),
            // As libmysqlclient: the server wins over the socket, and `localhost`
            // means the default socket.
            (Dialect::MySql, Some(server), _) if server == "localhost" => {
                Address::Socket(MYSQL_DEFAULT_SOCKET.to_string())
            }
            (_, Some(server), _) => Address::Tcp(server, port),
            (Dialect::MySql, None, Some(socket)) => Address::Socket(socket),
            _ => {
                return Err(format!(
                    "{}: no {prefix}Server{} given",
                    settings.file,
                    if dialect == Dialect::MySql {
                        " or MYSQLSocket"
                    } else {
                        ""
                    }
                ));
            }
        };
        let crypt = get("Crypt").map(|c| Crypt::parse(&c)).ok_or_else(|| {
            format!(
                "{}: no {prefix}Crypt given (cleartext, argon2, scrypt, crypt or any)",
                settings.file
            )
        })?;
        let transactions = match dialect {
            Dialect::MySql => get("Transactions").is_some_and(|t| t.eq_ignore_ascii_case("on")),
            Dialect::PgSql => true,
        };
        let tls = match get("TLS") {
            None => None,
            Some(v) if v.eq_ignore_ascii_case("on") => Some(get("TLSCA")),
            Some(v) if v.eq_ignore_ascii_case("off") => None,
            Some(v) => {
                return Err(format!("{}: {prefix}TLS {v}: say On or Off", settings.file));
            }
        };
        Ok(Self {
            dialect,
            file: settings.file.clone(),
            tls,
            address,
            port,
            user: get("User"),
            password: get("Password").map(|p| Password::from(p.as_str())),
            database: get("Database"),
            crypt,
            transactions,
            queries: Queries {
                password: get("GetPW"),
                uid: get("GetUID"),
                gid: get("GetGID"),
                dir: get("GetDir"),
                quota_files: get("GetQTAFS"),
                quota_size: get("GetQTASZ"),
                ratio_upload: get("GetRatioUL"),
                ratio_download: get("GetRatioDL"),
                bandwidth_upload: get("GetBandwidthUL"),
                bandwidth_download: get("GetBandwidthDL"),
            },
            default_uid: get("DefaultUID"),
            default_gid: get("DefaultGID"),
        })
    }
}

/// Where MariaDB's and MySQL's Debian packages put the server's socket.
pub const MYSQL_DEFAULT_SOCKET: &str = "/run/mysqld/mysqld.sock";

/// A connection, as each server's module provides it.
pub(super) trait SqlServer {
    /// `value` escaped to sit between the query's quotes, as the C client's escape
    /// function would (`mysql_real_escape_string`, `PQescapeStringConn`).
    fn escape(&self, value: &str) -> String;
    /// The single value of `query`: `Ok(None)` unless it returns one column, one row,
    /// not NULL, not empty. `Err` when the server refused the query.
    fn one_value(&mut self, query: &str) -> Result<Option<String>, String>;
    /// Runs a statement whose result does not matter (transactions).
    fn execute(&mut self, statement: &str) -> bool;
}

/// Pure-FTPd's `validate_name`: letters, digits and ` -_'.:@+`.
fn is_valid_login(login: &[u8]) -> bool {
    !login.is_empty()
        && login
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b" -_'.:@+".contains(&b))
}

/// The placeholders' values, escaped.
struct Placeholders {
    login: String,
    local_ip: String,
    local_port: String,
    peer_ip: String,
    decimal_ip: String,
}

impl Placeholders {
    fn new(server: &dyn SqlServer, login: &str, at: &Endpoints) -> Self {
        let decimal_ip = match at.peer {
            IpAddr::V4(v4) => u32::from(v4).to_string(),
            IpAddr::V6(_) => String::new(),
        };
        Self {
            login: server.escape(login),
            local_ip: server.escape(&at.local.to_string()),
            local_port: server.escape(&at.local_port.to_string()),
            peer_ip: server.escape(&at.peer.to_string()),
            decimal_ip: server.escape(&decimal_ip),
        }
    }

    /// Pure-FTPd's `sqlsubst`: `\L`, `\I`, `\P`, `\R`, `\D` (any case) replaced,
    /// another `\x` kept, control characters dropped; `None` past [`MAX_QUERY`].
    fn fill(&self, template: &str) -> Option<String> {
        let mut query = String::with_capacity(template.len() + self.login.len());
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\\'
                && let Some(&next) = chars.peek()
            {
                let value = match next.to_ascii_lowercase() {
                    'l' => Some(&self.login),
                    'i' => Some(&self.local_ip),
                    'p' => Some(&self.local_port),
                    'r' => Some(&self.peer_ip),
                    'd' => Some(&self.decimal_ip),
                    _ => None,
                };
                if let Some(value) = value {
                    query.push_str(value);
                    chars.next();
                    continue;
                }
                query.push('\\');
                continue;
            }
            if !c.is_control() {
                query.push(c);
            }
        }
        (query.len() < MAX_QUERY).then_some(query)
    }
}

/// A uid or gid column: a number, or (when it reads as 0) a name; never root.
fn id(value: &str, by_name: impl Fn(&str) -> Option<u32>) -> Option<u32> {
    #[allow(clippy::cast_possible_truncation)] // uid_t, as Pure-FTPd's cast
    let number = pureftpd_proto::c_scan::strtoul(value.as_bytes(), 10) as u32;
    if number > 0 {
        return Some(number);
    }
    by_name(value).filter(|&n| n > 0)
}

/// Runs Pure-FTPd's sequence of queries for `login` on a connection `connect` makes.
pub(super) fn check(
    config: &SqlConfig,
    connect: impl FnOnce(&SqlConfig) -> Result<Box<dyn SqlServer>, String>,
    login: &[u8],
    proof: &Proof,
    at: &Endpoints,
    notes: &mut Vec<String>,
) -> Verdict {
    if !is_valid_login(login) {
        return Verdict::NotFound;
    }
    let login = String::from_utf8_lossy(login).into_owned();
    let mut server = match connect(config) {
        Ok(server) => server,
        Err(e) => {
            notes.push(format!("The SQL server seems to be down [{e}]"));
            return Verdict::NotFound;
        }
    };
    let placeholders = Placeholders::new(server.as_ref(), &login, at);
    let started = config.transactions
        && server.execute(match config.dialect {
            Dialect::MySql => "set autocommit=0",
            Dialect::PgSql => "BEGIN",
        });
    let verdict = run_queries(config, server.as_mut(), &placeholders, &login, proof, notes);
    if started {
        server.execute("COMMIT");
    }
    verdict
}

fn run_queries(
    config: &SqlConfig,
    server: &mut dyn SqlServer,
    placeholders: &Placeholders,
    login: &str,
    proof: &Proof,
    notes: &mut Vec<String>,
) -> Verdict {
    let mut value = |template: &Option<String>| -> Option<String> {
        let query = placeholders.fill(template.as_deref()?)?;
        match server.one_value(&query) {
            Ok(value) => value,
            Err(e) => {
                notes.push(format!("Wrong SQL parameters : [{query}] ({e})"));
                None
            }
        }
    };
    let queries = &config.queries;
    let Some(stored) = value(&queries.password) else {
        return Verdict::NotFound;
    };
    let Some(uid) = config.default_uid.clone().or_else(|| value(&queries.uid)) else {
        return Verdict::NotFound;
    };
    let Some(gid) = config.default_gid.clone().or_else(|| value(&queries.gid)) else {
        return Verdict::NotFound;
    };
    let Some(dir) = value(&queries.dir) else {
        return Verdict::NotFound;
    };
    if let Proof::Password(password) = proof
        && !config.crypt.matches(password, &stored)
    {
        return Verdict::Rejected("wrong password".to_string());
    }
    let user_id = |name: &str| {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
    };
    let group_id = |name: &str| {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    };
    let Some(uid) = id(&uid, user_id) else {
        return Verdict::Rejected(format!("uid {uid} is root or unknown"));
    };
    let Some(gid) = id(&gid, group_id) else {
        return Verdict::Rejected(format!("gid {gid} is root or unknown"));
    };
    let mut user = LoggedUser::new(login.as_bytes(), uid, gid, Home::parse(dir.as_bytes()));
    user.set_directory_limits(|field| {
        value(match field {
            DirectoryField::QuotaFiles => &queries.quota_files,
            DirectoryField::QuotaMegabytes => &queries.quota_size,
            DirectoryField::UploadRatio => &queries.ratio_upload,
            DirectoryField::DownloadRatio => &queries.ratio_download,
            DirectoryField::UploadKilobytesPerSecond => &queries.bandwidth_upload,
            DirectoryField::DownloadKilobytesPerSecond => &queries.bandwidth_download,
        })
    });
    Verdict::Accepted(Box::new(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Backslashes;

    impl SqlServer for Backslashes {
        fn escape(&self, value: &str) -> String {
            value.replace('\\', "\\\\").replace('\'', "\\'")
        }
        fn one_value(&mut self, _: &str) -> Result<Option<String>, String> {
            Ok(None)
        }
        fn execute(&mut self, _: &str) -> bool {
            true
        }
    }

    fn at() -> Endpoints {
        Endpoints {
            peer: "10.0.0.2".parse().unwrap(),
            local: "127.0.0.1".parse().unwrap(),
            local_port: 21,
            sni_name: None,
            encrypted: false,
        }
    }

    #[test]
    fn placeholders_are_filled_and_escaped() {
        let p = Placeholders::new(&Backslashes, "o'brien", &at());
        assert_eq!(
            p.fill("SELECT x FROM t WHERE u='\\L' AND i='\\i:\\P' AND r='\\R' AND d=\\D \\n\t")
                .unwrap(),
            "SELECT x FROM t WHERE u='o\\'brien' AND i='127.0.0.1:21' AND r='10.0.0.2' AND d=167772162 \\n"
        );
        assert!(p.fill(&"x".repeat(MAX_QUERY)).is_none());
    }

    #[test]
    fn logins_outside_pure_ftpds_characters_are_not_looked_up() {
        for good in [&b"alice"[..], b"o'brien", b"a.b-c_d@e:f+g h"] {
            assert!(is_valid_login(good), "{good:?}");
        }
        for bad in [
            &b""[..],
            b"x' OR '1'='1",
            b"a\\",
            b"a\0b",
            b"a;b",
            b"a\"b",
            b"*",
        ] {
            assert!(!is_valid_login(bad), "{bad:?}");
        }
    }

    #[test]
    fn ids_as_strtoul_then_names_never_root() {
        let names = |n: &str| (n == "daemon").then_some(1).or((n == "root").then_some(0));
        assert_eq!(id("1001", names), Some(1001));
        assert_eq!(id(" 42abc", names), Some(42));
        assert_eq!(id("daemon", names), Some(1));
        assert_eq!(id("0", names), None);
        assert_eq!(id("root", names), None);
        assert_eq!(id("4294967296", names), None);
    }

    #[test]
    fn password_methods() {
        let pw = Password::from("secret");
        assert!(Crypt::Cleartext.matches(&pw, "secret"));
        assert!(!Crypt::Cleartext.matches(&Password::from(""), ""));
        let md5 = "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/";
        assert!(!Crypt::Any.matches(&pw, "secret"));
        assert_eq!(Crypt::parse("MD5"), Crypt::Cleartext);
        assert_eq!(Crypt::parse("Any"), Crypt::Any);
        assert!(!Crypt::Argon2.matches(&pw, md5));
    }
}
