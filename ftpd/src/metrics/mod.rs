//! `--metrics ADDRESS:PORT`: a Prometheus scrape endpoint (Pure-FTPd has none).
//!
//! What is counted, where: the master counts connections (accepted, refused by `-c` or
//! `-C`); sessions count logins (by the backend that answered and its answer),
//! transfers (bytes, files, errors and aborts each way), quota refusals and TLS
//! handshakes (control and data connections); each session also keeps its state
//! (before login, idle, downloading, uploading) in a slot of its own, which the master
//! hands out at the fork and empties when it reaps the process.
//!
//! How: the master maps a small table of atomic words (`pureftpd_os::shared`) before
//! it forks anything; every session inherits it and adds to it with plain atomic
//! instructions, no system call, no message, nothing to lose when a process dies.
//! Counters live as long as the master: a restart starts them from zero, which
//! Prometheus reads as a counter reset. Under inetd there is no master to hold them,
//! and `--metrics` is a configuration error.
//!
//! Who answers: not the master, which stays single-threaded and root, and must never
//! parse a network request or spend a scrape's time reading `/proc` for thousands of
//! sessions. A small process forked at start ([`endpoint`]) owns the listening socket,
//! confines itself as the pre-login processes do (an empty removed root, `nobody`, no
//! capability, `no_new_privs`), sees the table read-only, and answers `GET /metrics`
//! one request at a time. It dies with the master (`PR_SET_PDEATHSIG`), and the
//! master starts it again should it die first.
//!
//! Trust: a session (or a compromised pre-login process) can write any number into
//! the table; that falsifies a figure and nothing else. No figure carries a login, a
//! file name or an address.

pub mod endpoint;
pub mod render;

use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use pureftpd_os::shared::SharedWords;

use crate::config::AuthMethod;

/// Who answered a login, in the order of the `backend` label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    PureDb,
    Unix,
    Pam,
    ExtAuth,
    MySql,
    PgSql,
    Ldap,
    Anonymous,
    /// No backend knew the login.
    None,
}

/// The `backend` label values, indexed by [`Backend`].
pub const BACKENDS: [&str; 9] = [
    "puredb",
    "unix",
    "pam",
    "extauth",
    "mysql",
    "pgsql",
    "ldap",
    "anonymous",
    "none",
];

impl Backend {
    /// The backend of a `-l` method.
    #[must_use]
    pub fn of(method: &AuthMethod) -> Self {
        match method {
            AuthMethod::PureDb(_) => Self::PureDb,
            AuthMethod::Unix => Self::Unix,
            AuthMethod::Pam => Self::Pam,
            AuthMethod::ExtAuth(_) => Self::ExtAuth,
            AuthMethod::MySql(_) => Self::MySql,
            AuthMethod::PgSql(_) => Self::PgSql,
            AuthMethod::Ldap(_) => Self::Ldap,
        }
    }
}

/// A backend's answer, in the order of the `result` label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginResult {
    Accepted,
    Refused,
    /// The backend could not answer (its database is gone): the session got `421`.
    Unavailable,
}

/// The `result` label values of logins, indexed by [`LoginResult`].
pub const LOGIN_RESULTS: [&str; 3] = ["accepted", "refused", "unavailable"];

/// The plain counters, in the order of their words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    ConnectionsAccepted,
    RefusedMaxClients,
    RefusedPerIp,
    BytesUploaded,
    BytesDownloaded,
    FilesUploaded,
    FilesDownloaded,
    UploadErrors,
    DownloadErrors,
    UploadsAborted,
    DownloadsAborted,
    QuotaRefusals,
    TlsControlOk,
    TlsControlFailed,
    TlsDataOk,
    TlsDataFailed,
}

/// How many [`Count`]s there are.
pub const COUNTS: usize = Count::TlsDataFailed as usize + 1;
const LOGIN_WORDS: usize = BACKENDS.len() * LOGIN_RESULTS.len();
const SLOTS_START: usize = COUNTS + LOGIN_WORDS;

/// What a session is doing, as kept in its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// No session in the slot.
    Empty = 0,
    PreLogin = 1,
    Idle = 2,
    Download = 3,
    Upload = 4,
}

/// The `state` label values, for the states after `Empty`.
pub const STATES: [&str; 4] = ["prelogin", "idle", "download", "upload"];

/// The table, made by the master; inherited by every process it forks.
struct Table {
    words: SharedWords,
    slots: usize,
    started: u64,
}

static TABLE: OnceLock<Table> = OnceLock::new();

/// This session's slot (none in the master, or when the table was full).
static SLOT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// The master, before it forks anything: makes the table, with a slot for each of
/// `sessions` sessions.
///
/// # Errors
/// The memory cannot be mapped.
pub fn enable(sessions: usize) -> io::Result<()> {
    let words = SharedWords::new(SLOTS_START + 2 * sessions)?;
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let _ = TABLE.set(Table {
        words,
        slots: sessions,
        started,
    });
    Ok(())
}

