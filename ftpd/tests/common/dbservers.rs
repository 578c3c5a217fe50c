//! Real MariaDB and PostgreSQL servers for the account-directory tests, each started once
//! per test binary in a temporary directory, on a Unix socket there and a free loopback
//! port, and seeded through the servers' own command-line clients.
//!
//! Each server runs under a small `sh` watchdog that holds the server's PID and reads
//! its standard input: when the test binary ends (however it ends), that pipe closes and
//! the watchdog stops the server and removes its directory. Tests share one server and
//! keep apart by database name.
//!
//! A port free when chosen can be taken before the server binds it: the FTP servers
//! under test listen for passive data on random ports of 1024-65535 (Pure-FTPd's default
//! range) while other tests run. A server whose log says its port was taken is started
//! again on another ([`on_free_ports`]); once it listens, nothing can take the port.

#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The user that owns the database servers' files when the tests run as root
/// (PostgreSQL refuses to run as root; MariaDB is told `--user`).
const SERVICE_USER: &str = "nobody";

/// A server under its watchdog; dropping it stops the server and removes its directory
/// (the shared servers, never dropped, stop when the test binary ends).
struct Watched {
    watchdog: Child,
    stdin: Option<ChildStdin>,
}

impl Watched {
    /// Stops the server and its watchdog but leaves its directory, for another attempt.
    fn stop_keeping_dir(mut self) {
        self.stop(true);
    }

