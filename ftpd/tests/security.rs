//! Nothing outside the root is ever reached, whatever the path, link or encoding; PORT
//! cannot bounce; a passive port cannot be stolen; files belong to the account.
//! Each scenario runs in a real chroot (as root) and in the virtual chroot of a server
//! not started as root (as root, the test runs our server under the account's uid).

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{Ftp, PASSWORD, Server, Site, USER};

/// Our server as the account's own user: no root, so the virtual chroot confines it.
fn unprivileged(site: &Site, extra: &[&str]) -> Server {
    if !common::is_root() {
        return site.ours(extra);
    }
    let wrapper = site.dir.path().join("run-as-account.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec setpriv --reuid={0} --regid={0} --clear-groups {1} \"$@\"\n",
            site.uid,
            common::OURS
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The account's own server must be able to read its database and keep a scoreboard.
    let owner = Some(nix::unistd::Uid::from_raw(site.uid));
    nix::unistd::chown(&site.pdb, owner, None).unwrap();
    std::fs::create_dir_all(site.scoreboard()).unwrap();
    nix::unistd::chown(&site.scoreboard(), owner, None).unwrap();
    site.start(&wrapper, extra)
}

fn both_modes(test: impl Fn(&Site, &Server)) {
    let site = Site::new();
    test(&site, &site.ours(&[]));
    let site = Site::new();
    test(&site, &unprivileged(&site, &[]));
}

#[test]
fn no_path_leaves_the_root() {
    both_modes(|site, server| {
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("TYPE I");
        for path in [
            "../../../../etc/passwd",
            "/etc/passwd",
            "escape/passwd",
            "up/etc/passwd",
            "passwd-link",
            "sub/../../../etc/passwd",
            "..%2f..%2fetc%2fpasswd",
            "%2e%2e/%2e%2e/etc/passwd",
            "\\etc\\passwd",
            "~root/.bashrc",
        ] {
            let (first, data, _) = ftp.download(&format!("RETR {path}"));
            // A backslash is refused outright (553), as by Pure-FTPd.
            let refused = if path.contains('\\') { 553 } else { 550 };
            assert_eq!(first.code, refused, "RETR {path}: {first:?}");
            assert!(data.is_empty());
        }
        for dir in ["escape", "../../../etc", "/etc"] {
            let reply = ftp.cmd(&format!("CWD {dir}"));
            assert!(
                reply.code == 550 || reply.text() == "250 OK. Current directory is /",
                "CWD {dir}: {reply:?}"
            );
            ftp.cmd("CWD /");
        }
        // `up` points far above the root, so it is the root itself.
        assert_eq!(ftp.cmd("CWD up").code, 250);
        let (_, data, _) = ftp.download("LIST");
        assert!(String::from_utf8_lossy(&data).contains(" a.txt\r\n"));
        ftp.cmd("CWD /");
        assert_eq!(
            ftp.cmd("CWD ../../..").text(),
            "250 OK. Current directory is /"
        );
        let (_, data, _) = ftp.download("LIST /");
        let listing = String::from_utf8_lossy(&data).to_string();
        assert!(
            listing.contains(" a.txt\r\n")
                && !listing.contains(" etc\r\n")
                && !listing.contains(" proc\r\n"),
            "{listing}"
        );
        assert_eq!(ftp.cmd("MKD escape/evil").code, 550);
        assert_eq!(
            ftp.cmd("MKD up/evil").code,
            257,
            "a link above the root leads to the root"
        );
        assert!(site.home.join("evil").is_dir(), "created inside the root");
        assert_eq!(ftp.upload("STOR escape/evil", b"x").0.code, 553);
        assert_eq!(
            ftp.cmd("DELE passwd-link").code,
            250,
            "deleting a link removes the link, not its target"
        );
        assert!(std::path::Path::new("/etc/passwd").exists());
        assert_eq!(ftp.cmd("SITE CHMOD 777 escape/passwd").code, 550);
        assert_eq!(ftp.cmd("RNFR ../../../../etc/passwd").code, 550);
        let (_, data, _) = ftp.download("RETR inside-link");
        assert_eq!(data, b"hello\nworld\n", "links inside the root work");
    });
}

#[test]
fn control_bytes_and_invalid_utf8_names() {
    both_modes(|site, server| {
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("TYPE I");
        ftp.send(b"RETR a.txt\x00/../../etc/passwd");
        assert_eq!(ftp.reply().code, 550, "NUL becomes '_', not a terminator");
        let address = ftp.pasv();
        let reader = pureftpd_tests::ftp::receive(address);
        ftp.send(b"RETR bad\xff\xfe.bin");
        assert_eq!(ftp.reply().code, 150);
        assert_eq!(reader.join().unwrap(), b"latin1\n");
        ftp.reply();
        let (first, _) = ftp.upload("STOR ctrl\u{7}name", b"x");
        assert_eq!(first.code, 150);
        assert_eq!(
            site.read("ctrl_name"),
            b"x",
            "control characters in names become '_'"
        );
    });
}

/// A symbolic link's target is any bytes whoever made the link chose (a shell user, a
/// web application, an unpacked archive): a line break in it must not forge a listing
/// line, a reply line (MLST and STAT are answered on the control connection) or, with a
/// `;`, an MLSx fact.
#[test]
fn link_targets_cannot_forge_lines_replies_or_facts() {
    both_modes(|site, server| {
        std::os::unix::fs::symlink("x;size=999;\r\n250 forged", site.home.join("evil")).unwrap();
        std::os::unix::fs::symlink("semi;colon", site.home.join("semi")).unwrap();
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        let mlst = ftp.cmd("MLST evil");
        assert_eq!(mlst.code, 250, "{mlst:?}");
        assert_eq!(mlst.lines.len(), 3, "{mlst:?}");
        assert!(
            mlst.lines[1].starts_with(" type=OS.unix=symlink;size=23;"),
            "{mlst:?}"
        );
        assert!(ftp.cmd("MLST semi").lines[1].starts_with(" type=OS.unix=symlink;"));
        // The connection is still in step: the next reply is the next command's.
        assert_eq!(ftp.cmd("NOOP").text(), "200 Zzz...");
        let stat = ftp.cmd("STAT -la");
        assert!(
            stat.lines.iter().all(|l| !l.starts_with("250")) && stat.code == 213,
            "{stat:?}"
        );
        assert!(
            stat.lines
                .iter()
                .any(|l| l.ends_with(" evil -> x;size=999;__250 forged")),
            "{stat:?}"
        );
        assert_eq!(ftp.cmd("NOOP").text(), "200 Zzz...");
        for listing in ["LIST -la", "MLSD"] {
            let (_, data, _) = ftp.download(listing);
            let text = String::from_utf8_lossy(&data);
            assert!(
                text.split("\r\n").all(|l| !l.starts_with("250 forged")),
                "{listing}: {text}"
            );
            assert!(
                !text.contains("slink:x;") && !text.contains("slink:semi;"),
                "{listing}: {text}"
            );
        }
    });
}

#[test]
fn port_cannot_bounce() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(
        ftp.cmd("PORT 10,0,0,1,200,10").text(),
        "500 I won't open a connection to 10.0.0.1 (only to 127.0.0.1)"
    );
    assert_eq!(
        ftp.cmd("EPRT |1|10.0.0.1|51210|").text(),
        "500 I won't open a connection to 10.0.0.1 (only to 127.0.0.1)"
    );
    assert_eq!(
        ftp.cmd("PORT 127,0,0,1,0,21").text(),
        "501 Sorry, but I won't connect to ports < 1024"
    );
    assert_eq!(
        ftp.cmd("PORT 127,0,0,1,300,1").text(),
        "501 Syntax error in IP address"
    );
    assert_eq!(
        ftp.cmd("PORT garbage").text(),
        "501 Syntax error in IP address"
    );
    assert_eq!(
        ftp.cmd("EPRT |3|x|5000|").text(),
        "522 Only IPv4 is supported (1)"
    );
    assert_eq!(
        ftp.cmd("PORT 127,0,0,1,200,10").text(),
        "200 PORT command successful"
    );
    assert_eq!(ftp.cmd("EPSV ALL").text(), "220 Active mode is disabled");
    assert_eq!(
        ftp.cmd("PORT 127,0,0,1,200,10").text(),
        "501 Active mode is disabled"
    );
    let fxp_server = site.ours(&["-w"]);
    let mut fxp = Ftp::login(fxp_server.port, USER, PASSWORD);
    assert_eq!(
        fxp.cmd("PORT 10,0,0,1,200,10").text(),
        "200-FXP transfer: from 127.0.0.1 to 10.0.0.1\n200 PORT command successful"
    );
    // Even with FXP allowed, never a broadcast or group address, nor `::` (this host).
    for line in [
        "PORT 255,255,255,255,200,10",
        "PORT 224,0,0,1,200,10",
        "EPRT |1|239.1.2.3|5000|",
    ] {
        assert_eq!(
            fxp.cmd(line).text(),
            "501 Syntax error in IP address",
            "{line}"
        );
    }
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let fxp6_server = site.start_on("::1", std::path::Path::new(common::OURS), &["-w"]);
        let (mut fxp6, _) =
            Ftp::connect_to((std::net::Ipv6Addr::LOCALHOST, fxp6_server.port).into());
        fxp6.cmd(&format!("USER {USER}"));
        assert_eq!(fxp6.cmd(&format!("PASS {PASSWORD}")).code, 230);
        for line in ["EPRT |2|::|50000|", "EPRT |2|ff02::1|50000|"] {
            assert_eq!(
                fxp6.cmd(line).text(),
                "501 Syntax error in IP address",
                "{line}"
            );
        }
    } else {
        eprintln!("SKIP (IPv6 part): no IPv6 loopback");
    }
}

