//! `-l mysql:FILE`: MySQL and MariaDB, through the `mysql` crate. One connection per
//! login, as Pure-FTPd's (the session is its own process); see [`super::sql`] for the
//! keys, the queries and the verdicts.
//!
//! Ours: `MYSQLTLS On` (with `MYSQLTLSCA /path/ca.pem`, else the Mozilla roots) puts the
//! connection under TLS (rustls) and checks the server's certificate; Pure-FTPd has no
//! such keys (its libmysqlclient never asks for TLS).

use std::path::PathBuf;
use std::time::Duration;

use mysql::prelude::Queryable;

use super::sql::{Address, SqlConfig, SqlServer};

/// How long connecting, and each read or write, may take.
const TIMEOUT: Duration = Duration::from_secs(10);

struct MySql(mysql::Conn);

/// Connects as `config` says.
pub(super) fn connect(config: &SqlConfig) -> Result<Box<dyn SqlServer>, String> {
    let password = config
        .password
        .as_ref()
        .map(|p| String::from_utf8_lossy(p.expose()).into_owned());
    let mut options = mysql::OptsBuilder::new()
        .user(config.user.clone())
        .pass(password)
        .db_name(config.database.clone())
        .prefer_socket(false)
        .tcp_connect_timeout(Some(TIMEOUT))
        .read_timeout(Some(TIMEOUT))
        .write_timeout(Some(TIMEOUT))
        .stmt_cache_size(0)
        // Known here, the crate does not ask the server for it: one round trip less
        // per login (the answers are a few bytes).
        .max_allowed_packet(Some(16 * 1024 * 1024));
    if let Some(ca) = &config.tls {
        let ssl = mysql::SslOpts::default().with_root_cert_path(ca.clone().map(PathBuf::from));
        options = options.ssl_opts(ssl);
    }
    options = match &config.address {
        Address::Tcp(host, port) => options.ip_or_hostname(Some(host.clone())).tcp_port(*port),
        Address::Socket(path) => options.socket(Some(path.clone())),
    };
    let conn = mysql::Conn::new(options).map_err(|e| e.to_string())?;
    Ok(Box::new(MySql(conn)))
}

impl SqlServer for MySql {
    /// `mysql_real_escape_string`: backslashes, or doubled quotes when the server runs
    /// with `NO_BACKSLASH_ESCAPES`.
    fn escape(&self, value: &str) -> String {
        if self.0.no_backslash_escape() {
            return value.replace('\'', "''");
        }
        let mut escaped = String::with_capacity(value.len() * 2);
        for c in value.chars() {
            match c {
                '\0' => escaped.push_str("\\0"),
                '\n' => escaped.push_str("\\n"),
                '\r' => escaped.push_str("\\r"),
                '\\' => escaped.push_str("\\\\"),
                '\'' => escaped.push_str("\\'"),
                '"' => escaped.push_str("\\\""),
                '\x1a' => escaped.push_str("\\Z"),
                c => escaped.push(c),
            }
        }
        escaped
    }

    fn one_value(&mut self, query: &str) -> Result<Option<String>, String> {
        let mut result = self.0.query_iter(query).map_err(|e| e.to_string())?;
        // Only the first result set counts (a query may hold several statements).
        let Some(set) = result.iter() else {
            return Ok(None);
        };
        if set.columns().as_ref().len() != 1 {
            return Ok(None);
        }
        let rows = set
            .take(2)
            .collect::<Result<Vec<mysql::Row>, _>>()
            .map_err(|e| e.to_string())?;
        let [row] = rows.as_slice() else {
            return Ok(None);
        };
        let text = match row.as_ref(0) {
            Some(mysql::Value::Bytes(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            Some(mysql::Value::Int(n)) => n.to_string(),
            Some(mysql::Value::UInt(n)) => n.to_string(),
            _ => return Ok(None),
        };
        Ok(Some(text).filter(|t| !t.is_empty()))
    }

    fn execute(&mut self, statement: &str) -> bool {
        self.0.query_drop(statement).is_ok()
    }
}
