//! Start-up and shut-down: detaching, the socket, the pid file, dropping privileges,
//! and removing the socket and pid file on SIGTERM/SIGINT.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::Path;

use nix::sys::stat::{Mode, umask};
use nix::unistd::{Gid, Uid};

use super::Options;
use super::log::Log;

/// `-B`: the parent returns false (and exits); the child goes on detached (see
/// [`pureftpd_os::daemonize`]). Called while single-threaded.
pub fn daemonize() -> bool {
    pureftpd_os::daemonize().unwrap_or_else(|e| {
        eprintln!("Unable to detach: {e}");
        true
    })
}

/// Creates the socket, mode 0600, replacing a stale one. A path that exists and is
/// not a socket is left alone (Pure-FTPd would delete whatever is there).
///
/// The socket is bound and listening under a temporary name first, then renamed into
/// place: a client (a server started right after the daemon, a test) that connects as
/// soon as the path appears is never refused in the moment between `bind` and
/// `listen`, as it could be with Pure-FTPd's.
pub fn listen(path: &Path) -> io::Result<UnixListener> {
    // Also the scripts' umask, as in Pure-FTPd.
    umask(Mode::from_bits_truncate(0o077));
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the path exists and is not a socket; remove it or choose another -s",
            ));
        }
        Err(_) => {}
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.new", std::process::id()));
    let temporary = std::path::PathBuf::from(temporary);
    let _ = fs::remove_file(&temporary);
    let listener = UnixListener::bind(&temporary)?;
    let placed = fs::set_permissions(&temporary, fs::Permissions::from_mode(0o600))
        .and_then(|()| fs::rename(&temporary, path));
    if let Err(e) = placed {
        let _ = fs::remove_file(&temporary);
        return Err(e);
    }
    Ok(listener)
}

/// Writes the pid file (mode 0644, as Pure-FTPd's); a failure is logged, not fatal.
pub fn write_pid_file(path: &Path, log: &Log) {
    let written = fs::write(path, format!("{}\n", std::process::id()))
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(0o644)));
    if let Err(e) = written {
        log.warning(&format!(
            "Unable to write the pid file {}: {e}",
            path.display()
        ));
    }
}

/// `-g` then `-u`, supplementary groups cleared; does nothing without them.
pub fn drop_privileges(uid: Option<u32>, gid: Option<u32>) -> nix::Result<()> {
    if let Some(gid) = gid {
        nix::unistd::setgroups(&[Gid::from_raw(gid)])?;
        nix::unistd::setgid(Gid::from_raw(gid))?;
    }
    if let Some(uid) = uid {
        if gid.is_none() {
            nix::unistd::setgroups(&[nix::unistd::getgid()])?;
        }
        nix::unistd::setuid(Uid::from_raw(uid))?;
    }
    Ok(())
}

/// SIGTERM and SIGINT: remove `files` (the socket, the pid file), exit 0.
///
/// # Errors
/// The signal handlers cannot be installed.
pub fn stop_on_signals(files: Vec<std::path::PathBuf>) -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                for file in &files {
                    let _ = fs::remove_file(file);
                }
                std::process::exit(0);
            }
        })?;
    Ok(())
}

/// Removes the socket and the pid file (best effort).
pub fn clean_up(options: &Options) {
    let _ = fs::remove_file(&options.socket);
    let _ = fs::remove_file(&options.pid_file);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client that connects the moment the path appears is never refused: it appears
    /// only once the socket listens. (Bound in place, about one try in a few hundred
    /// landed between `bind` and `listen` on a loaded machine.)
    #[test]
    fn the_socket_appears_only_once_it_listens() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..300 {
            let path = dir.path().join(format!("socket-{round}"));
            let watcher = {
                let path = path.clone();
                std::thread::spawn(move || {
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                    while !path.exists() {
                        assert!(std::time::Instant::now() < deadline, "no socket");
                        std::hint::spin_loop();
                    }
                    std::os::unix::net::UnixStream::connect(&path).map(|_| ())
                })
            };
            let listener = listen(&path).unwrap();
            let connected = watcher.join().unwrap();
            assert!(connected.is_ok(), "round {round}: {connected:?}");
            drop(listener);
        }
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .filter(|name| name.to_string_lossy().ends_with(".new"))
            .collect();
        assert!(left.is_empty(), "temporary names left: {left:?}");
    }
}