    fn stop(&mut self, keep_dir: bool) {
        if let Some(mut stdin) = self.stdin.take() {
            if keep_dir {
                let _ = stdin.write_all(b"keep\n");
            }
            drop(stdin);
            let _ = self.watchdog.wait();
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop(false);
    }
}

/// Starts `command` under a watchdog that kills it when our end of its stdin closes, and
/// then removes `dir` unless it read `keep`.
fn watched(command: &str, dir: &Path, log: &Path) -> Watched {
    let script = format!(
        "{command} >'{log}' 2>&1 &\npid=$!\nread line\nkill $pid 2>/dev/null\nwait $pid\n\
         [ \"$line\" = keep ] || rm -rf '{dir}'\n",
        log = log.display(),
        dir = dir.display()
    );
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh");
    let stdin = watchdog.stdin.take().expect("stdin");
    Watched {
        watchdog,
        stdin: Some(stdin),
    }
}

/// What the server's log says when a port it was given was taken (errno 98, in the
/// words of MariaDB, PostgreSQL and slapd alike; slapd says it with `-d none`).
const PORT_TAKEN: &str = "Address already in use";

/// A server started by `attempt` on `count` ports: free ones, `first_choice` first (for
/// the test of this), and again on others while its `log` says a port was taken, until
/// `ready`; `give_up` stops an attempt (keeping the directory).
fn on_free_ports<T>(
    what: &str,
    log: &Path,
    first_choice: Option<u16>,
    count: usize,
    attempt: impl Fn(&[u16]) -> T,
    ready: impl Fn(&T) -> bool,
    give_up: impl Fn(T),
) -> T {
    let mut first_choice = first_choice;
    for _ in 0..5 {
        let ports: Vec<u16> = (0..count)
            .map(|_| {
                first_choice
                    .take()
                    .unwrap_or_else(pureftpd_tests::free_port)
            })
            .collect();
        let _ = std::fs::remove_file(log);
        let server = attempt(&ports);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if ready(&server) {
                return server;
            }
            let said = std::fs::read_to_string(log).unwrap_or_default();
            if said.contains(PORT_TAKEN) {
                eprintln!("{what}: a port of {ports:?} was taken before it bound it; another");
                give_up(server);
                break;
            }
            assert!(Instant::now() < deadline, "{what} did not start: {said}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("{what} found its port taken five times: {}", log.display());
}

/// A temporary directory the service user can use (left to the watchdog to remove).
fn service_dir(prefix: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("tempdir")
        .keep();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    if pureftpd_tests::is_root() {
        let user = nix::unistd::User::from_name(SERVICE_USER).unwrap().unwrap();
        nix::unistd::chown(&dir, Some(user.uid), Some(user.gid)).unwrap();
    }
    dir
}

/// `program args...` as the service user when root; its output, or a panic.
fn run_as_service(program: &str, args: &[&str], stdin: &str) -> String {
    let mut full: Vec<&str> = Vec::new();
    let runner = if pureftpd_tests::is_root() {
        full.extend([
            "--reuid",
            SERVICE_USER,
            "--regid",
            "nogroup",
            "--clear-groups",
            "--",
            program,
        ]);
        "setpriv"
    } else {
        program
    };
    full.extend_from_slice(args);
    succeeded(pureftpd_tests::run(Path::new(runner), &full, &[], stdin))
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"))
}

/// A finished client's standard output, or its error output when it failed.
fn succeeded(outcome: pureftpd_tests::Outcome) -> Result<String, String> {
    if outcome.code == 0 {
        Ok(outcome.stdout)
    } else {
        Err(format!("{}{}", outcome.stdout, outcome.stderr))
    }
}

fn as_service_prefix() -> String {
    if pureftpd_tests::is_root() {
        format!("setpriv --reuid {SERVICE_USER} --regid nogroup --clear-groups --")
    } else {
        String::new()
    }
}

/// Whether the server programs are installed; says why not otherwise (and fails when
/// the oracle is required, as CI requires it).
pub fn installed(what: &str, program: &Path) -> bool {
    if program.exists() {
        return true;
    }
    let required = std::env::var_os("PUREFTPD_REQUIRE_ORACLE").is_some_and(|v| v == "1");
    assert!(
        !required,
        "{what} is required: scripts/install-test-deps.sh installs it"
    );
    eprintln!("SKIP: {what} is not installed (scripts/install-test-deps.sh)");
    false
}

/// A test CA (`ca.pem`, returned) and a server certificate for 127.0.0.1 and localhost
/// (`server.pem`, `server.key`) in `dir`, readable by the service user.
fn tls_certificates(dir: &Path) -> PathBuf {
    let sh = |script: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca \
        -keyout ca.key -out ca.pem 2>/dev/null",
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    sh(
        "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key \
        -out server.csr 2>/dev/null && openssl x509 -req -in server.csr -CA ca.pem \
        -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null \
        && chmod 644 server.key ca.pem server.pem",
    );
    dir.join("ca.pem")
}

/// A MariaDB server: root over the socket, no password; TLS with a certificate for
/// 127.0.0.1 signed by the test CA `ca`.
pub struct MariaDb {
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub port: u16,
    pub ca: PathBuf,
    _watched: Mutex<Watched>,
}

impl MariaDb {
    /// The binary's shared server, started on first use.
    pub fn shared() -> Option<&'static MariaDb> {
        static SERVER: std::sync::OnceLock<Option<MariaDb>> = std::sync::OnceLock::new();
        SERVER.get_or_init(|| Self::start(None)).as_ref()
    }

    /// A server of its own (not the shared one), tried on `first_choice` first; `None`
    /// when MariaDB is not installed.
    pub fn start(first_choice: Option<u16>) -> Option<Self> {
        let daemon = Path::new("/usr/sbin/mariadbd");
        if !installed("MariaDB (mariadb-server)", daemon) {
            return None;
        }
        let dir = service_dir("mariadb-");
        let data = dir.join("data");
        let user = if pureftpd_tests::is_root() {
            SERVICE_USER.to_string()
        } else {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .unwrap()
                .unwrap()
                .name
        };
        let out = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={user}"))
            .output()
            .expect("mariadb-install-db");
        assert!(
            out.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let socket = dir.join("mysqld.sock");
        let log = dir.join("server.log");
        let ca = tls_certificates(&dir);
        let attempt = |ports: &[u16]| {
            let command = format!(
                "exec {daemon} --no-defaults --datadir='{data}' --socket='{socket}' --port={port} \
                 --bind-address=127.0.0.1 --user={user} --pid-file='{dir}/pid' --skip-log-bin \
                 --innodb-buffer-pool-size=16M --max-connections=500 \
                 --max-connect-errors=1000000 --skip-name-resolve \
                 --ssl-ca='{dir}/ca.pem' --ssl-cert='{dir}/server.pem' --ssl-key='{dir}/server.key'",
                daemon = daemon.display(),
                data = data.display(),
                socket = socket.display(),
                dir = dir.display(),
                port = ports[0],
            );
            Self {
                _watched: Mutex::new(watched(&command, &dir, &log)),
                dir: dir.clone(),
                socket: socket.clone(),
                port: ports[0],
                ca: ca.clone(),
            }
        };
        Some(on_free_ports(
            "MariaDB",
            &log,
            first_choice,
            1,
            attempt,
            |server| server.socket.exists() && server.try_sql("", "SELECT 1").is_ok(),
            Self::give_up,
        ))
    }

    fn give_up(self) {
        self._watched.into_inner().unwrap().stop_keeping_dir();
    }

    fn try_sql(&self, database: &str, statements: &str) -> Result<String, String> {
        let socket = format!("--socket={}", self.socket.display());
        let mut args = vec!["--no-defaults", "-uroot", "-N", "-B", &socket];
        if !database.is_empty() {
            args.push(database);
        }
        succeeded(pureftpd_tests::run(
            Path::new("mariadb"),
            &args,
            &[],
            statements,
        ))
    }

    /// Runs `statements` as root in `database` ("" for none); panics on an error.
    pub fn sql(&self, database: &str, statements: &str) -> String {
        self.try_sql(database, statements)
            .unwrap_or_else(|e| panic!("{statements}: {e}"))
    }
}

/// A PostgreSQL server: the superuser `postgres` trusted over the socket, passwords
/// (SCRAM) over TCP, TLS with a certificate for 127.0.0.1 signed by the test CA `ca`;
/// members of the role `tlsonly` may only connect under TLS.
pub struct Postgres {
    pub dir: PathBuf,
    pub port: u16,
    pub ca: PathBuf,
    _watched: Mutex<Watched>,
}

impl Postgres {
    pub fn shared() -> Option<&'static Postgres> {
        static SERVER: std::sync::OnceLock<Option<Postgres>> = std::sync::OnceLock::new();
        SERVER.get_or_init(|| Self::start(None)).as_ref()
    }

    fn bin(program: &str) -> Option<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin").join(program))
            .filter(|p| p.exists())
            .collect();
        found.sort();
        found.pop()
    }

    /// A server of its own (not the shared one), tried on `first_choice` first; `None`
    /// when PostgreSQL is not installed.
    pub fn start(first_choice: Option<u16>) -> Option<Self> {
        let initdb = Self::bin("initdb").unwrap_or_else(|| PathBuf::from("/nonexistent/initdb"));
        if !installed("PostgreSQL (postgresql)", &initdb) {
            return None;
        }
        let daemon = Self::bin("postgres").unwrap();
        let dir = service_dir("postgres-");
        let data = dir.join("data");
        let data_s = data.to_str().unwrap().to_string();
        run_as_service(
            initdb.to_str().unwrap(),
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            "",
        );
        let log = dir.join("server.log");
        let ca = tls_certificates(&dir);
        // PostgreSQL wants its key private to the user it runs as.
        let key = dir.join("server.key");
        if pureftpd_tests::is_root() {
            let user = nix::unistd::User::from_name(SERVICE_USER).unwrap().unwrap();
            nix::unistd::chown(&key, Some(user.uid), Some(user.gid)).unwrap();
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let hba = data.join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(
            &hba,
            format!("hostnossl all +tlsonly 0.0.0.0/0 reject\n{rules}"),
        )
        .unwrap();
        let attempt = |ports: &[u16]| {
            let command = format!(
                "exec {prefix} {daemon} -D '{data}' -p {port} -k '{dir}' \
                 -c listen_addresses=127.0.0.1 \
                 -c fsync=off -c max_connections=300 -c shared_buffers=16MB -c ssl=on \
                 -c ssl_cert_file='{dir}/server.pem' -c ssl_key_file='{dir}/server.key'",
                prefix = as_service_prefix(),
                daemon = daemon.display(),
                data = data.display(),
                dir = dir.display(),
                port = ports[0],
            );
            Self {
                _watched: Mutex::new(watched(&command, &dir, &log)),
                dir: dir.clone(),
                port: ports[0],
                ca: ca.clone(),
            }
        };
        let server = on_free_ports(
            "PostgreSQL",
            &log,
            first_choice,
            1,
            attempt,
            |server| server.try_sql("postgres", "SELECT 1").is_ok(),
            Self::give_up,
        );
        server.sql("postgres", "CREATE ROLE tlsonly NOLOGIN");
        Some(server)
    }

    fn try_sql(&self, database: &str, statements: &str) -> Result<String, String> {
        let psql = Self::bin("psql").unwrap_or_else(|| PathBuf::from("psql"));
        let out = Command::new(psql)
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
            ])
            .arg("-h")
            .arg(&self.dir)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(database)
            .arg("-c")
            .arg(statements)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs `statements` as the superuser in `database`; panics on an error.
    pub fn sql(&self, database: &str, statements: &str) -> String {
        self.try_sql(database, statements)
            .unwrap_or_else(|e| panic!("{statements}: {e}"))
    }

    fn give_up(self) {
        self._watched.into_inner().unwrap().stop_keeping_dir();
    }
}

/// An OpenLDAP slapd with Pure-FTPd's schema: the suffix `dc=example,dc=com`, its
/// manager `cn=admin,dc=example,dc=com` (password [`Slapd::ADMIN_PASSWORD`]); anyone
/// may read entries, `userPassword` only the manager (others may bind with it).
pub struct Slapd {
    pub dir: PathBuf,
    pub port: u16,
    /// `ldaps://` (StartTLS also works on `port`), with a certificate signed by `ca`.
    pub tls_port: u16,
    pub ca: PathBuf,
    _watched: Mutex<Watched>,
}

impl Slapd {
    pub const SUFFIX: &'static str = "dc=example,dc=com";
    pub const ADMIN: &'static str = "cn=admin,dc=example,dc=com";
    pub const ADMIN_PASSWORD: &'static str = "admin pw";

