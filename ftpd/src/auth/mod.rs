//! The `-l` chain. Each backend answers for a login and password:
//! [`Verdict::NotFound`] (try the next backend), [`Verdict::Rejected`] (stop: login
//! refused) or [`Verdict::Accepted`] (stop: logged in), in command-line order.
//!
//! pure-sftpd's key logins ask the same chain with [`Proof::Key`]: the admin has listed
//! the key for the login and its signature is checked, so a backend only looks the
//! account up and applies its other rules (addresses, hours, expiry, shell, ids). PAM
//! and extauth cannot answer without a password and pass to the next backend.

/// `user` with the limits a backend's account carries (the `.pdb` record and the extauth
/// reply name them alike).
macro_rules! with_limits {
    ($user:expr, $account:expr) => {{
        let mut user = $user;
        let account = $account;
        user.upload_bandwidth = account.upload_bandwidth;
        user.download_bandwidth = account.download_bandwidth;
        user.upload_ratio = account.upload_ratio;
        user.download_ratio = account.download_ratio;
        user.max_sessions = account.max_sessions;
        user.quota_files = account.quota_files;
        user.quota_size = account.quota_size;
        user
    }};
}

mod conf_file;
mod extauth;
pub mod ldap;
mod mysql;
mod pam;
mod pgsql;
mod puredb;
pub mod sql;
mod tls_client;
mod unix;

use crate::metrics::{self, LoginResult};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pureftpd_account::{Home, Password};

use crate::config::AuthMethod;

/// Who logged in, and what applies to the session.
#[derive(Debug, Clone)]
pub struct LoggedUser {
    /// The login as typed.
    pub login: Vec<u8>,
    /// User id the session runs as.
    pub uid: u32,
    /// Group id the session runs as.
    pub gid: u32,
    /// Home and chroot point.
    pub home: Home,
    /// Anonymous FTP.
    pub anonymous: bool,
    /// A system account (supplementary groups come from the group database, owner
    /// names may be shown).
    pub system_account: bool,
    /// Upload limit, bytes per second.
    pub upload_bandwidth: Option<u64>,
    /// Download limit, bytes per second.
    pub download_bandwidth: Option<u64>,
    /// Ratio, upload side.
    pub upload_ratio: Option<u32>,
    /// Ratio, download side.
    pub download_ratio: Option<u32>,
    /// Most concurrent sessions of this login.
    pub max_sessions: Option<u32>,
    /// Files quota.
    pub quota_files: Option<u64>,
    /// Size quota, bytes.
    pub quota_size: Option<u64>,
}

impl LoggedUser {
    fn new(login: &[u8], uid: u32, gid: u32, home: Home) -> Self {
        Self {
            login: login.to_vec(),
            uid,
            gid,
            home,
            anonymous: false,
            system_account: false,
            upload_bandwidth: None,
            download_bandwidth: None,
            upload_ratio: None,
            download_ratio: None,
            max_sessions: None,
            quota_files: None,
            quota_size: None,
        }
    }
}

/// A per-user field of the SQL and LDAP directories.
#[derive(Debug, Clone, Copy)]
enum DirectoryField {
    QuotaFiles,
    QuotaMegabytes,
    UploadRatio,
    DownloadRatio,
    UploadKilobytesPerSecond,
    DownloadKilobytesPerSecond,
}

impl LoggedUser {
    /// Sets the limits a SQL row or an LDAP entry gives, reading each field's text as
    /// Pure-FTPd does (`strtoul`, 0 for none, the quota in MB, bandwidths in KB/s);
    /// `field` is asked in Pure-FTPd's order.
    fn set_directory_limits(&mut self, mut field: impl FnMut(DirectoryField) -> Option<String>) {
        let mut positive = |which| {
            field(which)
                .map(|v| pureftpd_proto::c_scan::strtoul(v.as_bytes(), 10))
                .filter(|&n| n > 0)
        };
        #[allow(clippy::cast_possible_truncation)] // unsigned int, as Pure-FTPd's cast
        let ratio = |n: u64| Some(n as u32).filter(|&r| r > 0);
        self.quota_files = positive(DirectoryField::QuotaFiles);
        self.quota_size =
            positive(DirectoryField::QuotaMegabytes).map(|mb| mb.saturating_mul(1024 * 1024));
        self.upload_ratio = positive(DirectoryField::UploadRatio).and_then(ratio);
        self.download_ratio = positive(DirectoryField::DownloadRatio).and_then(ratio);
        self.upload_bandwidth =
            positive(DirectoryField::UploadKilobytesPerSecond).map(|kb| kb.saturating_mul(1024));
        self.download_bandwidth =
            positive(DirectoryField::DownloadKilobytesPerSecond).map(|kb| kb.saturating_mul(1024));
    }
}

