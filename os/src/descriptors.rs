//! Descriptors a process inherited and must not keep.
//!
//! A session, its pre-login process and the server's helpers start as forks of a
//! master that may itself have inherited anything from whoever started it; before they
//! read a byte from a client they keep only the descriptors they were given. The
//! ranges between those are closed with close_range(2) (Linux 5.9): each new pre-login
//! process does this, and listing /proc/self/fd instead, with a close per entry, cost
//! a burst of 300 logins about a tenth of its time (0.344 s against 0.303, A/B on
//! 2026-12-05). The listing stays as the fallback for older kernels and for sandboxes
//! whose seccomp filter refuses the call.

use std::os::fd::RawFd;

/// Marks every open descriptor above stderr close-on-exec, so that the programs this
/// process starts (pure-authd's scripts, say) inherit only stdin, stdout and stderr,
/// not whatever the process itself inherited from whoever started it.
pub fn close_on_exec_above_stderr() {
    use std::os::fd::BorrowedFd;
    for fd in listed_above_stderr() {
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

/// Closes every descriptor above stderr except `keep`.
///
/// Only for a freshly forked child that will never again run the code owning those
/// descriptors: it must end with `std::process::exit` or [`crate::end_child`] (not by
/// returning or unwinding), so no `File` or socket object ever closes or uses a number
/// that is gone or reused.
pub fn close_descriptors_except(keep: RawFd) {
    close_descriptors_except_these(&[keep]);
}

/// Closes every descriptor above stderr except those in `keep`.
///
/// Only for a process that owns no object for any other descriptor (it has dropped
/// them, or never uses them again and ends with `std::process::exit` or
/// [`crate::end_child`]): what is left are descriptors inherited from whoever started
/// the server, which nothing in the process uses.
pub fn close_descriptors_except_these(keep: &[RawFd]) {
    // close_range(2) closes the gaps between the kept numbers in a few calls (each new
    // pre-login process runs this: listing /proc/self/fd cost it a directory read and
    // a close per descriptor); the listing stays for kernels before 5.9 and sandboxes
    // that refuse the call.
    if !close_ranges_around(keep) {
        close_listed_except(keep);
    }
}

/// Closes every descriptor above stderr listed in /proc/self/fd but those in `keep`.
fn close_listed_except(keep: &[RawFd]) {
    for fd in listed_above_stderr()
        .into_iter()
        .filter(|fd| !keep.contains(fd))
    {
        // SAFETY: per this function's contract, the objects owning these descriptors are
        // never used again in this process; the directory listing's own descriptor is
        // already closed and gives EBADF, which is ignored.
        unsafe {
            nix::libc::close(fd);
        }
    }
}

/// The descriptors above stderr that /proc/self/fd lists (the listing's own among
/// them, closed by the time the caller acts on it); none without /proc.
fn listed_above_stderr() -> Vec<RawFd> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect()
}

/// Closes every descriptor above stderr outside `keep` with close_range(2); false if
/// a call failed (ENOSYS before Linux 5.9, EPERM from a seccomp filter), in which case
/// the caller's listing of /proc/self/fd finishes the work.
fn close_ranges_around(keep: &[RawFd]) -> bool {
    let mut kept: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .filter(|&fd| fd > 2)
        .collect();
    kept.sort_unstable();
    kept.dedup();
    let mut first = 3u32;
    for next in kept.into_iter().map(Some).chain([None]) {
        let last = next.map_or(u32::MAX, |fd| fd - 1);
        // SAFETY: per the caller's contract, no object of this process owns a
        // descriptor in the range any more; close_range touches nothing else.
        if first <= last && unsafe { nix::libc::close_range(first, last, 0) } != 0 {
            return false;
        }
        first = next.map_or(u32::MAX, |fd| fd.saturating_add(1));
    }
    true
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsRawFd, RawFd};
    use std::process::Command;

    const CHILD: &str = "PUREFTPD_OS_DESCRIPTORS_CHILD";

    /// The numbers above stderr open in this process, up to `limit`.
    fn open_above_stderr(limit: RawFd) -> Vec<RawFd> {
        (3..limit)
            .filter(|&fd| nix::fcntl::fcntl(borrowed(fd), nix::fcntl::FcntlArg::F_GETFD).is_ok())
            .collect()
    }

    fn borrowed(fd: RawFd) -> std::os::fd::BorrowedFd<'static> {
        // SAFETY: only for one fcntl(F_GETFD) in a single-threaded moment of the child;
        // an unopened number just gives EBADF.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
    }

    /// In the re-executed child: opens descriptors at chosen numbers, closes all but
    /// some with `way`, prints what is left open.
    fn child(way: &str) {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let null = std::fs::File::open("/dev/null").unwrap();
        // One number far up, where a range that stopped short would leave it open.
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
        let high = RawFd::try_from(hard.min(2000) - 1).unwrap();
        for number in [5, 6, 7, 9, 700, 701, high] {
            // SAFETY: the numbers are not in use by anything of this test (the harness
            // holds at most a few low ones, which are below 5 or get closed anyway).
            assert_eq!(unsafe { nix::libc::dup2(null.as_raw_fd(), number) }, number);
        }
        let keep = [6, 700, 2, -1, 6, 7];
        match way {
            "ranges" => assert!(super::close_ranges_around(&keep), "close_range refused"),
            "listing" => super::close_listed_except(&keep),
            _ => super::close_descriptors_except_these(&keep),
        }
        println!("open: {:?}", open_above_stderr(high + 1));
        std::mem::forget(null);
    }

    fn left_open(way: &str, test: &str) -> String {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD, way)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // libtest prints the test's name on the same line, before the report.
        text.lines()
            .find_map(|l| l.split_once("open: ").map(|(_, list)| list.to_string()))
            .unwrap_or_else(|| panic!("no report in {text}"))
    }

    #[test]
    fn only_the_kept_descriptors_stay_open_whichever_way_they_are_closed() {
        let test =
            "descriptors::tests::only_the_kept_descriptors_stay_open_whichever_way_they_are_closed";
        if let Some(way) = std::env::var_os(CHILD) {
            child(&way.to_string_lossy());
            return;
        }
        for way in ["ranges", "listing", "either"] {
            assert_eq!(left_open(way, test), "[6, 7, 700]", "closed by {way}");
        }
    }
}
