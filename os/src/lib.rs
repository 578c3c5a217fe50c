//! The only home of `unsafe` in the workspace: thin wrappers over system calls whose
//! safe use depends on a condition the type system cannot check. Each wrapper states
//! the condition; each `unsafe` block says why it holds.
//!
//! Everything else (chroot, setuid, openat2, poll, sendfile, locks) goes through nix's
//! safe functions and lives with the code that uses it.
//!
//! The workspace denies `unsafe_code`; this crate alone allows it.
#![allow(unsafe_code)]

mod descriptors;
pub mod malloc_cache;
pub mod pam;
pub mod shared;

pub use descriptors::{
    close_descriptors_except, close_descriptors_except_these, close_on_exec_above_stderr,
};

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

/// Ends a forked child (a session, its pre-login process) at once, with `status`.
///
/// `std::process::exit` would run the C library's exit handlers: the destructors of
/// every shared library (libm, libgcc_s, libpam and its own) and of the dynamic
/// linker, whose code and data a forked child has never touched, so each exit paged
/// them in only to tear them down: about 20 page faults per process, two processes a
/// login. A child has nothing for them to do: it writes its logs and replies with
/// plain system calls as it goes, and only Rust's buffered stdout could hold bytes,
/// which are flushed first.
pub fn end_child(status: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // SAFETY: _exit(2) ends the process; nothing of this process runs after it.
    unsafe { nix::libc::_exit(status) }
}

/// `-B` of every daemon: forks; the parent gets `Ok(false)` (and should exit), the child
/// `Ok(true)`, detached in its own session, in `/`, its standard streams on `/dev/null`
/// (as Pure-FTPd's: a shell waiting for the output of `pure-ftpd -B` must not wait for
/// the daemon's whole life). Same caveat as [`fork`]: single-threaded callers only.
///
/// # Errors
/// The fork failed (the caller goes on undetached).
pub fn daemonize() -> nix::Result<bool> {
    match fork()? {
        ForkResult::Parent { .. } => Ok(false),
        ForkResult::Child => {
            let _ = nix::unistd::setsid();
            let _ = std::env::set_current_dir("/");
            if let Ok(null) = std::fs::File::options()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                let _ = nix::unistd::dup2_stdin(&null);
                let _ = nix::unistd::dup2_stdout(&null);
                let _ = nix::unistd::dup2_stderr(&null);
            }
            Ok(true)
        }
    }
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

/// Lets the kernel reap this process's children as they exit (SIGCHLD ignored), so
/// that a child that ends while this process waits on something else (a client's next
/// command, for hours) does not stay a zombie in `ps` until then. A zombie that exists
/// already is not reaped by this: `waitpid` it once after the call. From then on
/// `waitpid` reports no status: it returns while the child runs (`WNOHANG`), and fails
/// with `ECHILD` once the child is gone.
///
/// # Errors
/// The system refused the signal action (it does not for SIGCHLD).
pub fn reap_children_automatically() -> nix::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: ignoring a signal runs no code of ours in signal context, so no
    // async-signal-safety requirement can be broken.
    unsafe { sigaction(Signal::SIGCHLD, &ignore) }.map(drop)
}

/// Whether no other open file description writes to `file`: Linux grants a write
/// lease only then (and this one is released at once). `false` too where leases cannot
/// be taken (`fs.leases-enable` off, a file system without them, a file not ours).
pub fn no_other_writer(file: &impl std::os::fd::AsFd) -> bool {
    use nix::libc::{F_SETLEASE, F_UNLCK, F_WRLCK, fcntl};
    use std::os::fd::AsRawFd;
    let fd = file.as_fd().as_raw_fd();
    // SAFETY: F_SETLEASE takes an integer argument and reads or writes no memory of
    // ours; `fd` is a descriptor borrowed for the duration of the call.
    let taken = unsafe { fcntl(fd, F_SETLEASE, F_WRLCK) } == 0;
    if taken {
        // SAFETY: as above.
        unsafe { fcntl(fd, F_SETLEASE, F_UNLCK) };
    }
    taken
}