fn word(index: usize) -> Option<&'static std::sync::atomic::AtomicU64> {
    TABLE.get()?.words.words().get(index)
}

/// Adds `n` to a counter (nothing without `--metrics`).
pub fn add(count: Count, n: u64) {
    if let Some(word) = word(count as usize) {
        word.fetch_add(n, Ordering::Relaxed);
    }
}

/// Adds one to a counter.
pub fn count(count: Count) {
    add(count, 1);
}

/// A backend's answer to a login.
pub fn login(backend: Backend, result: LoginResult) {
    let index = COUNTS + backend as usize * LOGIN_RESULTS.len() + result as usize;
    if let Some(word) = word(index) {
        word.fetch_add(1, Ordering::Relaxed);
    }
}

/// A TLS handshake's end, on the control connection or a data connection.
pub fn tls_handshake(control: bool, ok: bool) {
    count(match (control, ok) {
        (true, true) => Count::TlsControlOk,
        (true, false) => Count::TlsControlFailed,
        (false, true) => Count::TlsDataOk,
        (false, false) => Count::TlsDataFailed,
    });
}

/// This session's state from now on.
pub fn session_state(state: SessionState) {
    let slot = SLOT.load(Ordering::Relaxed);
    if let Some(word) = slot_word(slot, 1) {
        word.store(state as u64, Ordering::Relaxed);
    }
}

fn slot_word(slot: usize, which: usize) -> Option<&'static std::sync::atomic::AtomicU64> {
    let table = TABLE.get()?;
    (slot < table.slots).then(|| word(SLOTS_START + 2 * slot + which))?
}

/// The master, before a fork: a free slot, marked as a session before login.
#[must_use]
pub fn claim_slot() -> Option<usize> {
    let table = TABLE.get()?;
    (0..table.slots).find(|&slot| {
        slot_word(slot, 1).is_some_and(|state| {
            state
                .compare_exchange(
                    SessionState::Empty as u64,
                    SessionState::PreLogin as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        })
    })
}

/// The master, after the fork: whose slot it is (for its memory figure).
pub fn slot_taken_by(slot: usize, pid: u32) {
    if let Some(word) = slot_word(slot, 0) {
        word.store(u64::from(pid), Ordering::Relaxed);
    }
}

/// The master, once the session's process is reaped (or the fork failed).
pub fn release_slot(slot: usize) {
    if let (Some(pid), Some(state)) = (slot_word(slot, 0), slot_word(slot, 1)) {
        pid.store(0, Ordering::Relaxed);
        state.store(SessionState::Empty as u64, Ordering::Relaxed);
    }
}

/// The session, just forked: its slot.
pub fn enter_slot(slot: Option<usize>) {
    SLOT.store(slot.unwrap_or(usize::MAX), Ordering::Relaxed);
}

/// Everything in the table at one moment (each word read once; the words are
/// independent counters, so no lock is needed for a consistent figure of each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub counts: Vec<u64>,
    /// `[backend][result]`.
    pub logins: Vec<[u64; 3]>,
    /// Sessions in each of [`STATES`].
    pub sessions: [u64; 4],
    /// The session processes whose slot holds one.
    pub pids: Vec<u32>,
    /// When the master started (seconds since the epoch).
    pub started: u64,
    /// The number of slots (`-c`).
    pub capacity: usize,
}

impl Snapshot {
    /// Reads the table (`None` without `--metrics`).
    #[must_use]
    pub fn take() -> Option<Self> {
        let table = TABLE.get()?;
        let words = table.words.words();
        let load = |i: usize| words[i].load(Ordering::Relaxed);
        let counts = (0..COUNTS).map(load).collect();
        let logins = (0..BACKENDS.len())
            .map(|b| {
                let at = COUNTS + b * LOGIN_RESULTS.len();
                [load(at), load(at + 1), load(at + 2)]
            })
            .collect();
        let mut sessions = [0; 4];
        let mut pids = Vec::new();
        for slot in 0..table.slots {
            let state = load(SLOTS_START + 2 * slot + 1);
            let Some(index) = usize::try_from(state).ok().and_then(|s| s.checked_sub(1)) else {
                continue;
            };
            if let Some(n) = sessions.get_mut(index) {
                *n += 1;
            }
            match u32::try_from(load(SLOTS_START + 2 * slot)) {
                Ok(pid) if pid > 0 => pids.push(pid),
                _ => {}
            }
        }
        Some(Self {
            counts,
            logins,
            sessions,
            pids,
            started: table.started,
            capacity: table.slots,
        })
    }
}

/// The metrics process: the table becomes read-only for it.
///
/// # Errors
/// The kernel refused.
pub fn read_only() -> io::Result<()> {
    match TABLE.get() {
        Some(table) => table.words.make_read_only(),
        None => Ok(()),
    }
}
