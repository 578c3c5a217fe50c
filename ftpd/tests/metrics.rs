//! `--metrics`: the Prometheus endpoint, scraped with curl while real clients log in
//! and transfer, every page parsed by Prometheus' own Python client
//! (`prometheus_client`); hostile and stalled scrapers; the endpoint's confinement and
//! its restart; configuration errors.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Ftp, OURS, PASSWORD, Server, Site, USER};

/// The page at `/metrics`, fetched with curl (`None` if it could not be fetched).
fn scrape(port: u16) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--fail"])
        .arg(format!("http://127.0.0.1:{port}/metrics"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).expect("the page is UTF-8"))
}

/// Python's parser of the text format: `name{labels}` (labels sorted) to value. Panics
/// when the parser refuses the page.
const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        samples[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(samples))
"#;

type Samples = HashMap<String, f64>;

fn parse(page: &str) -> Samples {
    let mut python = Command::new("python3")
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    python
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refuses the page: {}\n{page}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn get(samples: &Samples, name: &str, labels: &str) -> f64 {
    *samples
        .get(&format!("{name}{{{labels}}}"))
        .unwrap_or_else(|| panic!("no {name}{{{labels}}} in {samples:?}"))
}

/// curl and the Python parser, or a printed reason to skip (a failure under CI).
fn tools() -> bool {
    if !common::have("curl") {
        return false;
    }
    let parser = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !parser {
        let required = std::env::var_os("PUREFTPD_REQUIRE_ORACLE").is_some_and(|v| v == "1");
        assert!(
            !required,
            "python3's prometheus_client is required (pip install prometheus_client)"
        );
        eprintln!(
            "SKIP: python3's prometheus_client is not installed (pip install prometheus_client)"
        );
    }
    parser
}

/// Our server on `site` with `--metrics` on a free port (and `extra`); the port.
fn with_metrics(site: &Site, extra: &[&str]) -> (Server, u16) {
    let port = pureftpd_tests::free_port();
    let address = format!("127.0.0.1:{port}");
    let mut args = vec!["--metrics", address.as_str()];
    args.extend_from_slice(extra);
    let server = site.ours(&args);
    wait_for(|| scrape(port).is_some(), "the metrics endpoint answers");
    (server, port)
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn curl_ftp(args: &[&str]) -> Command {
    let mut command = Command::new("curl");
    command.args(["-sS", "--max-time", "60"]).args(args);
    command
}

#[test]
fn sessions_logins_and_transfers_are_counted_while_they_run() {
    if !tools() {
        return;
    }
    let site = Site::new();
    let size = 6 * 1024 * 1024;
    let big: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    site.put("big.bin", &big);
    let payload = site.dir.path().join("payload");
    std::fs::write(&payload, &big).unwrap();
    // 2 MB/s each way: every transfer takes about three seconds.
    let (server, metrics) = with_metrics(&site, &["-T", "2048:2048"]);
    let user = format!("{USER}:{PASSWORD}");
    let url = |p: &str| format!("ftp://127.0.0.1:{}/{p}", server.port);
    let copies: Vec<_> = (0..2)
        .map(|i| site.dir.path().join(format!("copy{i}")))
        .collect();
    let mut clients: Vec<_> = copies
        .iter()
        .map(|copy| {
            curl_ftp(&["-u", &user, &url("big.bin"), "-o", copy.to_str().unwrap()])
                .spawn()
                .unwrap()
        })
        .collect();
    clients.push(
        curl_ftp(&["-u", &user, "-T", payload.to_str().unwrap(), &url("up.bin")])
            .spawn()
            .unwrap(),
    );

    // While they run: one page shows both downloads and the upload, and their memory.
    let mut seen = None;
    wait_for(
        || {
            let samples = parse(&scrape(metrics).expect("a scrape during transfers"));
            let busy = get(&samples, "pureftpd_sessions", "state=download") == 2.0
                && get(&samples, "pureftpd_sessions", "state=upload") == 1.0;
            if busy {
                seen = Some(samples);
            }
            busy
        },
        "a page shows two downloads and an upload",
    );
    let during = seen.unwrap();
    assert_eq!(
        get(&during, "pureftpd_session_max_resident_bytes_count", ""),
        3.0
    );
    assert!(get(&during, "pureftpd_session_max_resident_bytes_sum", "") > 1e6);
    assert!(
        get(
            &during,
            "pureftpd_process_max_resident_bytes",
            "process=master"
        ) > 1e6
    );
    assert!(
        get(
            &during,
            "pureftpd_process_max_resident_bytes",
            "process=metrics"
        ) > 1e5
    );

    for mut client in clients {
        assert!(client.wait().unwrap().success());
    }
    for copy in &copies {
        assert!(std::fs::read(copy).unwrap() == big, "the download is whole");
    }
    assert!(site.read("up.bin") == big, "the upload is whole");

    // Two refused logins: a wrong password, and a login no backend knows.
    common::login_attempt(server.port, USER, "wrong");
    common::login_attempt(server.port, "nobody-knows-me", "x");

    wait_for(
        || {
            let samples = parse(&scrape(metrics).unwrap());
            ["prelogin", "idle", "download", "upload"]
                .iter()
                .all(|s| get(&samples, "pureftpd_sessions", &format!("state={s}")) == 0.0)
        },
        "every session is gone from the page",
    );
    let after = parse(&scrape(metrics).unwrap());
    let expect = [
        ("pureftpd_connections_total", "result=accepted", 5.0),
        (
            "pureftpd_connections_total",
            "result=refused_max_clients",
            0.0,
        ),
        (
            "pureftpd_logins_total",
            "backend=puredb,result=accepted",
            3.0,
        ),
        (
            "pureftpd_logins_total",
            "backend=puredb,result=refused",
            1.0,
        ),
        ("pureftpd_logins_total", "backend=none,result=refused", 1.0),
        ("pureftpd_logins_total", "backend=unix,result=accepted", 0.0),
        (
            "pureftpd_transferred_files_total",
            "direction=download",
            2.0,
        ),
        ("pureftpd_transferred_files_total", "direction=upload", 1.0),
        (
            "pureftpd_transferred_bytes_total",
            "direction=download",
            2.0 * size as f64,
        ),
        (
            "pureftpd_transferred_bytes_total",
            "direction=upload",
            size as f64,
        ),
        ("pureftpd_transfer_errors_total", "direction=download", 0.0),
        ("pureftpd_transfers_aborted_total", "direction=upload", 0.0),
        ("pureftpd_quota_refusals_total", "", 0.0),
        ("pureftpd_session_max_resident_bytes_count", "", 0.0),
        ("pureftpd_max_sessions", "", 50.0),
    ];
    for (name, labels, value) in expect {
        assert_eq!(get(&after, name, labels), value, "{name}{{{labels}}}");
    }
    // Counters are typed as counters (the parser drops `_total` from a counter's name
    // and puts it back on its samples only when the TYPE line says counter).
    let page = scrape(metrics).unwrap();
    assert!(page.contains("# TYPE pureftpd_logins_total counter\n"));
}

#[test]
fn tls_handshakes_aborts_and_quota_refusals_are_counted() {
    if !tools() {
        return;
    }
    let site = Site::new();
    let Some(cert) = common::certificate(site.dir.path(), "server") else {
        return;
    };
    // bob may store one megabyte.
    let pdb = site.pure_pw_account("bob", &["-N", "1"]);
    let login = format!("puredb:{}", pdb.display());
    let port = pureftpd_tests::free_port();
    let address = format!("127.0.0.1:{port}");
    let server = Server::start_with_env(
        Path::new(OURS),
        &[
            "-l",
            &login,
            "-H",
            "-4",
            "-Y",
            "1",
            "-2",
            cert.to_str().unwrap(),
            "--metrics",
            &address,
        ],
        &[("PURE_FTPD_SCOREBOARD", &site.scoreboard())],
    );
    wait_for(|| scrape(port).is_some(), "the metrics endpoint answers");
    let payload = site.dir.path().join("payload");
    std::fs::write(&payload, vec![7u8; 700 * 1024]).unwrap();
    let url = |p: &str| format!("ftp://127.0.0.1:{}/{p}", server.port);
    let upload = |name: &str| {
        curl_ftp(&[
            "--ssl-reqd",
            "-k",
            "-u",
            "bob:bob pw",
            "-T",
            payload.to_str().unwrap(),
            &url(name),
        ])
        .output()
        .unwrap()
    };
    assert!(upload("one.bin").status.success());
    // The second goes over the megabyte: 552, and nothing of it is kept.
    let second = upload("two.bin");
    assert!(!second.status.success());
    assert!(!site.home.join("two.bin").exists());

    // A client that says AUTH TLS and then sends no TLS at all.
    let (mut ftp, _) = Ftp::connect(server.port);
    assert_eq!(ftp.cmd("AUTH TLS").code, 234);
    ftp.send_raw(b"this is not a ClientHello\r\n\r\n");
    assert!(ftp.closed());

    // A download the client aborts after its start (ABOR, and the data connection
    // closed: the server sees the one or the other first).
    site.put("big.bin", &vec![1u8; 8 * 1024 * 1024]);
    let mut aborter = Ftp::login(server.port, "bob", "bob pw");
    aborter.cmd("TYPE I");
    let data = aborter.pasv();
    let mut stream = TcpStream::connect(data).unwrap();
    let started = aborter.cmd("RETR big.bin");
    assert_eq!(started.code, 150, "{started:?}");
    let mut some = [0u8; 4096];
    stream.read_exact(&mut some).unwrap();
    aborter.send(b"ABOR");
    drop(stream);
    let _ = aborter.reply();
    let _ = aborter.cmd("QUIT");

    wait_for(
        || {
            let samples = parse(&scrape(port).unwrap());
            get(&samples, "pureftpd_sessions", "state=idle") == 0.0
                && get(&samples, "pureftpd_sessions", "state=prelogin") == 0.0
        },
        "every session is gone from the page",
    );
    let samples = parse(&scrape(port).unwrap());
    let expect = [
        (
            "pureftpd_tls_handshakes_total",
            "connection=control,result=ok",
            2.0,
        ),
        (
            "pureftpd_tls_handshakes_total",
            "connection=control,result=failed",
            1.0,
        ),
        (
            "pureftpd_tls_handshakes_total",
            "connection=data,result=ok",
            2.0,
        ),
        (
            "pureftpd_tls_handshakes_total",
            "connection=data,result=failed",
            0.0,
        ),
        ("pureftpd_quota_refusals_total", "", 1.0),
        ("pureftpd_transferred_files_total", "direction=upload", 1.0),
        (
            "pureftpd_logins_total",
            "backend=puredb,result=accepted",
            3.0,
        ),
    ];
    for (name, labels, value) in expect {
        assert_eq!(get(&samples, name, labels), value, "{name}{{{labels}}}");
    }
    let ended_early = get(
        &samples,
        "pureftpd_transfers_aborted_total",
        "direction=download",
    ) + get(
        &samples,
        "pureftpd_transfer_errors_total",
        "direction=download",
    );
    assert_eq!(ended_early, 1.0, "the cut download is counted once");
}

/// Sends `request` on a fresh connection; the status line of the answer.
fn status_of(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_string()
}

#[test]
fn hostile_and_stalled_scrapers_get_errors_and_stop_nothing() {
    if !tools() {
        return;
    }
    let site = Site::new();
    let (server, metrics) = with_metrics(&site, &[]);
    let cases: [(&[u8], &str); 6] = [
        (
            b"POST /metrics HTTP/1.1\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (
            b"GET /../../etc/passwd HTTP/1.1\r\n\r\n",
            "HTTP/1.1 404 Not Found",
        ),
        (
            b"GET /metrics HTTP/9.9\r\n\r\n",
            "HTTP/1.1 505 HTTP Version Not Supported",
        ),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        (b"GET /metrics\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (b"HEAD /metrics HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK"),
    ];
    for (request, status) in cases {
        assert_eq!(status_of(metrics, request), status, "{request:?}");
    }
    let mut huge = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 64 * 1024));
    assert_eq!(
        status_of(metrics, &huge),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );

    // Clients that connect and say nothing: each is dropped after its time, and a
    // scrape behind them is answered; FTP is not slowed at all meanwhile.
    let stalled: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", metrics)).unwrap())
        .collect();
    let started = Instant::now();
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("PWD").code, 257);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "FTP waited for the metrics endpoint"
    );
    assert!(scrape(metrics).is_some(), "a scrape behind stalled clients");
    drop(stalled);

    // A burst of junk: every connection gets an answer or is closed, and the
    // endpoint still serves.
    for i in 0..200u32 {
        let junk: Vec<u8> = (0..64).map(|j| (i * 31 + j) as u8).collect();
        let mut stream = TcpStream::connect(("127.0.0.1", metrics)).unwrap();
        let _ = stream.write_all(&junk);
        let _ = stream.write_all(b"\r\n\r\n");
    }
    let samples = parse(&scrape(metrics).unwrap());
    assert_eq!(get(&samples, "pureftpd_sessions", "state=idle"), 1.0);
    ftp.cmd("QUIT");
}

