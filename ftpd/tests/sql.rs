//! `-l mysql:FILE` and `-l pgsql:FILE` against real MariaDB and PostgreSQL servers the
//! tests start: the same configuration and data through Debian's `pure-ftpd-mysql` and
//! ours (logins, refusals, injection attempts, per-user fields, measured bandwidth), a
//! database that is down, killed between logins (behind a relay) or slow, configuration
//! errors, and several of our servers sharing one directory.
//!
//! Debian's `pure-ftpd-postgresql` 1.0.50 cannot serve as the oracle (its sessions crash
//! with `PGSQLPort` and it never connects without it): the PostgreSQL tests hold ours to
//! the answers Debian's MySQL build gives for the same data.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::dbservers::{MariaDb, Postgres};
use common::relay::Relay;
use common::throughput::account_limits_hold;
use common::{Ftp, OURS, PASSWORD, Server, Site, USER, login_attempt, logs_in};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    MySql,
    PgSql,
}

/// One database of its own on the shared server, with a `users` table the account
/// queries read, a role `ftpd_<db>` that may only read it, and a site (homes, a `.pdb`
/// with alice for chains).
struct Directory {
    kind: Kind,
    name: String,
    site: Site,
}

const DB_PASSWORD: &str = "db pw 'quoted'";

impl Directory {
    fn new(kind: Kind) -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "ftp_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let site = Site::with_home_suffix("");
        let table = "CREATE TABLE users (login VARCHAR(64) PRIMARY KEY, password VARCHAR(255), \
                     uid VARCHAR(32), gid VARCHAR(32), dir VARCHAR(255), status INT DEFAULT 1, \
                     quota_files INT, quota_mb INT, ul_ratio INT, dl_ratio INT, ul_kb INT, dl_kb INT)";
        match kind {
            Kind::MySql => {
                let db = MariaDb::shared()?;
                let quoted = DB_PASSWORD.replace('\'', "\\'");
                db.sql(
                    "",
                    &format!(
                        "CREATE DATABASE {name}; CREATE USER 'r{name}'@'localhost' IDENTIFIED BY '{quoted}'; \
                         CREATE USER 'r{name}'@'127.0.0.1' IDENTIFIED BY '{quoted}'; \
                         GRANT SELECT ON {name}.* TO 'r{name}'@'localhost'; \
                         GRANT SELECT ON {name}.* TO 'r{name}'@'127.0.0.1'; USE {name}; {table};"
                    ),
                );
            }
            Kind::PgSql => {
                let db = Postgres::shared()?;
                let quoted = DB_PASSWORD.replace('\'', "''");
                db.sql(
                    "postgres",
                    &format!("CREATE ROLE r{name} LOGIN PASSWORD '{quoted}'"),
                );
                db.sql("postgres", &format!("CREATE DATABASE {name}"));
                db.sql(
                    &name,
                    &format!("{table}; GRANT SELECT ON users TO r{name};"),
                );
            }
        }
        Some(Self { kind, name, site })
    }

    fn sql(&self, statements: &str) -> String {
        match self.kind {
            Kind::MySql => MariaDb::shared().unwrap().sql(&self.name, statements),
            Kind::PgSql => Postgres::shared().unwrap().sql(&self.name, statements),
        }
    }

    /// Adds `login` with `stored` as its password column, the site's ids and home.
    fn add(&self, login: &str, stored: &str) {
        let q = |s: &str| s.replace('\'', "''");
        self.sql(&format!(
            "INSERT INTO users (login, password, uid, gid, dir) VALUES ('{}', '{}', '{}', '{}', '{}')",
            q(login),
            q(stored),
            self.site.uid,
            self.site.gid,
            q(self.site.home.to_str().unwrap())
        ));
    }

    fn set(&self, login: &str, assignments: &str) {
        self.sql(&format!(
            "UPDATE users SET {assignments} WHERE login = '{}'",
            login.replace('\'', "''")
        ));
    }

    /// A configuration file: over TCP (with the role's password) unless `socket`,
    /// the password method `crypt`, the usual queries, and `extra` lines.
    fn config(&self, crypt: &str, extra: &str) -> PathBuf {
        let p = match self.kind {
            Kind::MySql => "MYSQL",
            Kind::PgSql => "PGSQL",
        };
        let connection = match self.kind {
            Kind::MySql => format!(
                "MYSQLServer 127.0.0.1\nMYSQLPort {}\n",
                MariaDb::shared().unwrap().port
            ),
            Kind::PgSql => format!(
                "PGSQLServer 127.0.0.1\nPGSQLPort {}\n",
                Postgres::shared().unwrap().port
            ),
        };
        let text = format!(
            "# written by the test\n{connection}{p}User r{name}\n{p}Password {DB_PASSWORD}\n\
             {p}Database {name}\n{p}Crypt {crypt}\n\
             {p}GetPW SELECT password FROM users WHERE login='\\L' AND status=1\n\
             {p}GetUID SELECT uid FROM users WHERE login='\\L'\n\
             {p}GetGID SELECT gid FROM users WHERE login='\\L'\n\
             {p}GetDir SELECT dir FROM users WHERE login='\\L'\n\
             {p}GetQTAFS SELECT quota_files FROM users WHERE login='\\L'\n\
             {p}GetQTASZ SELECT quota_mb FROM users WHERE login='\\L'\n\
             {p}GetRatioUL SELECT ul_ratio FROM users WHERE login='\\L'\n\
             {p}GetRatioDL SELECT dl_ratio FROM users WHERE login='\\L'\n\
             {p}GetBandwidthUL SELECT ul_kb FROM users WHERE login='\\L'\n\
             {p}GetBandwidthDL SELECT dl_kb FROM users WHERE login='\\L'\n{extra}",
            name = self.name
        );
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = self.site.dir.path().join(format!(
            "{}-{crypt}-{}.conf",
            self.name,
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A cleartext configuration whose server is reached through a relay the test can
    /// take down and bring back.
    fn config_behind_a_relay(&self) -> (PathBuf, Relay) {
        let relay = Relay::to(database_address(self.kind));
        let conf = self.config("cleartext", "");
        let key = match self.kind {
            Kind::MySql => "MYSQL",
            Kind::PgSql => "PGSQL",
        };
        let text = std::fs::read_to_string(&conf).unwrap();
        let text = relay.in_config(&text, key, database_address(self.kind));
        std::fs::write(&conf, text).unwrap();
        (conf, relay)
    }

    /// `binary` with `-l <kind>:<conf>`, then `more` (`-l puredb:...`, flags).
    fn server(&self, binary: &Path, conf: &Path, more: &[&str]) -> Server {
        self.node(binary, conf, more, &self.site.scoreboard())
    }

    /// As [`Directory::server`], with a scoreboard of its own (a node of a cluster:
    /// each machine has its own).
    fn node(&self, binary: &Path, conf: &Path, more: &[&str], board: &Path) -> Server {
        let method = match self.kind {
            Kind::MySql => "mysql",
            Kind::PgSql => "pgsql",
        };
        let login = format!("{method}:{}", conf.display());
        let mut args = vec!["-l", &login, "-H", "-4"];
        args.extend_from_slice(more);
        Server::start_with_env(binary, &args, &[("PURE_FTPD_SCOREBOARD", board)])
    }
}

fn debians_mysql_build() -> Option<PathBuf> {
    common::oracle("pure-ftpd-mysql")
}

/// The logins of the comparison: (login, stored password, password typed).
const CASES: &[(&str, &str, &str)] = &[
    ("alice", "secret", "secret"),
    ("alice", "secret", "wrong"),
    ("empty", "", ""),
    ("o'brien", "pw 2", "pw 2"),
    ("a.b-c_d@e:f+g", "pw 3", "pw 3"),
    // Injection attempts: only Pure-FTPd's characters (letters, space, quote) that
    // would log in as alice were the quote not escaped...
    ("x' OR login LIKE 'alice", "", "secret"),
    // ...and characters Pure-FTPd does not look up at all.
    ("x' OR '1'='1", "", "secret"),
    ("alice\\", "", "secret"),
    ("alice';--", "", "secret"),
    ("nobody", "", "x"),
];

fn seed_cases(directory: &Directory) {
    for (n, (login, stored, _)) in CASES.iter().enumerate() {
        let first = CASES.iter().position(|(l, _, _)| l == login) == Some(n);
        if first && (!stored.is_empty() || *login == "empty") {
            directory.add(login, stored);
        }
    }
}

fn replies(port: u16) -> Vec<Vec<String>> {
    CASES
        .iter()
        .map(|(login, _, typed)| login_attempt(port, login, typed))
        .collect()
}

#[test]
fn mysql_logins_and_refusals_as_debians() {
    let Some(directory) = Directory::new(Kind::MySql) else {
        return;
    };
    let Some(theirs) = debians_mysql_build() else {
        return;
    };
    seed_cases(&directory);
    let conf = directory.config("cleartext", "");
    let ours = directory.server(Path::new(OURS), &conf, &[]);
    let debian = directory.server(&theirs, &conf, &[]);
    let (ours_replies, debian_replies) = (replies(ours.port), replies(debian.port));
    assert_eq!(ours_replies, debian_replies);
    // What they agree on is what it should be.
    assert!(
        ours_replies[0].last().unwrap().starts_with("257"),
        "{ours_replies:?}"
    );
    assert!(ours_replies[3].last().unwrap().starts_with("257"));
    for refused in [1, 2, 5, 6, 7, 8, 9] {
        assert!(
            ours_replies[refused].last().unwrap().starts_with("530"),
            "{:?}: {:?}",
            CASES[refused],
            ours_replies[refused]
        );
    }
    // The database's password never reaches the log.
    assert!(!ours.stderr().contains(DB_PASSWORD));
}

#[test]
fn pgsql_logins_and_refusals_as_debians_mysql_build() {
    let Some(directory) = Directory::new(Kind::PgSql) else {
        return;
    };
    let Some(mysql) = Directory::new(Kind::MySql) else {
        return;
    };
    seed_cases(&directory);
    seed_cases(&mysql);
    // Debian's MySQL build on the same data is the oracle for the shared semantics; the
    // homes differ (one site each), so PWD's text is compared up to the home.
    let theirs = debians_mysql_build();
    let ours = directory.server(Path::new(OURS), &directory.config("cleartext", ""), &[]);
    let ours_replies: Vec<Vec<String>> = replies(ours.port)
        .into_iter()
        .map(|r| {
            r.join("|")
                .replace(directory.site.home.to_str().unwrap(), "HOME")
        })
        .map(|r| r.split('|').map(str::to_string).collect())
        .collect();
    if let Some(theirs) = theirs {
        let debian = mysql.server(&theirs, &mysql.config("cleartext", ""), &[]);
        let debian_replies: Vec<Vec<String>> = replies(debian.port)
            .into_iter()
            .map(|r| {
                r.join("|")
                    .replace(mysql.site.home.to_str().unwrap(), "HOME")
            })
            .map(|r| r.split('|').map(str::to_string).collect())
            .collect();
        assert_eq!(ours_replies, debian_replies);
    }
    assert!(
        ours_replies[0].last().unwrap().starts_with("257"),
        "{ours_replies:?}"
    );
    assert!(ours_replies[6].last().unwrap().starts_with("530"));
}

/// A crypt(3) hash made by `openssl passwd`.
fn openssl_passwd(method: &str, password: &str) -> String {
    let out = std::process::Command::new("openssl")
        .args(["passwd", method, "-salt", "saltsalt", password])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn password_methods_as_debians() {
    let Some(directory) = Directory::new(Kind::MySql) else {
        return;
    };
    let Some(theirs) = debians_mysql_build() else {
        return;
    };
    // Hashes made by the system's crypt(3) (openssl) and our argon2id.
    let sha512 = openssl_passwd("-6", "pw");
    let md5 = openssl_passwd("-1", "pw");
    let argon2 = pureftpd_account::password::create(
        &pureftpd_account::Password::from("pw"),
        &pureftpd_account::password::HashPolicy::DEFAULT,
    )
    .unwrap();
    directory.add("sha", &sha512);
    directory.add("md5", &md5);
    directory.add("argon", &argon2);
    directory.add("plain", "pw");
    let mut table = vec![];
    for crypt in ["any", "crypt", "argon2", "scrypt", "cleartext", "md5"] {
        let conf = directory.config(crypt, "");
        let ours = directory.server(Path::new(OURS), &conf, &[]);
        let debian = directory.server(&theirs, &conf, &[]);
        for login in ["sha", "md5", "argon", "plain"] {
            let ours_in = logs_in(ours.port, login, "pw");
            let debian_in = logs_in(debian.port, login, "pw");
            assert_eq!(ours_in, debian_in, "{crypt} {login}: {}", ours.stderr());
            table.push((crypt, login, ours_in));
        }
    }
    let accepted: Vec<String> = table
        .iter()
        .filter(|(_, _, ok)| *ok)
        .map(|(c, l, _)| format!("{c}:{l}"))
        .collect();
    // Pure-FTPd 1.0.50 dropped md5 and sha1: an unknown method is cleartext.
    assert_eq!(
        accepted,
        [
            "any:sha",
            "any:md5",
            "any:argon",
            "crypt:sha",
            "crypt:md5",
            "argon2:argon",
            "cleartext:plain",
            "md5:plain"
        ]
    );
}

#[test]
fn ids_by_number_name_or_default_never_root() {
    for kind in [Kind::MySql, Kind::PgSql] {
        let Some(directory) = Directory::new(kind) else {
            return;
        };
        for login in ["byname", "rootuid", "rootname", "rootgid", "defaults"] {
            directory.add(login, "pw");
        }
        directory.set("byname", "uid = 'nobody', gid = 'nogroup'");
        directory.set("rootuid", "uid = '0'");
        directory.set("rootname", "uid = 'root'");
        directory.set("rootgid", "gid = '0'");
        let conf = directory.config("cleartext", "");
        let theirs = if kind == Kind::MySql {
            debians_mysql_build()
        } else {
            None
        };
        let ours = directory.server(Path::new(OURS), &conf, &[]);
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        {
            let binary_port = ours.port;
            let mut ftp = Ftp::login(binary_port, "byname", "pw");
            ftp.cmd("TYPE I");
            // Uploads land owned by the named account (when we can switch users).
            if common::is_root() {
                std::fs::set_permissions(
                    &directory.site.home,
                    std::os::unix::fs::PermissionsExt::from_mode(0o777),
                )
                .unwrap();
                let (first, last) = ftp.upload("STOR by-name.txt", b"x");
                assert_eq!((first.code, last.map(|r| r.code)), (150, Some(226)));
                let owner = std::os::unix::fs::MetadataExt::uid(
                    &std::fs::metadata(directory.site.home.join("by-name.txt")).unwrap(),
                );
                assert_eq!(owner, nobody.uid.as_raw());
            }
            for refused in ["rootuid", "rootname", "rootgid"] {
                assert!(!logs_in(binary_port, refused, "pw"), "{kind:?} {refused}");
            }
        }
        if let Some(theirs) = theirs {
            let debian = directory.server(&theirs, &conf, &[]);
            for login in ["byname", "rootuid", "rootname", "rootgid"] {
                assert_eq!(
                    login_attempt(ours.port, login, "pw").len(),
                    login_attempt(debian.port, login, "pw").len(),
                    "{login}: {}",
                    ours.stderr()
                );
            }
        }
        // Default ids replace the queries.
        let conf = directory.config(
            "cleartext",
            &format!(
                "{p}DefaultUID {uid}\n{p}DefaultGID {gid}\n",
                p = if kind == Kind::MySql {
                    "MYSQL"
                } else {
                    "PGSQL"
                },
                uid = directory.site.uid,
                gid = directory.site.gid
            ),
        );
        directory.set("defaults", "uid = '0', gid = '0'");
        let ours = directory.server(Path::new(OURS), &conf, &[]);
        assert!(logs_in(ours.port, "defaults", "pw"), "{kind:?}");
    }
}

#[test]
fn per_user_quota_and_ratio_columns() {
    for kind in [Kind::MySql, Kind::PgSql] {
        let Some(directory) = Directory::new(kind) else {
            return;
        };
        directory.add("filesonly", "pw");
        directory.set("filesonly", "quota_files = 2");
        directory.add("ratio", "pw");
        directory.set("ratio", "ul_ratio = 1, dl_ratio = 1");
        std::fs::write(directory.site.home.join("big.bin"), vec![b'b'; 5000]).unwrap();
        let conf = directory.config("cleartext", "");
        let ours = directory.server(Path::new(OURS), &conf, &[]);
        // Only a files quota: it applies (Pure-FTPd 1.0.50 refuses every upload then).
        let sub = directory.site.home.join("q");
        std::fs::create_dir(&sub).unwrap();
        if common::is_root() {
            nix::unistd::chown(
                &sub,
                Some(nix::unistd::Uid::from_raw(directory.site.uid)),
                Some(nix::unistd::Gid::from_raw(directory.site.gid)),
            )
            .unwrap();
        }
        let mut ftp = Ftp::login(ours.port, "filesonly", "pw");
        ftp.cmd("TYPE I");
        let mut codes = vec![];
        for n in 0..3 {
            let (first, last) = ftp.upload(&format!("STOR q/f{n}"), b"data");
            codes.push(last.map_or(first.code, |r| r.code));
        }
        // Pure-FTPd counts the files already there (big.bin and the rest of the home).
        assert!(codes.contains(&552), "{kind:?} {codes:?}");
        // A ratio of 1:1: no download before an upload.
        let mut ftp = Ftp::login(ours.port, "ratio", "pw");
        ftp.cmd("TYPE I");
        let (first, _, _) = ftp.download("RETR big.bin");
        assert_eq!(first.code, 550, "{kind:?} {first:?}");
        if kind == Kind::MySql
            && let Some(theirs) = debians_mysql_build()
        {
            let debian = directory.server(&theirs, &conf, &[]);
            let mut theirs_ftp = Ftp::login(debian.port, "ratio", "pw");
            theirs_ftp.cmd("TYPE I");
            let (their_first, _, _) = theirs_ftp.download("RETR big.bin");
            assert_eq!(their_first.code, first.code);
        }
    }
}

#[test]
fn a_database_that_is_down_or_slow_fails_over_and_comes_back() {
    for kind in [Kind::MySql, Kind::PgSql] {
        let Some(directory) = Directory::new(kind) else {
            return;
        };
        directory.add("sqluser", "pw");
        // The configuration points at a socket that is not there yet.
        let sockets = tempfile::tempdir().unwrap();
        let (connection, link, target) = match kind {
            Kind::MySql => {
                let link = sockets.path().join("mysqld.sock");
                (
                    format!("MYSQLSocket {}\n", link.display()),
                    link,
                    MariaDb::shared().unwrap().socket.clone(),
                )
            }
            Kind::PgSql => {
                let port = Postgres::shared().unwrap().port;
                let name = format!(".s.PGSQL.{port}");
                (
                    format!(
                        "PGSQLServer {}\nPGSQLPort {port}\n",
                        sockets.path().display()
                    ),
                    sockets.path().join(&name),
                    Postgres::shared().unwrap().dir.join(&name),
                )
            }
        };
        let conf = directory.config("cleartext", "");
        let text = std::fs::read_to_string(&conf).unwrap();
        let text: String = text
            .lines()
            .filter(|l| !l.contains("Server") && !l.contains("Port"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&conf, format!("{connection}{text}")).unwrap();
        let pdb = format!("puredb:{}", directory.site.pdb.display());
        let ours = directory.server(Path::new(OURS), &conf, &["-l", &pdb]);
        let started = Instant::now();
        assert_eq!(
            login_attempt(ours.port, "sqluser", "pw").last().unwrap(),
            "530 Login authentication failed",
            "{kind:?}"
        );
        // Bounded: the failed connection, then Pure-FTPd's delay after a failed login.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        // The chain's next backend still serves its users.
        assert!(logs_in(ours.port, USER, PASSWORD), "{kind:?}");
        // The database is back: logins work without a restart.
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(logs_in(ours.port, "sqluser", "pw"), "{kind:?}");
        if kind == Kind::MySql
            && let Some(theirs) = debians_mysql_build()
        {
            std::fs::remove_file(&link).unwrap();
            let debian = directory.server(&theirs, &conf, &["-l", &pdb]);
            assert_eq!(
                login_attempt(debian.port, "sqluser", "pw").last().unwrap(),
                "530 Login authentication failed"
            );
            assert!(logs_in(debian.port, USER, PASSWORD));
        }
    }
}

#[test]
fn per_user_bandwidth_columns() {
    for kind in [Kind::MySql, Kind::PgSql] {
        let Some(directory) = Directory::new(kind) else {
            return;
        };
        directory.add("slow", "pw");
        // KB/s, as Pure-FTPd reads them; the server's own -T is higher.
        directory.set("slow", "ul_kb = 200, dl_kb = 400");
        std::fs::write(directory.site.home.join("big.bin"), vec![b'b'; 1024 * 1024]).unwrap();
        let conf = directory.config("cleartext", "");
        let ours = directory.server(Path::new(OURS), &conf, &["-T", "5000"]);
        let (down, up) = account_limits_hold(ours.port, ("slow", "pw"), "big.bin", (400.0, 200.0));
        eprintln!(
            "{kind:?}: account limited to 400/200 KB/s: {down:.0} KB/s down, {up:.0} KB/s up"
        );
        // The login says so, as Debian's does for the same row.
        if kind == Kind::MySql
            && let Some(theirs) = debians_mysql_build()
        {
            let debian = directory.server(&theirs, &conf, &["-T", "5000"]);
            assert_eq!(
                login_attempt(ours.port, "slow", "pw"),
                login_attempt(debian.port, "slow", "pw")
            );
        }
    }
}

/// The MySQL or PostgreSQL server's TCP address, for a relay in front of it.
fn database_address(kind: Kind) -> std::net::SocketAddr {
    let port = match kind {
        Kind::MySql => MariaDb::shared().unwrap().port,
        Kind::PgSql => Postgres::shared().unwrap().port,
    };
    std::net::SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn a_database_killed_between_logins_fails_over_and_comes_back() {
    for kind in [Kind::MySql, Kind::PgSql] {
        let Some(directory) = Directory::new(kind) else {
            return;
        };
        directory.add("sqluser", "pw");
        let (conf, mut relay) = directory.config_behind_a_relay();
        let pdb = format!("puredb:{}", directory.site.pdb.display());
        let ours = directory.server(Path::new(OURS), &conf, &["-l", &pdb]);
        assert!(logs_in(ours.port, "sqluser", "pw"), "{kind:?}");
        let mut established = Ftp::login(ours.port, "sqluser", "pw");
        // The database dies: new logins of its users fail, the chain's next backend
        // and the sessions already in serve on.
        relay.down();
        assert_eq!(
            login_attempt(ours.port, "sqluser", "pw").last().unwrap(),
            "530 Login authentication failed",
            "{kind:?}"
        );
        assert!(logs_in(ours.port, USER, PASSWORD), "{kind:?}");
        assert_eq!(established.cmd("PWD").code, 257, "{kind:?}");
        // It is back: the same server logs its users in again.
        relay.up();
        assert!(logs_in(ours.port, "sqluser", "pw"), "{kind:?}");
        assert_eq!(established.cmd("QUIT").code, 221);
    }
}

#[test]
fn a_slow_query_is_cut() {
    for kind in [Kind::MySql, Kind::PgSql] {
        let Some(directory) = Directory::new(kind) else {
            return;
        };
        directory.add("slow", "pw");
        let sleep = match kind {
            Kind::MySql => "SELECT SLEEP(120)",
            Kind::PgSql => "SELECT pg_sleep(120)::text",
        };
        let p = if kind == Kind::MySql {
            "MYSQL"
        } else {
            "PGSQL"
        };
        let conf = directory.config("cleartext", "");
        // A password query that cannot answer within the timeout.
        let text: String = std::fs::read_to_string(&conf)
            .unwrap()
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{p}GetPW ")) {
                    format!("{p}GetPW {sleep}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&conf, text).unwrap();
        let ours = directory.server(Path::new(OURS), &conf, &[]);
        let started = Instant::now();
        let seen = login_attempt(ours.port, "slow", "pw");
        let took = started.elapsed();
        assert_eq!(
            seen.last().unwrap(),
            "530 Login authentication failed",
            "{kind:?}"
        );
        assert!(took < Duration::from_secs(40), "{kind:?} {took:?}");
        // The server serves on.
        let (mut ftp, greeting) = Ftp::connect(ours.port);
        assert_eq!(greeting.code, 220);
        assert_eq!(ftp.cmd("NOOP").code, 200);
    }
}

#[test]
fn configuration_errors_stop_the_start_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "MYSQLServer 127.0.0.1\nMYSQLCrypt any\nMYSQLPasword x\n",
            "line 3",
        ),
        (
            "MYSQLServer 127.0.0.1\nMYSQLCrypt any\nMYSQLPort 70000\n",
            "MYSQLPort 70000",
        ),
        ("MYSQLServer 127.0.0.1\nMYSQLUser\n", "line 2"),
        ("MYSQLCrypt any\n", "no MYSQLServer"),
    ];
    for (text, expected) in cases {
        let conf = dir.path().join("bad.conf");
        std::fs::write(&conf, text).unwrap();
        let login = format!("mysql:{}", conf.display());
        let out = pureftpd_tests::run(
            Path::new(OURS),
            ["-l", &login, "-S", "127.0.0.1,1"],
            &[],
            "",
        );
        assert_ne!(out.code, 0, "{text}");
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(said.contains(expected), "{text}: {said}");
        assert!(said.contains("bad.conf"), "{said}");
    }
    let missing = "mysql:/nonexistent/mysql.conf";
    let out = pureftpd_tests::run(
        Path::new(OURS),
        ["-l", missing, "-S", "127.0.0.1,1"],
        &[],
        "",
    );
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("/nonexistent/mysql.conf"), "{out:?}");
}

#[test]
fn several_servers_share_one_directory() {
    for kind in [Kind::MySql, Kind::PgSql] {
        let Some(directory) = Directory::new(kind) else {
            return;
        };
        let conf = directory.config("cleartext", "");
        let boards = tempfile::tempdir().unwrap();
        let nodes = [
            directory.node(
                Path::new(OURS),
                &conf,
                &["-y", "1:10"],
                &boards.path().join("a"),
            ),
            directory.node(
                Path::new(OURS),
                &conf,
                &["-y", "1:10"],
                &boards.path().join("b"),
            ),
        ];
        assert!(!logs_in(nodes[0].port, "newcomer", "pw"));
        // Inserted with SQL: every node lets it in at once.
        directory.add("newcomer", "pw");
        for node in &nodes {
            assert!(logs_in(node.port, "newcomer", "pw"), "{kind:?}");
        }
        // -y 1 holds per node: a second session on the same node is refused, one on
        // the other node is not.
        let _first = Ftp::login(nodes[0].port, "newcomer", "pw");
        assert!(!logs_in(nodes[0].port, "newcomer", "pw"), "{kind:?}");
        assert!(logs_in(nodes[1].port, "newcomer", "pw"), "{kind:?}");
        // Disabled with SQL: refused everywhere at once.
        directory.set("newcomer", "status = 0");
        for node in &nodes {
            assert!(!logs_in(node.port, "newcomer", "pw"), "{kind:?}");
        }
    }
}

#[test]
fn mysql_over_tls() {
    let Some(directory) = Directory::new(Kind::MySql) else {
        return;
    };
    directory.add("alice", "pw");
    // The role may only connect under TLS.
    directory.sql(&format!(
        "ALTER USER 'r{0}'@'127.0.0.1' REQUIRE SSL; ALTER USER 'r{0}'@'localhost' REQUIRE SSL",
        directory.name
    ));
    let ca = MariaDb::shared().unwrap().ca.display().to_string();
    let verified = directory.config("cleartext", &format!("MYSQLTLS On\nMYSQLTLSCA {ca}\n"));
    let ours = directory.server(Path::new(OURS), &verified, &[]);
    assert!(logs_in(ours.port, "alice", "pw"));
    // In the clear the role cannot connect; with TLS but a CA that did not sign the
    // server's certificate (the Mozilla roots), the connection is refused too.
    let clear = directory.config("cleartext", "");
    let unverified = directory.config("cleartext", "MYSQLTLS On\n");
    for conf in [clear, unverified] {
        let server = directory.server(Path::new(OURS), &conf, &[]);
        assert!(!logs_in(server.port, "alice", "pw"), "{}", conf.display());
    }
}

#[test]
fn pgsql_over_tls() {
    let Some(directory) = Directory::new(Kind::PgSql) else {
        return;
    };
    directory.add("alice", "pw");
    // The role may only connect under TLS (pg_hba.conf rejects it otherwise).
    directory.sql(&format!("GRANT tlsonly TO r{}", directory.name));
    let ca = Postgres::shared().unwrap().ca.display().to_string();
    let verified = directory.config("cleartext", &format!("PGSQLTLS On\nPGSQLTLSCA {ca}\n"));
    let ours = directory.server(Path::new(OURS), &verified, &[]);
    assert!(logs_in(ours.port, "alice", "pw"));
    let clear = directory.config("cleartext", "");
    let unverified = directory.config("cleartext", "PGSQLTLS On\n");
    for conf in [clear, unverified] {
        let server = directory.server(Path::new(OURS), &conf, &[]);
        assert!(!logs_in(server.port, "alice", "pw"), "{}", conf.display());
    }
}

#[test]
fn the_database_password_never_reaches_the_log() {
    let Some(directory) = Directory::new(Kind::MySql) else {
        return;
    };
    let Some(syslog) = common::syslog::Syslog::listen() else {
        return;
    };
    directory.add("alice", "pw");
    // A wrong database password: the server says the database is down, and how,
    // but never with the password it tried.
    let conf = directory.config("cleartext", "");
    let text = std::fs::read_to_string(&conf)
        .unwrap()
        .replace(DB_PASSWORD, "Wrong-DB-secret 77");
    std::fs::write(&conf, text).unwrap();
    let ours = directory.server(Path::new(OURS), &conf, &["-d", "-d"]);
    syslog.clear();
    assert!(!logs_in(ours.port, "alice", "pw"));
    let lines = syslog.until(|l| l.iter().any(|l| l.contains("seems to be down")));
    assert!(
        lines.iter().any(|l| l.contains("seems to be down")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("Wrong-DB-secret") && !l.contains("pw")),
        "{lines:#?}"
    );
}

/// pure-sftpd's key logins take the account from the database without its password:
/// the row must be there (GetPW with its status condition decides, as for a password),
/// with its ids and home.
fn sftp_key_logins_read_the_account_from(kind: Kind) {
    use common::sftp::{
        key_dir, key_pair, public, random_bytes, sftp_with_key, start_with_login, text,
    };
    use std::os::unix::fs::MetadataExt;
    let Some(directory) = Directory::new(kind) else {
        return;
    };
    if !common::require_root("switching to the account's ids") || !common::have("sftp") {
        return;
    }
    directory.add("keyuser", "secret");
    directory.add("off", "secret");
    directory.set("off", "status = 0");
    let conf = directory.config("cleartext", "");
    let local = tempfile::tempdir().unwrap();
    let key = key_pair(local.path(), "ed25519", "id");
    let listed = public(&key);
    let keys = key_dir(&[("keyuser", &listed), ("off", &listed), ("ghost", &listed)]);
    let method = match kind {
        Kind::MySql => "mysql",
        Kind::PgSql => "pgsql",
    };
    let site = &directory.site;
    let server = start_with_login(
        site,
        &format!("{method}:{}", conf.display()),
        &["--userkeydir", &keys.path().display().to_string()],
    );
    let up = random_bytes(70_001);
    std::fs::write(local.path().join("up.bin"), &up).unwrap();
    let out = sftp_with_key(server.port, local.path(), "keyuser", &key, &[]);
    assert!(
        out.status.success(),
        "{kind:?}: {}\n{}",
        text(&out),
        server.stderr()
    );
    assert_eq!(site.read("up.bin"), up);
    let meta = std::fs::metadata(site.home.join("up.bin")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (site.uid, site.gid));
    for refused in ["off", "ghost"] {
        let out = sftp_with_key(server.port, local.path(), refused, &key, &[]);
        assert!(!out.status.success(), "{kind:?} {refused}: {}", text(&out));
    }
}

#[test]
fn mysql_accounts_log_in_to_pure_sftpd_with_a_listed_key() {
    sftp_key_logins_read_the_account_from(Kind::MySql);
}

#[test]
fn pgsql_accounts_log_in_to_pure_sftpd_with_a_listed_key() {
    sftp_key_logins_read_the_account_from(Kind::PgSql);
}

/// A paramiko SFTP session that logs in, says `ready`, and lists its home each time a
/// line comes on its stdin.
const HELD_SFTP_SESSION: &str = crate::paramiko_sftp!(
    r#"
print("ready", flush=True)
for line in sys.stdin:
    print(len(sftp.listdir(".")), flush=True)
"#
);

/// The database goes away under pure-sftpd: its users' logins are refused (the session
/// ends, nothing hangs), the chain's next backend and the SFTP sessions already in go
/// on, and its users log in again when it is back.
#[test]
fn a_database_killed_between_sftp_logins_fails_over_and_comes_back() {
    use common::sftp::{sftp, start_with_login, text};
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    if !common::require_root("switching to the account's ids")
        || !common::have("sftp")
        || !common::have("python3")
    {
        return;
    }
    for kind in [Kind::MySql, Kind::PgSql] {
        let Some(directory) = Directory::new(kind) else {
            return;
        };
        directory.add("sqluser", "pw");
        let (conf, mut relay) = directory.config_behind_a_relay();
        let method = match kind {
            Kind::MySql => "mysql",
            Kind::PgSql => "pgsql",
        };
        let site = &directory.site;
        let pdb = format!("puredb:{}", site.pdb.display());
        let server = start_with_login(site, &format!("{method}:{}", conf.display()), &["-l", &pdb]);
        let local = tempfile::tempdir().unwrap();
        let works = |user: &str, password: &str| {
            let out = sftp(server.port, local.path(), user, password, "pwd\nbye\n");
            (out.status.success(), text(&out))
        };
        let (ok, said) = works("sqluser", "pw");
        assert!(ok, "{kind:?}: {said}\n{}", server.stderr());
        let mut held = Command::new("timeout")
            .args(["120", "python3", "-c", HELD_SFTP_SESSION])
            .args([&server.port.to_string(), "sqluser", "pw"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut answers = BufReader::new(held.stdout.take().unwrap());
        let mut line = String::new();
        answers.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n", "{kind:?}");

        relay.down();
        let (ok, said) = works("sqluser", "pw");
        assert!(
            !ok && said.contains("Permission denied"),
            "{kind:?}: {said}"
        );
        let (ok, said) = works(USER, PASSWORD);
        assert!(ok, "{kind:?}: the chain's next backend: {said}");
        let mut ask = held.stdin.take().unwrap();
        ask.write_all(b"list\n").unwrap();
        line.clear();
        answers.read_line(&mut line).unwrap();
        assert!(line.trim().parse::<usize>().is_ok(), "{kind:?}: {line:?}");

        relay.up();
        let (ok, said) = works("sqluser", "pw");
        assert!(ok, "{kind:?}: back: {said}");
        drop(ask);
        assert!(held.wait().unwrap().success(), "{kind:?}");
    }
}