/// A backend's answer.
#[derive(Debug)]
pub enum Verdict {
    /// This backend does not know the login.
    NotFound,
    /// Known, and refused; the reason is for the log, never for the client.
    Rejected(String),
    /// Logged in.
    Accepted(Box<LoggedUser>),
    /// The backend cannot answer at all (its database is unreadable or damaged): the
    /// session ends with `421` and this text, as Pure-FTPd's, rather than a `530`
    /// that would make the user think the password is wrong.
    Unavailable(String),
}

/// How a user proves who they are.
#[derive(Debug, Clone)]
pub enum Proof {
    /// A password, which the backend checks.
    Password(Password),
    /// An SSH public key the admin listed for the login, whose signature of the session
    /// the SSH transport has checked.
    Key,
}

/// Where the client connects from and to, and how: for IP rules and extauth.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The client's address.
    pub peer: IpAddr,
    /// The server address it connected to.
    pub local: IpAddr,
    /// The server port it connected to.
    pub local_port: u16,
    /// The TLS server name the client asked for.
    pub sni_name: Option<String>,
    /// Whether the control connection is under TLS.
    pub encrypted: bool,
}

/// Runs the chain. `notes` collects what the log should say about backends that could
/// not answer (an unreachable extauth socket, which passes to the next backend).
pub fn authenticate(
    chain: &[AuthMethod],
    login: &[u8],
    password: &Password,
    at: &Endpoints,
    notes: &mut Vec<String>,
) -> Verdict {
    authenticate_with(chain, login, &Proof::Password(password.clone()), at, notes)
}

/// Runs the chain for a login proven by `proof`.
pub fn authenticate_with(
    chain: &[AuthMethod],
    login: &[u8],
    proof: &Proof,
    at: &Endpoints,
    notes: &mut Vec<String>,
) -> Verdict {
    for method in chain {
        let verdict = match (method, proof) {
            (AuthMethod::PureDb(path), _) => puredb::check(path, login, proof, at),
            (AuthMethod::Unix, _) => unix::check(login, proof),
            (AuthMethod::Pam, Proof::Password(password)) => pam::check(login, password, notes),
            (AuthMethod::ExtAuth(socket), Proof::Password(password)) => {
                extauth::check(socket, login, password, at, notes)
            }
            (AuthMethod::Pam | AuthMethod::ExtAuth(_), Proof::Key) => Verdict::NotFound,
            (AuthMethod::MySql(config), _) => {
                let config = Arc::clone(config);
                within_deadline(
                    "The MySQL server",
                    login,
                    proof,
                    at,
                    notes,
                    move |l, p, a, n| sql::check(&config, mysql::connect, l, p, a, n),
                )
            }
            (AuthMethod::Ldap(config), _) => {
                let config = Arc::clone(config);
                within_deadline(
                    "The LDAP directory",
                    login,
                    proof,
                    at,
                    notes,
                    move |l, p, a, n| ldap::check(&config, l, p, a, n),
                )
            }
            (AuthMethod::PgSql(config), _) => {
                let config = Arc::clone(config);
                within_deadline(
                    "The PostgreSQL server",
                    login,
                    proof,
                    at,
                    notes,
                    move |l, p, a, n| sql::check(&config, pgsql::connect, l, p, a, n),
                )
            }
        };
        let result = match verdict {
            Verdict::NotFound => continue,
            Verdict::Accepted(_) => LoginResult::Accepted,
            Verdict::Rejected(_) => LoginResult::Refused,
            Verdict::Unavailable(_) => LoginResult::Unavailable,
        };
        metrics::login(metrics::Backend::of(method), result);
        return verdict;
    }
    // Nobody knows the login: spend the time a real check would, so that a stranger
    // cannot tell existing logins from missing ones by the delay.
    if let Proof::Password(password) = proof {
        let _ = pureftpd_account::password::verify(password, dummy_hash());
    }
    metrics::login(metrics::Backend::None, LoginResult::Refused);
    Verdict::NotFound
}

