//! `pure-pw`: manage Pure-FTPd virtual users.
//!
//! A drop-in for Pure-FTPd's tool: the same command lines, prompts, outputs, files and
//! exit codes (see the `cli` module for the argument quirks kept on purpose). Where it differs,
//! it is safer: edits are serialized by a lock and atomic, malformed lines are errors
//! naming the file and line (for `mkdb` too), and new passwords are hashed with argon2id
//! at a cost of tens of milliseconds instead of about a second.
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod exit;
mod passwd_file;
mod prompt;
pub mod pwconvert;
mod usage;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use cli::Action;
use passwd_file::Lock;
use prompt::Input;

/// Pure-FTPd's default passwd file (Debian's configuration directory).
pub const DEFAULT_PASSWD_FILE: &str = "/etc/pure-ftpd/pureftpd.passwd";
/// Pure-FTPd's default PureDB file.
pub const DEFAULT_PDB_FILE: &str = "/etc/pure-ftpd/pureftpd.pdb";

/// Runs pure-pw on the real stdin/stdout/stderr; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    let mut io = Io {
        input: prompt::stdin_input(&mut stdin),
        out: &mut io::stdout().lock(),
        err: &mut io::stderr().lock(),
        stdout_is_terminal: io::stdout().is_terminal(),
    };
    let code = run(args.into_iter().skip(1).collect(), &mut io);
    let _ = io.out.flush();
    code
}

/// Where a run reads and writes.
pub(crate) struct Io<'a> {
    pub(crate) input: Input<'a>,
    pub(crate) out: &'a mut dyn Write,
    pub(crate) err: &'a mut dyn Write,
    pub(crate) stdout_is_terminal: bool,
}

impl Io<'_> {
    /// A line on stderr (a failed write to stderr has nowhere to be reported).
    pub(crate) fn error(&mut self, message: impl std::fmt::Display) {
        let _ = writeln!(self.err, "{message}");
    }
}

/// The state of one run: its passwd file and, once taken, the lock on it.
pub(crate) struct Session<'a, 'io> {
    pub(crate) io: &'a mut Io<'io>,
    pub(crate) passwd_file: PathBuf,
    lock: Option<Lock>,
}

impl Session<'_, '_> {
    /// Takes the exclusive edit lock (once); prints why on failure.
    pub(crate) fn lock(&mut self) -> Result<(), i32> {
        if self.lock.is_none() {
            let lock = Lock::exclusive(&self.passwd_file).map_err(|e| {
                self.io.error(format!(
                    "Unable to lock [{}]: {}",
                    passwd_file::lock_target(&self.passwd_file).display(),
                    cmd::strerror(&e)
                ));
                exit::UNEXPECTED
            })?;
            self.lock = Some(lock);
        }
        Ok(())
    }
}

fn run(args: Vec<OsString>, io: &mut Io<'_>) -> i32 {
    let invocation = match cli::parse(args) {
        Ok(invocation) => invocation,
        Err(exit) => return exit.print_to(io.out, io.err),
    };
    let passwd_file = invocation
        .options
        .passwd_file
        .clone()
        .unwrap_or_else(|| env_path("PURE_PASSWDFILE", DEFAULT_PASSWD_FILE));
    let mut session = Session {
        io,
        passwd_file,
        lock: None,
    };
    let login = invocation.login.as_deref().filter(|l| !l.is_empty());
    let options = &invocation.options;
    let code = match invocation.action {
        Action::UserAdd => cmd::useradd::run(&mut session, login, options),
        Action::UserMod => cmd::usermod::run(&mut session, login, options),
        Action::UserDel => cmd::userdel::run(&mut session, login),
        Action::Passwd => cmd::passwd::run(&mut session, login, options),
        Action::Show => return cmd::show::run(&mut session, login, invocation.json),
        Action::List => return cmd::list::run(&mut session, invocation.json),
        Action::Mkdb => {
            // The login word, colons already turned into '_' as in the C tool.
            let target = invocation
                .login
                .clone()
                .map(|l| PathBuf::from(OsString::from_vec(l)));
            return mkdb_into(&mut session, target);
        }
    };
    if options.also_mkdb {
        code | mkdb_into(&mut session, options.pdb_file.clone())
    } else {
        code
    }
}

fn mkdb_into(session: &mut Session<'_, '_>, target: Option<PathBuf>) -> i32 {
    let target = target
        .filter(|t| !t.as_os_str().is_empty())
        .unwrap_or_else(|| env_path("PURE_DBFILE", DEFAULT_PDB_FILE));
    // Builds are serialized with edits; where the directory cannot be locked (it
    // cannot be read), nothing can edit the file either, and the build goes on.
    if session.lock.is_none() {
        session.lock = Lock::exclusive(&session.passwd_file).ok();
    }
    if session.lock.is_some() {
        // Every build of ours holds that lock: no temporary file is being written.
        puredb::remove_stale_temporaries(&target);
    }
    cmd::mkdb::run(session, &target)
}

/// An environment variable naming a file, if set and not empty.
fn env_path(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}
