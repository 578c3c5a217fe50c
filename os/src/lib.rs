//! The only home of `unsafe` in the workspace: thin wrappers over system calls whose
//! safe use depends on a condition the type system cannot check. Each wrapper states
//! the condition; each `unsafe` block says why it holds.
//!
//! Everything else (chroot, setuid, openat2, poll, sendfile, locks) goes through nix's
//! safe functions and lives with the code that uses it.

use std::path::Path;

pub use nix::unistd::{ForkResult, Pid};

/// Forks the process.
///
/// # Errors
/// The system refused (process limit, memory).
///
/// # Panics
/// In debug builds, if the calling process has more than one thread.
///
/// Callers must be single-threaded: the server's master never starts a thread (no
/// async runtime, no logging or signal thread), so the child's copy of the heap and
/// locks is consistent and the child may allocate and run ordinary Rust.
pub fn fork() -> nix::Result<ForkResult> {
    debug_assert_eq!(
        thread_count(),
        Some(1),
        "fork() from a multi-threaded process"
    );
    // SAFETY: the process is single-threaded (see above, checked in debug builds), so
    // no other thread can hold a lock or be half-way through an allocation at the time
    // of the fork; the child inherits a consistent state.
    unsafe { nix::unistd::fork() }
}

/// Number of threads of this process, from /proc (None when /proc is unavailable).
#[must_use]
pub fn thread_count() -> Option<usize> {
    let tasks = Path::new("/proc/self/task");
    std::fs::read_dir(tasks).ok().map(Iterator::count)
}

/// Restores the default action of `signals` (used in a forked session, which must not
/// run the master's handlers).
///
/// # Errors
/// A signal number the system refuses.
pub fn reset_signals(signals: &[nix::sys::signal::Signal]) -> nix::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for &signal in signals {
        // SAFETY: installing SIG_DFL runs no code of ours in signal context, so no
        // async-signal-safety requirement can be broken.
        unsafe { sigaction(signal, &default) }?;
    }
    Ok(())
}

/// Gives the heap's free pages back to the system. A session calls it once logged in:
/// the password check briefly needed megabytes, and a forked process would otherwise
/// keep the pages malloc retained.
pub fn release_free_memory() {
    // SAFETY: malloc_trim only walks glibc's own allocator state under its own lock and
    // takes no pointer from us; it is safe to call at any time from a single thread.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

/// Marks every open descriptor above stderr close-on-exec, so that the programs this
/// process starts (pure-authd's scripts, say) inherit only stdin, stdout and stderr,
/// not whatever the process itself inherited from whoever started it.
pub fn close_on_exec_above_stderr() {
    use std::os::fd::BorrowedFd;
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let numbers: Vec<i32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in numbers {
        // SAFETY: the descriptor is only borrowed for this one fcntl call, during which
        // nothing in this process closes it (callers run this at start-up, before any
        // thread exists); if it was the directory listing's own, now closed, fcntl fails
        // with EBADF and nothing happens.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let _ = nix::fcntl::fcntl(
            borrowed,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
}