/// Gives back to the system what a process touched once and no longer uses: the heap's
/// free pages (`malloc_trim`), and the stack pages below the caller's frame that deeper
/// calls touched. A session calls it once logged in: the login's password check and
/// account set-up went deeper into the stack and through more of the heap than an idle
/// session needs, and a forked process keeps every page it touched, as its own copy,
/// until it ends. Pages given back are zero-filled again if ever used.
///
/// Only the main thread's stack is released (in any other thread this releases the heap
/// alone): below the main stack the kernel keeps room free of other mappings, where a
/// thread's stack may have a neighbour.
pub fn release_unused_memory() {
    // SAFETY: malloc_trim only walks glibc's own allocator state under its own lock and
    // takes no pointer from us.
    unsafe {
        nix::libc::malloc_trim(0);
    }
    if nix::unistd::gettid() == nix::unistd::getpid() {
        release_stack_below_caller();
    }
}

/// The main thread's stack below the caller's frame, past a margin for the calls still
/// to come (this one's own frames, a signal handler's), over the depth a login reaches.
#[inline(never)]
fn release_stack_below_caller() {
    const MARGIN: usize = 4 * 1024;
    const DEPTH: usize = 256 * 1024;
    let here = 0u8;
    let frame = std::ptr::addr_of!(here) as usize;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|size| usize::try_from(size).ok())
        .unwrap_or(4096);
    let Some(top) = frame
        .checked_sub(MARGIN)
        .map(|address| address & !(page - 1))
    else {
        return;
    };
    let Some(bottom) = top.checked_sub(DEPTH) else {
        return;
    };
    // SAFETY: [bottom, top) lies below the live part of the main thread's stack (the
    // stack grows down, and `top` is MARGIN under this very frame, whose only callee
    // now is the system call's stub), and within the space the kernel leaves for the
    // main stack to grow into (mmap places nothing within 128 MiB of the stack's top;
    // this code maps nothing at fixed addresses): the stack's own pages, which hold
    // nothing live, and unmapped space, for which madvise says ENOMEM (ignored).
    // MADV_DONTNEED on private anonymous memory only makes those pages read as zeros
    // when next touched.
    unsafe {
        nix::libc::madvise(
            bottom as *mut nix::libc::c_void,
            DEPTH,
            nix::libc::MADV_DONTNEED,
        );
    }
}

/// Receives one byte and at most one descriptor (SCM_RIGHTS) from `socket`, plus up to
/// four bytes after the first. `Ok(None)`: the peer closed the socket.
///
/// # Errors
/// The receive failed.
pub fn receive_with_descriptor(
    socket: &std::os::unix::net::UnixStream,
) -> std::io::Result<Option<(Vec<u8>, Option<std::os::fd::OwnedFd>)>> {
    receive_bytes_with_descriptor(socket, 5)
}

/// Receives up to `max` bytes and at most one descriptor (SCM_RIGHTS) from `socket`, in
/// one `recvmsg`. `Ok(None)`: the peer closed the socket.
///
/// # Errors
/// The receive failed.
pub fn receive_bytes_with_descriptor(
    socket: &std::os::unix::net::UnixStream,
    max: usize,
) -> std::io::Result<Option<(Vec<u8>, Option<std::os::fd::OwnedFd>)>> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut data = vec![0u8; max.max(1)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut data)];
    let message = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(std::io::Error::from)?;
    let mut received = None;
    for control in message.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = control {
            for fd in fds {
                // SAFETY: the kernel just created this descriptor in this process for
                // the SCM_RIGHTS message; nothing else knows its number, so the OwnedFd
                // is its only owner (a second one, never expected, is closed at once).
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                if received.is_none() {
                    received = Some(owned);
                }
            }
        }
    }
    let length = message.bytes;
    if length == 0 {
        return Ok(None);
    }
    Ok(Some((data[..length].to_vec(), received)))
}

