//! `--proxyprotocol`: two of our servers (127.0.0.2 and 127.0.0.3) behind Debian's
//! HAProxy in TCP mode (127.0.0.1, connecting from 127.0.0.9 with PROXY v1 to one node
//! and v2 to the other), clients on their own loopback addresses. The sessions see the
//! clients' addresses (scoreboard, `-C`, passive data from the client itself, the
//! accounts' IP rules, syslog and the transfer log), health checks and garbage from the
//! balancer's address are handled, and a header a client forges is refused.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Ftp, OURS, PASSWORD, Server, Site, USER};

const BALANCER: &str = "127.0.0.9";

/// A TCP connection to `to` from the loopback address `from`.
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::new(from.parse().unwrap(), 0).into())
        .unwrap();
    socket.connect(&to.into()).unwrap();
    socket.into()
}

/// A logged-in session from `from` through `to`.
fn login_from(from: &str, to: SocketAddr) -> Ftp {
    let (mut ftp, greeting) = Ftp::over(connect_from(from, to));
    assert_eq!(greeting.code, 220, "{greeting:?}");
    assert_eq!(ftp.cmd(&format!("USER {USER}")).code, 331);
    assert_eq!(ftp.cmd(&format!("PASS {PASSWORD}")).code, 230);
    ftp
}

struct HaProxy {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn haproxy() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/sbin/haproxy");
    common::dbservers::installed("HAProxy (haproxy)", &path).then_some(path)
}

