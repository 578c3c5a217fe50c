//! inetd mode (or systemd socket activation): the connection on fd 0 is served by this
//! process, with no master.

use std::net::TcpStream;
use std::sync::Arc;

use nix::sys::wait::waitpid;
use pureftpd_os::ForkResult;
use rustls::ServerConfig;

use crate::config::Config;
use crate::scoreboard::{self, Scoreboard};
use crate::session::{self, Origin};

/// inetd mode: serve the connection on fd 0. As root the session runs in a child, so
/// that this process, still root, can remove its scoreboard file afterwards.
pub fn serve_inetd(config: &Config, tls: Option<Arc<ServerConfig>>, stream: TcpStream) -> i32 {
    let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
        return 1;
    };
    let dir = scoreboard::directory();
    let boards = scoreboard::prepare_directory(&dir).is_ok();
    let origin = Origin {
        number: 1,
        max_clients: config.max_sessions(),
        ipv6_available: session::ipv6_available(config),
    };
    if !nix::unistd::geteuid().is_root() {
        let board = boards
            .then(|| Scoreboard::create(&dir, peer, local, None).ok())
            .flatten();
        session::run(stream, peer, config, tls, origin, board);
        let _ = std::fs::remove_file(dir.join(scoreboard::file_name(std::process::id())));
        return 0;
    }
    match pureftpd_os::fork() {
        Ok(ForkResult::Child) => {
            let board = boards
                .then(|| Scoreboard::create(&dir, peer, local, None).ok())
                .flatten();
            session::run(stream, peer, config, tls, origin, board);
            std::process::exit(0);
        }
        Ok(ForkResult::Parent { child }) => {
            drop(stream);
            let _ = waitpid(child, None);
            let pid = u32::try_from(child.as_raw()).unwrap_or(0);
            let _ = std::fs::remove_file(dir.join(scoreboard::file_name(pid)));
            0
        }
        Err(_) => 1,
    }
}