/// The process whose parent is `master` and which listens on `port`.
fn endpoint_pid(master: u32, port: u16) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
        .unwrap_or_default();
    let inodes = listening_inodes(port);
    children
        .split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.filter_map(Result::ok).any(|fd| {
                    std::fs::read_link(fd.path()).is_ok_and(|target| {
                        inodes
                            .iter()
                            .any(|inode| target.to_string_lossy() == format!("socket:[{inode}]"))
                    })
                })
            })
        })
}

/// Inodes of the sockets listening on `port` (IPv4 loopback).
fn listening_inodes(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let listening = fields.get(3)? == &"0A";
            (listening && local.ends_with(&format!(":{port:04X}")))
                .then(|| fields.get(9).map(|s| (*s).to_string()))?
        })
        .collect()
}

#[test]
fn the_endpoint_is_restarted_and_the_counters_survive() {
    if !tools() {
        return;
    }
    let site = Site::new();
    let port = pureftpd_tests::free_port();
    let address = format!("127.0.0.1:{port}");
    // From the environment, as a service started through Debian's wrapper gets it.
    let server = Server::start_with_env(
        Path::new(OURS),
        &["-l", &format!("puredb:{}", site.pdb.display()), "-H", "-4"],
        &[
            ("PURE_FTPD_SCOREBOARD", &site.scoreboard()),
            ("PURE_FTPD_METRICS", Path::new(&address)),
        ],
    );
    wait_for(|| scrape(port).is_some(), "the metrics endpoint answers");
    Ftp::login(server.port, USER, PASSWORD).cmd("QUIT");
    let pid = endpoint_pid(server.pid(), port).expect("the endpoint is the master's child");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for(
        || endpoint_pid(server.pid(), port).is_some_and(|p| p != pid),
        "the master starts the endpoint again",
    );
    wait_for(|| scrape(port).is_some(), "the new endpoint answers");
    let samples = parse(&scrape(port).unwrap());
    assert_eq!(
        get(
            &samples,
            "pureftpd_logins_total",
            "backend=puredb,result=accepted"
        ),
        1.0
    );
}

