//! glibc's per-thread malloc cache (tcache), turned off for a server that forks its
//! sessions.
//!
//! The cache keeps up to seven freed chunks of each small size for the next `malloc`,
//! outside malloc's free lists: `malloc_trim` cannot give their pages back. In a forked
//! session, the chunks its login freed (password check, account files, replies) stay
//! cached for the session's whole life, scattered over pages that would otherwise be
//! free; measured with 50 idle sessions, 33 KiB of heap of their own each with the cache
//! and 26 KiB without, and no change in logins per second.
//!
//! The cache's size is a glibc tunable, read once as the program starts, from
//! `GLIBC_TUNABLES` (no call changes it later): the master runs itself again, at once,
//! with `glibc.malloc.tcache_count=0` added, by the path of its file (not
//! `/proc/self/exe`, which would rename the process `exe` for `pidof` and `pkill`).
//! Pure-FTPd does not do this (its sessions allocate little); the admin's own
//! `GLIBC_TUNABLES` is kept, and one that sets the cache's size wins.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// The tunable, as `GLIBC_TUNABLES` lists it.
const TUNABLE: &str = "glibc.malloc.tcache_count=0";

/// Runs this program again with the cache turned off, keeping its arguments, the rest of
/// its environment and its name (the process id, descriptors and ids do not change
/// across `execve`). Returns without doing anything when the environment already sets
/// the cache's size (the admin's choice, or this program's own second start), in secure
/// mode (setuid or file capabilities: glibc would ignore the tunable, and the program
/// could never tell that it had already run itself again), or when its file cannot be
/// run again under the name the process has; returns too when `execve` fails, the
/// program then going on with the cache.
pub fn run_again_without_it() {
    let current = std::env::var_os("GLIBC_TUNABLES").unwrap_or_default();
    let Some(tunables) = with_cache_off(&current) else {
        return;
    };
    if secure_mode() || sized_at_start() {
        return;
    }
    let Some(program) = same_file_same_name() else {
        return;
    };
    let to_c = |s: OsString| CString::new(s.into_vec()).ok();
    let Some(args) = std::env::args_os().map(to_c).collect::<Option<Vec<_>>>() else {
        return;
    };
    let mut environment: Vec<CString> = std::env::vars_os()
        .filter(|(name, _)| name != "GLIBC_TUNABLES")
        .filter_map(|(name, value)| {
            let mut pair = name;
            pair.push("=");
            pair.push(value);
            to_c(pair)
        })
        .collect();
    let Some(tunables) = to_c(format!("GLIBC_TUNABLES={tunables}").into()) else {
        return;
    };
    environment.push(tunables);
    // Only returns on failure (no /proc, too many arguments): then with the cache.
    let _ = nix::unistd::execve(&program, &args, &environment);
}

/// The path of this program's file, when running it again keeps the process's name
/// (`comm`, what `pidof`, `pkill` and `ps -C` match): the kernel names a process after
/// the last part of the path it ran, so `/proc/self/exe` would make it `exe`. `None`
/// when the path no longer leads to the running file (replaced, removed) or names it
/// otherwise than the process is named (started through a link of another name).
fn same_file_same_name() -> Option<CString> {
    use std::os::unix::fs::MetadataExt;
    let path = std::fs::read_link("/proc/self/exe").ok()?;
    let (running, named) = (
        std::fs::metadata("/proc/self/exe").ok()?,
        std::fs::metadata(&path).ok()?,
    );
    if (running.dev(), running.ino()) != (named.dev(), named.ino()) {
        return None;
    }
    let comm = std::fs::read("/proc/self/comm").ok()?;
    let name = path.file_name()?.as_bytes();
    // The kernel keeps the first 15 bytes of a name.
    (comm.strip_suffix(b"\n")? == &name[..name.len().min(15)])
        .then(|| CString::new(path.into_os_string().into_vec()).ok())?
}

/// The `GLIBC_TUNABLES` value that turns the cache off, keeping the other tunables;
/// `None` when `current` already sets the cache's size, or is not text (left as the
/// admin wrote it).
fn with_cache_off(current: &std::ffi::OsStr) -> Option<String> {
    let current = current.to_str()?;
    if current
        .split(':')
        .any(|tunable| tunable.starts_with("glibc.malloc.tcache_count="))
    {
        return None;
    }
    Some(if current.is_empty() {
        TUNABLE.to_string()
    } else {
        format!("{current}:{TUNABLE}")
    })
}

/// Whether the environment the kernel gave this program sizes the cache, as glibc left
/// it: glibc cuts `GLIBC_TUNABLES` into its tunables in that memory (a NUL for each
/// `:`), so a program that read only the variable's first piece there would run itself
/// again forever. Both views are checked. Without `/proc` (which running the program
/// again needs anyway) the answer is yes.
fn sized_at_start() -> bool {
    const SIZE: &[u8] = b"glibc.malloc.tcache_count=";
    std::fs::read("/proc/self/environ")
        .map_or(true, |block| block.windows(SIZE.len()).any(|w| w == SIZE))
}

/// Whether the kernel started this program in secure mode (`AT_SECURE`).
fn secure_mode() -> bool {
    // SAFETY: getauxval only reads the auxiliary vector the kernel gave the process.
    unsafe { nix::libc::getauxval(nix::libc::AT_SECURE) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_turned_off_beside_the_admins_tunables_unless_they_size_it() {
        assert_eq!(with_cache_off("".as_ref()).as_deref(), Some(TUNABLE));
        assert_eq!(
            with_cache_off("glibc.malloc.arena_max=2".as_ref()).as_deref(),
            Some("glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0")
        );
        assert_eq!(with_cache_off("glibc.malloc.tcache_count=3".as_ref()), None);
        assert_eq!(
            with_cache_off("glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0".as_ref()),
            None
        );
        // Not the cache's size, though its name starts the same way.
        assert!(with_cache_off("glibc.malloc.tcache_max=0".as_ref()).is_some());
    }

    #[test]
    fn a_test_runs_in_plain_mode_with_the_cache_unsized() {
        assert!(!secure_mode());
        if std::env::var_os("GLIBC_TUNABLES").is_none() {
            assert!(!sized_at_start());
        }
    }
}