/// HAProxy with a frontend per `(port, [(node, send-proxy keyword)])`.
fn start_haproxy(binary: &Path, frontends: &[(u16, Vec<(SocketAddr, &str)>)]) -> HaProxy {
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::from(
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n",
    );
    for (n, (port, nodes)) in frontends.iter().enumerate() {
        config.push_str(&format!(
            "frontend f{n}\n  bind 127.0.0.1:{port}\n  default_backend b{n}\nbackend b{n}\n  balance roundrobin\n"
        ));
        for (m, (node, keyword)) in nodes.iter().enumerate() {
            config.push_str(&format!(
                "  server s{m} {node} {keyword} source {BALANCER}\n"
            ));
        }
    }
    let file = dir.path().join("haproxy.cfg");
    std::fs::write(&file, config).unwrap();
    let child = Command::new(binary)
        .arg("-db")
        .arg("-f")
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    for (port, _) in frontends {
        while TcpStream::connect(("127.0.0.1", *port)).is_err() {
            assert!(Instant::now() < deadline, "HAProxy did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    HaProxy { child, _dir: dir }
}

/// The client addresses of the sessions on `board`.
fn clients_on(board: &Path) -> Vec<String> {
    let mut seen: Vec<String> = pureftpd_scoreboard::read_all(board)
        .map(|scan| scan.records.iter().map(|r| r.peer.to_string()).collect())
        .unwrap_or_default();
    seen.sort();
    seen
}

fn wait_for_clients(board: &Path, expected: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = clients_on(board);
        if seen == expected || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn clients_behind_haproxy_keep_their_addresses() {
    let Some(binary) = haproxy() else { return };
    let site = Site::new();
    let boards = tempfile::tempdir().unwrap();
    let node = |host: &str, board: &str, range: &str| {
        let login = format!("puredb:{}", site.pdb.display());
        Server::start_on(
            host,
            Path::new(OURS),
            &[
                "-l",
                &login,
                "-H",
                "-4",
                "-C",
                "1",
                "-p",
                range,
                &format!("--proxyprotocol={BALANCER}"),
            ],
            &[("PURE_FTPD_SCOREBOARD", &boards.path().join(board))],
        )
    };
    let a = node("127.0.0.2", "a", "30000:30049");
    let b = node("127.0.0.3", "b", "30050:30099");
    let node_a: SocketAddr = format!("127.0.0.2:{}", a.port).parse().unwrap();
    let node_b: SocketAddr = format!("127.0.0.3:{}", b.port).parse().unwrap();
    let (both, only_a) = (pureftpd_tests::free_port(), pureftpd_tests::free_port());
    let _haproxy = start_haproxy(
        &binary,
        &[
            (
                both,
                vec![(node_a, "send-proxy"), (node_b, "send-proxy-v2")],
            ),
            (only_a, vec![(node_a, "send-proxy")]),
        ],
    );
    let front = |port: u16| -> SocketAddr { format!("127.0.0.1:{port}").parse().unwrap() };

    // Round robin over both nodes (v1 to one, v2 to the other): each session has its
    // client's address, and passive data comes from the client to the right node.
    let mut first = login_from("127.0.0.5", front(both));
    let mut second = login_from("127.0.0.6", front(both));
    let mut on_nodes = clients_on(&boards.path().join("a"));
    on_nodes.extend(clients_on(&boards.path().join("b")));
    on_nodes.sort();
    assert_eq!(on_nodes, ["127.0.0.5", "127.0.0.6"]);
    for (ftp, client) in [(&mut first, "127.0.0.5"), (&mut second, "127.0.0.6")] {
        let data_address = ftp.pasv();
        // Anti-FXP: a data connection from the balancer's address is not the client's.
        let mut intruder = connect_from(BALANCER, data_address);
        let mut data = connect_from(client, data_address);
        ftp.send(b"NLST");
        assert_eq!(ftp.reply().code, 150);
        intruder
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut stolen = Vec::new();
        let _ = std::io::Read::read_to_end(&mut intruder, &mut stolen);
        assert!(stolen.is_empty(), "the balancer's address got the listing");
        let mut listing = Vec::new();
        std::io::Read::read_to_end(&mut data, &mut listing).unwrap();
        let listing = String::from_utf8_lossy(&listing);
        assert!(listing.contains("a.txt"), "{listing}");
        assert_eq!(ftp.reply().code, 226);
    }
    drop((first, second));
    wait_for_clients(&boards.path().join("a"), &[]);
    wait_for_clients(&boards.path().join("b"), &[]);

    // -C 1 counts the client, not the balancer: a second session of 127.0.0.5 through
    // the balancer is refused, one of 127.0.0.6 is not.
    let _held = login_from("127.0.0.5", front(only_a));
    let (_, refused) = Ftp::over(connect_from("127.0.0.5", front(only_a)));
    assert_eq!(refused.code, 421, "{refused:?}");
    let _other = login_from("127.0.0.6", front(only_a));
    assert_eq!(
        wait_for_clients(&boards.path().join("a"), &["127.0.0.5", "127.0.0.6"]),
        ["127.0.0.5", "127.0.0.6"]
    );
}

#[test]
fn headers_are_believed_only_from_the_balancer() {
    let site = Site::new();
    let board = site.scoreboard();
    let login = format!("puredb:{}", site.pdb.display());
    let server = Server::start_on(
        "127.0.0.2",
        Path::new(OURS),
        &[
            "-l",
            &login,
            "-H",
            "-4",
            &format!("--proxyprotocol={BALANCER}"),
        ],
        &[("PURE_FTPD_SCOREBOARD", &board)],
    );
    let node: SocketAddr = format!("127.0.0.2:{}", server.port).parse().unwrap();
    // A client that forges a header is answered 421 and cut off.
    let (mut forger, greeting) = Ftp::over(connect_from("127.0.0.5", node));
    assert_eq!(greeting.code, 220);
    let reply = forger.cmd("PROXY TCP4 10.1.1.1 127.0.0.2 1234 21");
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(forger.closed());
    // The same without --proxyprotocol is a command before login, as Pure-FTPd's.
    let plain = Site::new().ours(&[]);
    let (mut ftp, _) = Ftp::connect(plain.port);
    assert_eq!(ftp.cmd("PROXY TCP4 10.1.1.1 127.0.0.2 1234 21").code, 530);
    // From the balancer: a health check (LOCAL) keeps the balancer's address...
    let mut check = connect_from(BALANCER, node);
    std::io::Write::write_all(&mut check, b"PROXY UNKNOWN\r\n").unwrap();
    let (mut checked, greeting) = Ftp::over(check);
    assert_eq!(greeting.code, 220);
    assert_eq!(checked.cmd("NOOP").code, 200);
    assert_eq!(wait_for_clients(&board, &[BALANCER]), [BALANCER]);
    drop(checked);
    // ...and no header is no session (no greeting, the connection closed).
    let mut garbage = connect_from(BALANCER, node);
    std::io::Write::write_all(&mut garbage, b"USER alice\r\n").unwrap();
    garbage
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut garbage, &mut answer);
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // A v1 header with the client's address, sent by hand.
    let mut proxied = connect_from(BALANCER, node);
    std::io::Write::write_all(
        &mut proxied,
        b"PROXY TCP4 192.0.2.44 127.0.0.2 40000 21\r\n",
    )
    .unwrap();
    let (mut ftp, greeting) = Ftp::over(proxied);
    assert_eq!(greeting.code, 220);
    assert_eq!(ftp.cmd(&format!("USER {USER}")).code, 331);
    assert_eq!(wait_for_clients(&board, &["192.0.2.44"]), ["192.0.2.44"]);
}

/// Whether `login` with its pure-pw password logs in from `from` through `to`.
fn logs_in_from(from: &str, to: SocketAddr, login: &str) -> bool {
    let (mut ftp, greeting) = Ftp::over(connect_from(from, to));
    assert_eq!(greeting.code, 220, "{greeting:?}");
    assert_eq!(ftp.cmd(&format!("USER {login}")).code, 331);
    ftp.cmd(&format!("PASS {login} pw")).code == 230
}

#[test]
fn account_rules_and_logs_see_the_client_not_the_balancer() {
    let Some(binary) = haproxy() else { return };
    let Some(syslog) = common::syslog::Syslog::listen() else {
        return;
    };
    let site = Site::new();
    // pure-pw -r: the only client address allowed; -R: an address refused.
    site.pure_pw_account("near", &["-r", "127.0.0.5"]);
    let pdb = site.pure_pw_account("far", &["-R", "127.0.0.5"]);
    let login = format!("puredb:{}", pdb.display());
    let transfers = site.dir.path().join("transfers.log");
    let clf = format!("clf:{}", transfers.display());
    let node = Server::start_on(
        "127.0.0.2",
        Path::new(OURS),
        &[
            "-l",
            &login,
            "-H",
            "-4",
            "-f",
            "local4",
            "-O",
            &clf,
            &format!("--proxyprotocol={BALANCER}"),
        ],
        &[("PURE_FTPD_SCOREBOARD", &site.scoreboard())],
    );
    let front = pureftpd_tests::free_port();
    let _haproxy = start_haproxy(
        &binary,
        &[(
            front,
            vec![(
                format!("127.0.0.2:{}", node.port).parse().unwrap(),
                "send-proxy-v2",
            )],
        )],
    );
    let front: SocketAddr = format!("127.0.0.1:{front}").parse().unwrap();
    syslog.clear();
    assert!(logs_in_from("127.0.0.5", front, "near"));
    assert!(!logs_in_from("127.0.0.6", front, "near"));
    assert!(!logs_in_from("127.0.0.5", front, "far"));
    assert!(logs_in_from("127.0.0.6", front, "far"));

    // A download, for the transfer log.
    let (mut ftp, _) = Ftp::over(connect_from("127.0.0.6", front));
    ftp.cmd("USER far");
    assert_eq!(ftp.cmd("PASS far pw").code, 230);
    ftp.cmd("TYPE I");
    let mut data = connect_from("127.0.0.6", ftp.pasv());
    assert_eq!(ftp.cmd("RETR a.txt").code, 150);
    std::io::Read::read_to_end(&mut data, &mut Vec::new()).unwrap();
    assert_eq!(ftp.reply().code, 226);
    assert_eq!(ftp.cmd("QUIT").code, 221);

    // local4 is facility 20: priorities <160> to <167>.
    let ours = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.starts_with("<16"))
            .cloned()
            .collect()
    };
    let lines = ours(&syslog.until(|lines| {
        ours(lines)
            .iter()
            .filter(|l| l.contains("is now logged in"))
            .count()
            == 3
    }));
    let logged_in: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("is now logged in"))
        .collect();
    assert!(
        logged_in
            .iter()
            .any(|l| l.contains("(?@127.0.0.5) [INFO] near is now logged in")),
        "{lines:#?}"
    );
    assert!(
        logged_in
            .iter()
            .any(|l| l.contains("(?@127.0.0.6) [INFO] far is now logged in")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("(far@127.0.0.6) [NOTICE]") && l.contains("a.txt downloaded")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("New connection from 127.0.0.5")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains(BALANCER)),
        "the balancer's address was logged: {lines:#?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let transfer_log = loop {
        let text = std::fs::read_to_string(&transfers).unwrap_or_default();
        if !text.is_empty() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        transfer_log.starts_with("127.0.0.6 - far ["),
        "{transfer_log}"
    );
}