/// How long a backend over the network may take for one login, connecting included.
const NETWORK_DEADLINE: Duration = Duration::from_secs(30);

/// Runs `check` on a thread of its own and waits at most [`NETWORK_DEADLINE`]. The
/// clients' own timeouts (connecting, each query) end a lookup well before; past the
/// deadline the database hangs in a way they cannot see, and the session ends with
/// `421` rather than go on with a thread it cannot stop (the session forks later, which
/// must happen with one thread).
fn within_deadline(
    what: &str,
    login: &[u8],
    proof: &Proof,
    at: &Endpoints,
    notes: &mut Vec<String>,
    check: impl FnOnce(&[u8], &Proof, &Endpoints, &mut Vec<String>) -> Verdict + Send + 'static,
) -> Verdict {
    let (login, password, at) = (login.to_vec(), proof.clone(), at.clone());
    let (done, outcome) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("auth".into())
        .spawn(move || {
            let mut notes = Vec::new();
            let verdict = check(&login, &password, &at, &mut notes);
            let _ = done.send((verdict, notes));
        });
    let thread = match spawned {
        Ok(thread) => thread,
        Err(e) => {
            notes.push(format!("{what}: cannot start the lookup: {e}"));
            return Verdict::NotFound;
        }
    };
    match outcome.recv_timeout(NETWORK_DEADLINE) {
        Ok((verdict, more)) => {
            // The thread has sent its last word: wait until it is gone, and with it the
            // threads the clients' runtimes started (tokio's blocking pool, for name
            // lookups, winds down on its own a moment after the runtime is dropped).
            let _ = thread.join();
            notes.extend(more);
            if single_threaded_within(Duration::from_secs(5)) {
                verdict
            } else {
                let text = format!("{what}: the lookup left threads running");
                notes.push(text.clone());
                Verdict::Unavailable(text)
            }
        }
        Err(_) => {
            let text = format!(
                "{what} did not answer within {} s",
                NETWORK_DEADLINE.as_secs()
            );
            notes.push(text.clone());
            Verdict::Unavailable(text)
        }
    }
}

/// Whether the process is down to one thread within `limit` (checked every millisecond).
fn single_threaded_within(limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if pureftpd_os::thread_count().is_none_or(|n| n <= 1) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A hash of the default cost, verified for unknown logins.
fn dummy_hash() -> &'static [u8] {
    b"$argon2id$v=19$m=19456,t=2,p=1$c2VydmVyLWR1bW15LXNhbHQ$8J2iFX1k2eQGcHuBoKAq0zGjNnJ/GeU4pFb2lCC5b9k"
}

/// The system's anonymous account: `ftp`, else `_ftp`, with ids above 0 and an absolute
/// home; `None` when there is none.
#[must_use]
pub fn anonymous_account() -> Option<LoggedUser> {
    ["ftp", "_ftp"].iter().find_map(|name| {
        let user = nix::unistd::User::from_name(name).ok()??;
        let (uid, gid) = (user.uid.as_raw(), user.gid.as_raw());
        let home = user.dir.as_os_str().as_encoded_bytes().to_vec();
        if uid == 0 || gid == 0 || !home.starts_with(b"/") {
            return None;
        }
        let mut account = LoggedUser::new(b"ftp", uid, gid, Home::parse(&home));
        account.anonymous = true;
        account.system_account = true;
        Some(account)
    })
}

/// The home as a path, for messages.
#[must_use]
pub fn home_dir(user: &LoggedUser) -> PathBuf {
    user.home.start_dir()
}
