//! `-l pgsql:FILE`: PostgreSQL, through the `postgres` crate. One connection per login,
//! as Pure-FTPd's; see [`super::sql`] for the keys, the queries and the verdicts.
//!
//! Ours: `PGSQLTLS On` (with `PGSQLTLSCA /path/ca.pem`, else the Mozilla roots) requires
//! TLS (rustls, through `tokio-postgres-rustls`) and checks the server's certificate;
//! Pure-FTPd's conninfo never asks for it.

use std::time::Duration;

use postgres::SimpleQueryMessage;

use super::sql::{Address, SqlConfig, SqlServer};

/// How long connecting may take; a query is cut by the server after [`STATEMENT_TIMEOUT`].
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const STATEMENT_TIMEOUT: &str = "-c statement_timeout=10000";

struct PgSql(postgres::Client);

/// Connects as `config` says (a server that is a path is the socket's directory).
pub(super) fn connect(config: &SqlConfig) -> Result<Box<dyn SqlServer>, String> {
    let mut options = postgres::Config::new();
    match &config.address {
        Address::Tcp(host, _) => options.host(host),
        Address::Socket(directory) => options.host_path(directory),
    };
    options
        .port(config.port)
        .connect_timeout(CONNECT_TIMEOUT)
        .options(STATEMENT_TIMEOUT)
        .application_name("pure-ftpd");
    if let Some(user) = &config.user {
        options.user(user);
    }
    if let Some(password) = &config.password {
        options.password(password.expose());
    }
    if let Some(database) = &config.database {
        options.dbname(database);
    }
    let client = match &config.tls {
        None => options.connect(postgres::NoTls),
        Some(ca) => {
            options.ssl_mode(postgres::config::SslMode::Require);
            options.connect(tokio_postgres_rustls::MakeRustlsConnect::new(
                super::tls_client::config(ca.as_deref())?,
            ))
        }
    }
    .map_err(|e| e.to_string())?;
    Ok(Box::new(PgSql(client)))
}

impl SqlServer for PgSql {
    /// `PQescapeStringConn` under `standard_conforming_strings` (PostgreSQL's default
    /// since 9.1): quotes doubled. No value that reaches it holds a backslash (the
    /// login's characters are checked first, the rest are addresses and ports).
    fn escape(&self, value: &str) -> String {
        value.replace('\'', "''")
    }

    fn one_value(&mut self, query: &str) -> Result<Option<String>, String> {
        let messages = self.0.simple_query(query).map_err(|e| e.to_string())?;
        let rows: Vec<_> = messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(row),
                _ => None,
            })
            .collect();
        let [row] = rows.as_slice() else {
            return Ok(None);
        };
        if row.len() != 1 {
            return Ok(None);
        }
        Ok(row.get(0).filter(|v| !v.is_empty()).map(str::to_string))
    }

    fn execute(&mut self, statement: &str) -> bool {
        self.0.batch_execute(statement).is_ok()
    }
}