#[test]
fn the_endpoint_runs_confined() {
    if !common::require_root("the metrics endpoint drops root") || !tools() {
        return;
    }
    let site = Site::new();
    let Some(cert) = common::certificate(site.dir.path(), "server") else {
        return;
    };
    let (server, metrics) = with_metrics(&site, &["-Y", "1", "-2", cert.to_str().unwrap()]);
    let pid = endpoint_pid(server.pid(), metrics).expect("the endpoint is the master's child");
    // A fresh program (exec'd: a forked copy would show the master's environment here),
    // so none of the master's memory, its certificate key and ticket keys, is in it.
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let variables: Vec<&[u8]> = environ
        .split(|&b| b == 0)
        .filter(|v| !v.is_empty())
        .collect();
    assert_eq!(
        variables.len(),
        1,
        "{:?}",
        String::from_utf8_lossy(&environ)
    );
    assert!(variables[0].starts_with(b"PURE_FTPD_METRICS_ENDPOINT="));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(field("Uid").iter().all(|u| u != "0"), "{status}");
    assert!(field("Gid").iter().all(|g| g != "0"), "{status}");
    for caps in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(field(caps), ["0000000000000000"], "{caps}");
    }
    assert_eq!(field("NoNewPrivs"), ["1"]);
    // Its root is an empty directory; it holds its socket, and stdio.
    let root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert!(root.to_string_lossy().contains("(deleted)"), "{root:?}");
    let held: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|fd| fd.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) > Some(2))
        .map(|fd| {
            std::fs::read_link(fd.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(held[0].starts_with("socket:"), "{held:?}");
    // It reads the sessions' memory all the same.
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let samples = parse(&scrape(metrics).unwrap());
    assert_eq!(
        get(&samples, "pureftpd_session_max_resident_bytes_count", ""),
        1.0
    );
    assert!(get(&samples, "pureftpd_session_max_resident_bytes_sum", "") > 1e5);
    ftp.cmd("QUIT");
}

#[test]
fn a_wrong_metrics_address_stops_the_start() {
    let site = Site::new();
    let login = format!("puredb:{}", site.pdb.display());
    let run = |args: &[&str], env: Option<&str>| {
        let mut command = Command::new(OURS);
        command
            .args(["-l", &login, "-H", "-4", "-S", "127.0.0.1,0"])
            .args(args)
            .env("PURE_FTPD_SCOREBOARD", site.scoreboard());
        if let Some(value) = env {
            command.env("PURE_FTPD_METRICS", value);
        }
        let out = command.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--metrics", "9121"], None);
    assert_eq!(code, Some(252), "{stderr}");
    assert!(
        stderr.contains("--metrics: 9121 is not ADDRESS:PORT"),
        "{stderr}"
    );
    let (code, stderr) = run(&[], Some("localhost"));
    assert_eq!(code, Some(252), "{stderr}");
    assert!(stderr.contains("localhost is not ADDRESS:PORT"), "{stderr}");
    // A port someone else holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (code, stderr) = run(&["--metrics", &address], None);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("--metrics: unable to listen on {address}")),
        "{stderr}"
    );

    // Under inetd there is no master to count for all connections.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let login_arg = login.clone();
    let board = site.scoreboard();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let fd = std::os::fd::OwnedFd::from(stream);
        Command::new(OURS)
            .args(["-l", &login_arg, "-H", "-4", "--metrics", "127.0.0.1:1"])
            .env("PURE_FTPD_SCOREBOARD", &board)
            .stdin(Stdio::from(fd))
            .stderr(Stdio::null())
            .status()
            .unwrap()
    });
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut said = String::new();
    client.read_to_string(&mut said).unwrap();
    assert!(
        said.starts_with("421 Configuration error: --metrics needs the standalone server"),
        "{said}"
    );
    assert_eq!(server.join().unwrap().code(), Some(252));
}