    pub fn shared() -> Option<&'static Slapd> {
        static SERVER: std::sync::OnceLock<Option<Slapd>> = std::sync::OnceLock::new();
        SERVER.get_or_init(|| Self::start(None)).as_ref()
    }

    /// A server of its own (not the shared one), its first port tried on `first_choice`
    /// first; `None` when slapd or the schema is not installed.
    pub fn start(first_choice: Option<u16>) -> Option<Self> {
        let daemon = Path::new("/usr/sbin/slapd");
        if !installed("OpenLDAP's slapd (slapd)", daemon) {
            return None;
        }
        let schema = Path::new("/usr/share/doc/pure-ftpd/pureftpd.schema");
        if !installed(
            "Pure-FTPd's LDAP schema (pure-ftpd's documentation)",
            schema,
        ) {
            return None;
        }
        let dir = service_dir("slapd-");
        let db = dir.join("db");
        std::fs::create_dir(&db).unwrap();
        let conf = dir.join("slapd.conf");
        let ca = tls_certificates(&dir);
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/nis.schema\ninclude {schema}\npidfile {dir}/slapd.pid\n\
                 TLSCACertificateFile {dir}/ca.pem\nTLSCertificateFile {dir}/server.pem\n\
                 TLSCertificateKeyFile {dir}/server.key\n\
                 modulepath /usr/lib/ldap\nmoduleload back_mdb\ndatabase mdb\nmaxsize 104857600\n\
                 suffix \"{suffix}\"\nrootdn \"{admin}\"\nrootpw \"{password}\"\ndirectory {db}\n\
                 access to attrs=userPassword by anonymous auth by * none\n\
                 access to * by * read\n",
                schema = schema.display(),
                dir = dir.display(),
                suffix = Self::SUFFIX,
                admin = Self::ADMIN,
                password = Self::ADMIN_PASSWORD,
                db = db.display(),
            ),
        )
        .unwrap();
        let log = dir.join("server.log");
        let attempt = |ports: &[u16]| {
            let command = format!(
                "exec {daemon} -f '{conf}' -h 'ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/ \
                 {ldapi}' -d none",
                daemon = daemon.display(),
                conf = conf.display(),
                port = ports[0],
                tls_port = ports[1],
                ldapi = Self::ldapi(&dir),
            );
            Self {
                _watched: Mutex::new(watched(&command, &dir, &log)),
                dir: dir.clone(),
                port: ports[0],
                tls_port: ports[1],
                ca: ca.clone(),
            }
        };
        let suffix = format!(
            "dn: {}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n",
            Self::SUFFIX
        );
        Some(on_free_ports(
            "slapd",
            &log,
            first_choice,
            2,
            attempt,
            |server| server.try_add(&suffix).is_ok(),
            |server| server._watched.into_inner().unwrap().stop_keeping_dir(),
        ))
    }

    /// `tool` (ldapadd, ldapmodify) as the manager with `ldif` as its input.
    /// The URL of its Unix socket in `dir`, where the tests manage it: its TCP port, while
    /// it starts, may be another program's (see the module's header), and a client of
    /// that other program would wait for an answer forever.
    fn ldapi(dir: &Path) -> String {
        let path = dir.join("ldapi").display().to_string();
        format!("ldapi://{}", path.replace('/', "%2F"))
    }

    fn as_manager(&self, tool: &str, ldif: &str) -> Result<String, String> {
        let url = Self::ldapi(&self.dir);
        let args = [
            "-x",
            "-H",
            &url,
            "-D",
            Self::ADMIN,
            "-w",
            Self::ADMIN_PASSWORD,
        ];
        succeeded(pureftpd_tests::run(Path::new(tool), args, &[], ldif))
    }

    fn try_add(&self, ldif: &str) -> Result<String, String> {
        self.as_manager("ldapadd", ldif)
    }

    /// Adds the entries of `ldif`; panics on an error.
    pub fn add(&self, ldif: &str) {
        self.try_add(ldif).unwrap_or_else(|e| panic!("{ldif}: {e}"));
    }

    /// Applies the changes of `ldif` (ldapmodify); panics on an error.
    pub fn modify(&self, ldif: &str) {
        self.as_manager("ldapmodify", ldif)
            .unwrap_or_else(|e| panic!("{ldif}: {e}"));
    }
}