#[test]
fn active_mode_connects_back_to_the_client() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let reply = ftp.cmd(&format!("PORT 127,0,0,1,{},{}", port / 256, port % 256));
    assert_eq!(reply.code, 200);
    let reader = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut data).unwrap();
        data
    });
    assert_eq!(
        ftp.cmd("RETR a.txt").text(),
        format!("150 Connecting to port {port}")
    );
    assert_eq!(reader.join().unwrap(), b"hello\nworld\n");
    assert_eq!(ftp.reply().lines[0], "226-File successfully transferred");
}

/// The local port the server at `server` connects from for an active-mode RETR, and
/// the data.
fn active_source_port(server: SocketAddr) -> (u16, Vec<u8>) {
    let mut ftp = login_from_same_address(server);
    ftp.cmd("TYPE I");
    let listener = std::net::TcpListener::bind((server.ip(), 0)).unwrap();
    let data_port = listener.local_addr().unwrap().port();
    let ip = server.ip().to_string().replace('.', ",");
    let reply = ftp.cmd(&format!(
        "PORT {ip},{},{}",
        data_port / 256,
        data_port % 256
    ));
    assert_eq!(reply.code, 200, "{reply:?}");
    let reader = std::thread::spawn(move || {
        let (mut stream, from) = listener.accept().unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut data).unwrap();
        (from.port(), data)
    });
    assert_eq!(ftp.cmd("RETR a.txt").code, 150);
    let seen = reader.join().unwrap();
    assert_eq!(ftp.reply().lines[0], "226-File successfully transferred");
    seen
}

