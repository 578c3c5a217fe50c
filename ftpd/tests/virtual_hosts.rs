//! Virtual hosts: anonymous sessions on an address that has a directory in
//! /etc/pure-ftpd/pure-ftpd get that directory, as with Debian's pure-ftpd.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The virtual host directory for 127.0.0.1, removed when dropped (only if this test
/// made it).
struct VirtualHost(Option<PathBuf>);

impl Drop for VirtualHost {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn anonymous_sessions_get_the_addresss_directory() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    if !require_root("anonymous FTP and /etc/pure-ftpd/pure-ftpd") {
        return;
    }
    if nix::unistd::User::from_name("ftp").ok().flatten().is_none() {
        eprintln!("SKIP: no ftp account");
        return;
    }
    let dir = Path::new("/etc/pure-ftpd/pure-ftpd/127.0.0.1");
    if dir.exists() {
        eprintln!("SKIP: {} exists already; not touching it", dir.display());
        return;
    }
    std::fs::create_dir_all(dir).unwrap();
    let _cleanup = VirtualHost(Some(dir.to_path_buf()));
    std::fs::write(dir.join("vhost-only.txt"), b"virtual\n").unwrap();
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        let server = Server::start(binary, &["-H", "-4"]);
        let (mut ftp, _) = Ftp::connect(server.port);
        assert_eq!(ftp.cmd("USER ftp").code, 230);
        ftp.cmd("TYPE I");
        let (_, names, _) = ftp.download("NLST");
        let (_, contents, _) = ftp.download("RETR vhost-only.txt");
        seen.push((String::from_utf8_lossy(&names).into_owned(), contents));
    }
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    assert!(seen[0].0.contains("vhost-only.txt"));
    assert_eq!(seen[0].1, b"virtual\n");
}