/// Switches to `uid`/`gid` (groups: `gid` only) keeping a single capability,
/// CAP_NET_BIND_SERVICE (binding ports below 1024); also sets no_new_privs and makes
/// the process non-dumpable, so the account's other processes cannot trace it.
///
/// # Errors
/// A step failed; the process must not go on.
pub fn become_with_only_bind_capability(uid: u32, gid: u32) -> std::io::Result<()> {
    use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};
    nix::sys::prctl::set_keepcaps(true)?;
    setgroups(&[Gid::from_raw(gid)])?;
    setresgid(Gid::from_raw(gid), Gid::from_raw(gid), Gid::from_raw(gid))?;
    setresuid(Uid::from_raw(uid), Uid::from_raw(uid), Uid::from_raw(uid))?;
    // linux/capability.h, version 3: two 32-bit words per set.
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    const NET_BIND_SERVICE: u32 = 10;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let bind = Data {
        effective: 1 << NET_BIND_SERVICE,
        permitted: 1 << NET_BIND_SERVICE,
        inheritable: 0,
    };
    let none = Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    };
    let data = [bind, none];
    // SAFETY: capset reads one header and, for version 3, exactly two data structs,
    // laid out as the kernel's (repr(C), three u32 each); both live on this stack frame
    // for the duration of the call.
    let result =
        unsafe { nix::libc::syscall(nix::libc::SYS_capset, &raw mut header, data.as_ptr()) };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    nix::sys::prctl::set_keepcaps(false)?;
    nix::sys::prctl::set_no_new_privs()?;
    nix::sys::prctl::set_dumpable(false)?;
    Ok(())
}

static FAREWELL_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);
static FAREWELL_TEXT: std::sync::atomic::AtomicPtr<u8> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());
static FAREWELL_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Makes SIGTERM end the process at once with status 0, after writing `farewell` to
/// the descriptor last given to [`farewell_to`] (none: nothing is written). For a
/// session, so that a server stopped with `--stopsessions` tells its clients why.
///
/// # Errors
/// The handler cannot be installed.
pub fn exit_on_sigterm_saying(farewell: &'static [u8]) -> nix::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    use std::sync::atomic::Ordering;
    extern "C" fn say_farewell_and_exit(_: nix::libc::c_int) {
        let fd = FAREWELL_FD.load(Ordering::SeqCst);
        let text = FAREWELL_TEXT.load(Ordering::SeqCst);
        let len = FAREWELL_LEN.load(Ordering::SeqCst);
        // SAFETY: write(2) and _exit(2) are async-signal-safe; `text` and `len` describe
        // a `&'static [u8]` (stored before the handler was installed), so the buffer is
        // valid for the whole life of the process; a bad or closed `fd` only makes
        // write fail.
        unsafe {
            if fd >= 0 && !text.is_null() {
                nix::libc::write(fd, text.cast::<nix::libc::c_void>().cast_const(), len);
            }
            nix::libc::_exit(0);
        }
    }
    FAREWELL_LEN.store(farewell.len(), Ordering::SeqCst);
    FAREWELL_TEXT.store(farewell.as_ptr().cast_mut(), Ordering::SeqCst);
    let action = SigAction::new(
        SigHandler::Handler(say_farewell_and_exit),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only calls async-signal-safe functions and reads atomics.
    unsafe { sigaction(Signal::SIGTERM, &action) }.map(drop)
}

/// Where the SIGTERM farewell goes: the control connection while it is in clear text,
/// `None` while TLS protects it (clear text there would only be garbage to the client).
/// Ignored until [`exit_on_sigterm_saying`] has installed a farewell.
pub fn farewell_to(fd: Option<std::os::fd::RawFd>) {
    use std::sync::atomic::Ordering;
    // Without a farewell there is nothing to remember: a session that stored anyway
    // would copy this static's page of the parent's memory for good (4 KiB each).
    if FAREWELL_TEXT.load(Ordering::SeqCst).is_null() {
        return;
    }
    FAREWELL_FD.store(fd.unwrap_or(-1), Ordering::SeqCst);
}