/// Logs in from the server's own loopback address (PORT may only name the client's).
fn login_from_same_address(server: SocketAddr) -> Ftp {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::new(server.ip(), 0).into())
        .unwrap();
    socket.connect(&server.into()).unwrap();
    let (mut ftp, _) = Ftp::over(socket.into());
    ftp.cmd(&format!("USER {USER}"));
    assert_eq!(ftp.cmd(&format!("PASS {PASSWORD}")).code, 230);
    ftp
}

#[test]
fn active_mode_comes_from_port_20_as_debians() {
    if !common::require_root("binding port 20") {
        return;
    }
    let site = Site::new();
    // A loopback address of this test's own: Debian's pure-ftpd binds port 20 without
    // SO_REUSEADDR, and for a minute its closed connections keep 127.0.0.1:20 from
    // anyone (then both servers take Pure-FTPd's next port, 2).
    let own_ip = format!(
        "127.0.{}.{}",
        100 + std::process::id() % 100,
        1 + std::process::id() % 250
    );
    let server = site.start_on(&own_ip, std::path::Path::new(common::OURS), &[]);
    let address = SocketAddr::new(own_ip.parse().unwrap(), server.port);
    // Twice: port 20 again (in TIME_WAIT from the first) towards a new client port.
    for _ in 0..2 {
        assert_eq!(
            active_source_port(address),
            (20, b"hello\nworld\n".to_vec())
        );
    }
    if let Some(theirs) = common::oracle("pure-ftpd") {
        let debian = site.start(&theirs, &[]);
        let port = active_source_port(SocketAddr::from(([127, 0, 0, 1], debian.port))).0;
        assert!(
            [20, 2, 3, 4, 5, 6, 10, 14, 16].contains(&port),
            "Debian's: {port}"
        );
    }
    // The helper that binds it: one for the whole server, a child of the master, as
    // nobody in an empty root with CAP_NET_BIND_SERVICE only and nothing but sockets.
    let helpers: Vec<u32> = pureftpd_tests::procfs::children_of(server.pid())
        .into_iter()
        .filter(|&p| pureftpd_tests::procfs::status(p, "CapEff") == "0000000000000400")
        .collect();
    assert_eq!(helpers.len(), 1, "{helpers:?}");
    let helper = helpers[0];
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .map_or(65534, |u| u.uid.as_raw());
    assert_eq!(
        pureftpd_tests::procfs::status(helper, "Uid"),
        format!("{0}\t{0}\t{0}\t{0}", nobody)
    );
    assert_eq!(
        pureftpd_tests::procfs::status(helper, "CapPrm"),
        "0000000000000400"
    );
    assert_eq!(pureftpd_tests::procfs::status(helper, "NoNewPrivs"), "1");
    let root = std::fs::read_link(format!("/proc/{helper}/root")).unwrap();
    assert!(root.to_string_lossy().ends_with("(deleted)"), "{root:?}");
    let held = |pid: u32| -> Vec<String> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|fd| fd.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) > Some(2))
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .map(|t| t.to_string_lossy().into_owned())
            .collect()
    };
    let sockets = |pid: u32| {
        held(pid)
            .iter()
            .filter(|t| t.starts_with("socket:"))
            .count()
    };
    for target in held(helper) {
        assert!(
            target.starts_with("socket:") || target == "anon_inode:[eventpoll]",
            "the helper holds {target}"
        );
    }
    // The sessions above end when they see their client gone: on a busy machine they
    // may still be there; only the next one's must count.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pureftpd_tests::procfs::children_of(server.pid()).len() > 1
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let idle = sockets(helper);
    let mut ftp = login_from_same_address(address);
    // A login forks no helper of its own (the pre-login process, a child of the session
    // until the next command reaps it, is the only child it ever has).
    let session = pureftpd_tests::procfs::children_of(server.pid())
        .into_iter()
        .find(|&p| p != helper)
        .expect("the session");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !pureftpd_tests::procfs::children_of(session).is_empty()
        && std::time::Instant::now() < deadline
    {
        assert_eq!(ftp.cmd("NOOP").code, 200);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        pureftpd_tests::procfs::children_of(session),
        Vec::<u32>::new()
    );
    assert_eq!(
        sockets(helper),
        idle + 1,
        "the session's end is the helper's"
    );
    // Its end goes when the session ends.
    drop(ftp);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sockets(helper) != idle {
        assert!(
            std::time::Instant::now() < deadline,
            "the helper keeps the end of a session that ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_passive_port_cannot_be_stolen() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    // A thief on another local address connects first: it is dropped without a byte.
    let thief = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    thief
        .bind(&SocketAddr::from(([127, 0, 0, 2], 0)).into())
        .unwrap();
    thief.connect(&address.into()).unwrap();
    let mut thief: TcpStream = thief.into();
    thief
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reader = pureftpd_tests::ftp::receive(address);
    std::thread::sleep(Duration::from_millis(100));
    ftp.send(b"RETR a.txt");
    let mut stolen = Vec::new();
    let _ = std::io::Read::read_to_end(&mut thief, &mut stolen);
    assert!(stolen.is_empty(), "the thief got data");
    assert_eq!(ftp.reply().code, 150);
    assert_eq!(reader.join().unwrap(), b"hello\nworld\n");
}

#[test]
fn uploads_belong_to_the_account_with_the_umask() {
    let site = Site::new();
    let server = site.ours(&["-U", "077:077"]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.upload("STOR mine.txt", b"x");
    assert_eq!(ftp.cmd("MKD mydir").code, 257);
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let file = std::fs::metadata(site.home.join("mine.txt")).unwrap();
    let dir = std::fs::metadata(site.home.join("mydir")).unwrap();
    assert_eq!(file.permissions().mode() & 0o777, 0o700);
    assert_eq!(dir.permissions().mode() & 0o777, 0o700);
    assert_eq!((file.uid(), file.gid()), (site.uid, site.gid));
    assert_eq!((dir.uid(), dir.gid()), (site.uid, site.gid));
}

#[test]
fn a_vanishing_client_disturbs_nobody() {
    let site = Site::new();
    site.put("big.bin", &vec![1u8; 8 << 20]);
    let server = site.ours(&[]);
    let mut watcher = Ftp::login(server.port, USER, PASSWORD);
    for _ in 0..5 {
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        ftp.cmd("TYPE I");
        let address = ftp.pasv();
        let data = TcpStream::connect(address).unwrap();
        ftp.send(b"RETR big.bin");
        drop(data);
        drop(ftp);
        let (mut half, _) = Ftp::connect(server.port);
        half.send_raw(b"USER al");
        drop(half);
    }
    assert_eq!(watcher.cmd("NOOP").code, 200);
    let (_, data, _) = watcher.download("RETR a.txt");
    assert!(!data.is_empty());
}

/// Beyond Pure-FTPd: a virtual user cannot make a file setuid or setgid (in both
/// modes; the file keeps its mode), while ordinary modes still change.
#[test]
fn virtual_users_never_set_setuid_or_setgid() {
    both_modes(|site, server| {
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        use std::os::unix::fs::PermissionsExt;
        let mode = || {
            std::fs::metadata(site.home.join("a.txt"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        let before = mode();
        for bits in ["4755", "2755", "6755", "04711", "7777"] {
            assert_eq!(
                ftp.cmd(&format!("SITE CHMOD {bits} a.txt")).text(),
                "550 Could not change perms on a.txt: Operation not permitted",
                "{bits}"
            );
            assert_eq!(mode(), before, "{bits}");
        }
        assert_eq!(ftp.cmd("SITE CHMOD 1755 sub").code, 200);
        assert_eq!(ftp.cmd("SITE CHMOD 0640 a.txt").code, 200);
        assert_eq!(mode(), 0o640);
    });
}
