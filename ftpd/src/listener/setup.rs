//! What the master does before it serves: the listening sockets (`-S`, `-4`, `-6`), the
//! pid file (`-g`) and detaching (`-B`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::path::PathBuf;

use crate::config::Config;

/// The listening sockets for `-S`, `-4` and `-6`.
pub(super) fn bind(config: &Config) -> io::Result<Vec<TcpListener>> {
    let port = resolve_port(&config.bind_port)?;
    let addresses: Vec<SocketAddr> = match &config.bind_host {
        Some(host) => (host.as_str(), port).to_socket_addrs()?.collect(),
        None => vec![
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        ],
    };
    let wanted = addresses.into_iter().filter(|a| {
        if a.is_ipv6() {
            !config.ipv4_only
        } else {
            !config.ipv6_only
        }
    });
    let backlog = 3 + i32::try_from(config.max_clients / 8).unwrap_or(i32::MAX);
    let mut listeners = Vec::new();
    let mut last_error = None;
    for address in wanted {
        match listen(address, backlog) {
            Ok(listener) => listeners.push(listener),
            Err(e) => last_error = Some(e),
        }
    }
    if listeners.is_empty() {
        return Err(last_error.unwrap_or_else(|| io::Error::other("no address to listen on")));
    }
    Ok(listeners)
}

pub(crate) fn listen(address: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&address.into())?;
    socket.listen(backlog)?;
    Ok(TcpListener::from(socket))
}

/// A port number or a service name from /etc/services.
fn resolve_port(port: &str) -> io::Result<u16> {
    if let Ok(number) = port.parse() {
        return Ok(number);
    }
    let services = std::fs::read_to_string("/etc/services").unwrap_or_default();
    services
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let (number, proto) = words.next()?.split_once('/')?;
            (name == port && proto == "tcp")
                .then(|| number.parse().ok())
                .flatten()
        })
        .next()
        .ok_or_else(|| io::Error::other(format!("unknown port or service: {port}")))
}

/// `-g`, or the default pid file when running as root.
pub(super) fn pid_file(config: &Config) -> Option<PathBuf> {
    config.pid_file.clone().or_else(|| {
        nix::unistd::geteuid()
            .is_root()
            .then(|| PathBuf::from("/var/run/pure-ftpd.pid"))
    })
}

/// Writes the master's pid, mode 0644 as Pure-FTPd's (the process umask is 0, so the
/// mode is explicit: a world-writable pid file would let anyone choose what an init
/// script kills). A symlink in its place is not followed (`-g` may name a shared
/// directory). Pure-FTPd says nothing when it cannot write it; ours says why on stderr.
pub(super) fn write_pid_file(path: &std::path::Path) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    // As Pure-FTPd: whatever is there goes first, so that a symbolic link planted at
    // the path is replaced, never followed (O_NOFOLLOW then guards the window between).
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            eprintln!("pure-ftpd: -g: cannot replace {}: {e}", path.display());
            return;
        }
        _ => {}
    }
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)
        .and_then(|mut file| {
            // The mode above is filtered by the umask of whoever started us.
            file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
            writeln!(file, "{}", std::process::id())
        });
    // Pure-FTPd says nothing and serves on; so do we, but an init script that cannot
    // find the server later deserves a word now.
    if let Err(e) = written {
        eprintln!(
            "pure-ftpd: -g: cannot write the pid file {}: {e}",
            path.display()
        );
    }
}

/// `-B`: the parent returns false and exits; the child goes on detached (see
/// [`pureftpd_os::daemonize`]); if the fork fails, the server goes on undetached.
pub(super) fn daemonize() -> bool {
    pureftpd_os::daemonize().unwrap_or(true)
}
