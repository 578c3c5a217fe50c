//! `--metrics ADDRESS:PORT`: a Prometheus scrape endpoint (Pure-FTPd has none).
//!
//! What is counted, where: the master counts connections (accepted, refused by `-c` or
//! `-C`); sessions count logins (by the backend that answered and its answer),
//! transfers (bytes, files, errors and aborts each way), quota refusals and TLS
//! handshakes (control and data connections); each session also keeps its state
//! (before login, idle, downloading, uploading) and its peak memory in a slot of its
//! own, which the master hands out at the fork and empties when it reaps the process.
//! Memory is each process's own `getrusage` figure (its peak resident set), written at
//! each change of state: reading `/proc` would need the metrics process to hold a
//! directory outside its empty root, through which `..` leads anywhere.
//!
//! How: the master maps a small table of atomic words (`pureftpd_os::shared`) before
//! it forks anything; every session inherits it and adds to it with plain atomic
//! instructions, no system call, no message, nothing to lose when a process dies.
//! Counters live as long as the master: a restart starts them from zero, which
//! Prometheus reads as a counter reset. Under inetd there is no master to hold them,
//! and `--metrics` is a configuration error.
//!
//! Who answers: not the master, which stays single-threaded and root, and must never
//! parse a network request. A process of its own ([`endpoint`]) does: the master
//! starts it as a fresh program (its own binary again, so that it carries none of the
//! master's memory: no certificate key, no TLS ticket key, no configuration), with the
//! listening socket and the table's file as its stdin and stdout. It confines itself
//! as the pre-login processes do (an empty removed root, `nobody`, no capability,
//! `no_new_privs`), holds nothing else, maps the table read-only, and answers
//! `GET /metrics` one request at a time. It dies with the master
//! (`PR_SET_PDEATHSIG`), and the master starts it again should it die first.
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
    /// Not a counter: the master's peak resident set, in bytes, as it last wrote it.
    MasterPeakMemory,
}

/// How many [`Count`]s there are.
pub const COUNTS: usize = Count::MasterPeakMemory as usize + 1;
const LOGIN_WORDS: usize = BACKENDS.len() * LOGIN_RESULTS.len();
const SLOTS_START: usize = COUNTS + LOGIN_WORDS;
/// A slot's words: the state, the peak memory.
const SLOT_WORDS: usize = 2;

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
    let words = SharedWords::new(SLOTS_START + SLOT_WORDS * sessions)?;
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

/// This session's state from now on (and its peak memory now).
pub fn session_state(state: SessionState) {
    let slot = SLOT.load(Ordering::Relaxed);
    if let Some(word) = slot_word(slot, 0) {
        word.store(state as u64, Ordering::Relaxed);
    }
    if let (Some(word), Some(peak)) = (slot_word(slot, 1), peak_memory()) {
        word.store(peak, Ordering::Relaxed);
    }
}

/// The master, now and then: its peak memory.
pub fn master_memory() {
    if let (Some(word), Some(peak)) = (word(Count::MasterPeakMemory as usize), peak_memory()) {
        word.store(peak, Ordering::Relaxed);
    }
}

/// This process's peak resident set, in bytes (one system call, no file).
#[must_use]
pub fn peak_memory() -> Option<u64> {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).ok()?;
    // Kilobytes, on Linux.
    u64::try_from(usage.max_rss()).ok()?.checked_mul(1024)
}

fn slot_word(slot: usize, which: usize) -> Option<&'static std::sync::atomic::AtomicU64> {
    let table = TABLE.get()?;
    (slot < table.slots).then(|| word(SLOTS_START + SLOT_WORDS * slot + which))?
}

/// The master, before a fork: a free slot, marked as a session before login.
#[must_use]
pub fn claim_slot() -> Option<usize> {
    let table = TABLE.get()?;
    (0..table.slots).find(|&slot| {
        slot_word(slot, 0).is_some_and(|state| {
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

/// The master, once the session's process is reaped (or the fork failed).
pub fn release_slot(slot: usize) {
    for which in 0..SLOT_WORDS {
        if let Some(word) = slot_word(slot, which) {
            // Empty is 0, as is "no figure".
            word.store(0, Ordering::Relaxed);
        }
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
    /// The peak memory of each session that has written one.
    pub session_memory: Vec<u64>,
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
        let mut session_memory = Vec::new();
        for slot in 0..table.slots {
            let at = SLOTS_START + SLOT_WORDS * slot;
            let Some(index) = usize::try_from(load(at))
                .ok()
                .and_then(|s| s.checked_sub(1))
            else {
                continue;
            };
            if let Some(n) = sessions.get_mut(index) {
                *n += 1;
            }
            match load(at + 1) {
                0 => {}
                peak => session_memory.push(peak),
            }
        }
        Some(Self {
            counts,
            logins,
            sessions,
            session_memory,
            started: table.started,
            capacity: table.slots,
        })
    }
}

/// The table's file, its number of slots and its start time: what the metrics process
/// needs to map it (`None` without `--metrics`).
#[must_use]
pub fn for_endpoint() -> Option<(std::os::fd::BorrowedFd<'static>, usize, u64)> {
    let table = TABLE.get()?;
    Some((table.words.descriptor()?, table.slots, table.started))
}

/// The metrics process: maps the master's table from its file, read-only.
///
/// # Errors
/// The file is not the table, or cannot be mapped.
pub fn attach(file: std::os::fd::OwnedFd, sessions: usize, started: u64) -> io::Result<()> {
    let words = SharedWords::read_only(file, SLOTS_START + SLOT_WORDS * sessions)?;
    TABLE
        .set(Table {
            words,
            slots: sessions,
            started,
        })
        .map_err(|_| io::Error::other("the metrics table is mapped already"))
}
