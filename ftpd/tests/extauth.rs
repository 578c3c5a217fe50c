//! `-l extauth:` with pure-authd: shell-script authenticators, the chain semantics of
//! `auth_ok`, the request and environment byte for byte, robustness (hanging,
//! crashing, chatty scripts, a missing socket), and compatibility both ways with
//! Debian's pure-authd and pure-ftpd.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::bridge::{Daemon, our_authd};
use common::*;

/// A handler that records its environment, working directory and umask in `env.txt`
/// beside itself, and answers per account:
/// joe (`pass:word`) ok with a chroot `/./`; alice -> 0 (not mine); bob -> -1;
/// garbage -> no `end`; root -> uid 0; slow -> sleeps; chatty -> 5000 bytes;
/// crash -> killed by a signal; max1 -> ok with `per_user_max:1`.
fn handler(site: &Site) -> String {
    let ok = format!(
        "printf 'auth_ok:1\\nuid:{}\\ngid:{}\\ndir:{}/./\\n' ",
        site.uid,
        site.gid,
        site.home.display()
    );
    format!(
        r#"dir=$(dirname "$0")
{{ env | grep '^AUTHD_' | sort; echo "cwd=$(pwd)"; echo "umask=$(umask)"; }} > "$dir/env.txt"
case "$AUTHD_ACCOUNT" in
  joe) if [ "$AUTHD_PASSWORD" = 'pass:word' ]; then {ok}; echo end; else printf 'auth_ok:-1\nend\n'; fi ;;
  alice) printf 'auth_ok:0\nend\n' ;;
  bob) printf 'auth_ok:-1\nend\n' ;;
  garbage) printf 'auth_ok:1\nuid:1\n' ;;
  root) printf 'auth_ok:1\nuid:0\ngid:0\ndir:/\nend\n' ;;
  slow) sleep 30 & echo $! > "$dir/sleeper.pid"; wait; printf 'auth_ok:0\nend\n' ;;
  chatty) head -c 5000 /dev/zero | tr '\0' x; {ok}; echo end ;;
  crash) {ok}; echo end; kill -SEGV $$ ;;
  max1) {ok}; echo per_user_max:1; echo end ;;
  *) printf 'auth_ok:0\nend\n' ;;
esac"#
    )
}

/// The PASS reply for a fresh session (USER first).
fn pass_code(port: u16, user: &str, password: &str) -> u16 {
    let (mut ftp, _) = Ftp::connect(port);
    let reply = ftp.cmd(&format!("USER {user}"));
    if reply.code != 331 {
        return reply.code;
    }
    ftp.cmd(&format!("PASS {password}")).code
}

fn extauth(daemon: &Daemon) -> String {
    format!("extauth:{}", daemon.socket.display())
}

#[test]
fn scripts_decide_logins_with_pure_ftpds_environment() {
    let site = Site::new();
    let authd = Daemon::start(&our_authd(), &handler(&site), &[]);
    let login = extauth(&authd);
    let server = site.ours(&["-l", &login]);

    let mut joe = Ftp::login(server.port, "joe", "pass:word");
    // dir:<home>/./ chroots when root; either way the session starts in the home.
    let pwd = joe.cmd("PWD");
    if is_root() {
        assert!(pwd.text().contains("\"/\""), "{pwd:?}");
    } else {
        assert!(
            pwd.text().contains(&site.home.display().to_string()),
            "{pwd:?}"
        );
    }
    let env = std::fs::read_to_string(authd.dir.path().join("env.txt")).unwrap();
    assert_eq!(
        env,
        format!(
            "AUTHD_ACCOUNT=joe\nAUTHD_ENCRYPTED=0\nAUTHD_LOCAL_IP=127.0.0.1\n\
             AUTHD_LOCAL_PORT={}\nAUTHD_PASSWORD=pass:word\nAUTHD_REMOTE_IP=127.0.0.1\n\
             cwd=/\numask=0077\n",
            server.port
        )
    );
    assert_eq!(pass_code(server.port, "joe", "wrong"), 530);

    // The socket is private to the daemon's user; the pid file names the daemon.
    let mode = std::fs::metadata(&authd.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let pid = std::fs::read_to_string(&authd.pid_file).unwrap();
    assert_eq!(pid.trim(), authd.pid().to_string());
}

#[test]
fn auth_ok_drives_the_chain_as_in_pure_ftpd() {
    let site = Site::new();
    // bob is in the .pdb too, with a good password: -1 must stop the chain before it.
    site.write_accounts("/./", &[("bob", "bob pw"), ("root", "root pw")]);
    let authd = Daemon::start(&our_authd(), &handler(&site), &[]);
    let login = extauth(&authd);
    let pdb = format!("puredb:{}", site.pdb.display());
    let server = Server::start(Path::new(OURS), &["-l", &login, "-l", &pdb, "-H", "-4"]);

    // 0: not known to the script, so the .pdb decides.
    assert_eq!(pass_code(server.port, USER, PASSWORD), 230);
    // -1: refused, and the .pdb is not asked.
    assert_eq!(pass_code(server.port, "bob", "bob pw"), 530);
    // No `end`, or uid 0 with auth_ok:1: refused, not passed on.
    assert_eq!(pass_code(server.port, "garbage", "x"), 530);
    assert_eq!(pass_code(server.port, "root", "root pw"), 530);
}

#[test]
fn broken_scripts_refuse_the_login_and_the_daemon_says_why() {
    let site = Site::new();
    let authd = Daemon::start(&our_authd(), &handler(&site), &[]);
    let login = extauth(&authd);
    let server = site.ours(&["-l", &login]);
    // More than 4095 bytes: refused whole rather than cut (the cut could end in a
    // valid reply).
    assert_eq!(pass_code(server.port, "chatty", "x"), 530);
    // A crash after a complete reply: the reply stands, the crash is logged.
    assert_eq!(pass_code(server.port, "crash", "x"), 230);
    // The daemon still serves.
    assert_eq!(pass_code(server.port, "joe", "pass:word"), 230);
    let log = authd.stderr();
    assert!(
        log.contains("[chatty]: the script printed more than 4095 bytes"),
        "{log}"
    );
    assert!(
        log.contains("[crash]: the script was killed by signal 11"),
        "{log}"
    );
    assert!(
        !log.contains("pass:word"),
        "the log shows a password: {log}"
    );
}

#[test]
fn a_hanging_script_is_killed_and_does_not_stall_other_logins() {
    let site = Site::new();
    let authd = Daemon::start(&our_authd(), &handler(&site), &["-t", "3"]);
    let login = extauth(&authd);
    let server = site.ours(&["-l", &login]);
    let port = server.port;
    let started = Instant::now();
    let slow = std::thread::spawn(move || pass_code(port, "slow", "x"));
    std::thread::sleep(Duration::from_millis(300));
    // Served while the slow script runs (Pure-FTPd's daemon would wait for it).
    let quick = Instant::now();
    assert_eq!(pass_code(port, "joe", "pass:word"), 230);
    assert!(
        quick.elapsed() < Duration::from_secs(2),
        "a login waited {:?} behind the slow script",
        quick.elapsed()
    );
    assert_eq!(slow.join().unwrap(), 530);
    assert!(started.elapsed() < Duration::from_secs(25));
    // The script's own child was killed with it.
    let sleeper = std::fs::read_to_string(authd.dir.path().join("sleeper.pid")).unwrap();
    let proc_dir = Path::new("/proc").join(sleeper.trim());
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc_dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !proc_dir.exists(),
        "the script's child survived the timeout"
    );
    assert!(
        authd.stderr().contains("[slow]: killed after 3 s"),
        "{}",
        authd.stderr()
    );
}

#[test]
fn per_user_max_limits_concurrent_sessions() {
    let site = Site::new();
    let authd = Daemon::start(&our_authd(), &handler(&site), &[]);
    let login = extauth(&authd);
    let server = site.ours(&["-l", &login]);
    let _first = Ftp::login(server.port, "max1", "x");
    let (mut second, _) = Ftp::connect(server.port);
    second.cmd("USER max1");
    let refused = second.cmd("PASS x");
    assert_eq!(refused.code, 421, "{refused:?}");
}

#[test]
fn an_unreachable_socket_passes_to_the_next_backend() {
    let site = Site::new();
    let gone = site.dir.path().join("no-daemon-here");
    let login = format!("extauth:{}", gone.display());
    let pdb = format!("puredb:{}", site.pdb.display());
    let server = Server::start(Path::new(OURS), &["-l", &login, "-l", &pdb, "-H", "-4"]);
    // Pure-FTPd's 10 tries, 1 s apart, then the .pdb.
    let started = Instant::now();
    assert_eq!(pass_code(server.port, USER, PASSWORD), 230);
    assert!(started.elapsed() >= Duration::from_secs(9));
}

#[test]
fn a_request_without_end_runs_nothing() {
    use std::io::{Read, Write};
    let site = Site::new();
    let authd = Daemon::start(&our_authd(), &handler(&site), &[]);
    let mut stream = std::os::unix::net::UnixStream::connect(&authd.socket).unwrap();
    stream
        .write_all(b"account:joe\npassword:pass:word\n")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    assert!(reply.is_empty(), "{}", String::from_utf8_lossy(&reply));
    assert!(!authd.dir.path().join("env.txt").exists(), "the script ran");
}

#[test]
fn sigterm_removes_the_socket_and_the_pid_file() {
    let site = Site::new();
    let mut authd = Daemon::start(&our_authd(), &handler(&site), &[]);
    assert!(authd.pid_file.exists());
    assert_eq!(authd.terminate(), Some(0));
    assert!(!authd.socket.exists());
    assert!(!authd.pid_file.exists());
}

#[test]
fn a_path_that_is_not_a_socket_is_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("precious");
    std::fs::write(&precious, "data").unwrap();
    let outcome = pureftpd_tests::run(
        &our_authd(),
        [
            "-s".as_ref(),
            precious.as_os_str(),
            "-r".as_ref(),
            "/bin/true".as_ref(),
            "-p".as_ref(),
            dir.path().join("pid").as_os_str(),
        ],
        &[],
        "",
    );
    assert_eq!(outcome.code, 1);
    assert!(
        outcome.stderr.contains("is not a socket"),
        "{}",
        outcome.stderr
    );
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "data");
}

#[test]
fn command_line_mistakes_get_debians_messages() {
    let Some(theirs) = oracle("pure-authd") else {
        return;
    };
    if !require_root("comparing with Debian's pure-authd (it refuses to run otherwise)") {
        return;
    }
    for args in [
        &["-h"][..],
        &["--help"],
        &["-s", "/tmp/x"],
        &["-s", "/tmp/x", "-r", "relative"],
        &["-r", "/bin/true"],
    ] {
        let ours = pureftpd_tests::run(&our_authd(), args, &[], "");
        let debian = pureftpd_tests::run(&theirs, args, &[], "");
        assert_eq!(ours.code, debian.code, "{args:?}");
        assert_eq!(ours.stderr, debian.stderr, "{args:?}");
        // Our help lists two more options (-n, -t); Debian's lines come first, unchanged.
        for line in debian.stdout.lines() {
            assert!(ours.stdout.contains(line), "{args:?}: {line:?} missing");
        }
    }
    let ours = pureftpd_tests::run(&our_authd(), ["-u", "0x", "-r", "/x"], &[], "");
    assert!(ours.stderr.starts_with("Illegal UID - Must be a number"));
}

#[test]
fn debians_pure_ftpd_logs_in_through_our_pure_authd() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    let site = Site::new();
    let authd = Daemon::start(&our_authd(), &handler(&site), &[]);
    let login = extauth(&authd);
    let server = Server::start(&theirs, &["-l", &login, "-H", "-4"]);
    assert_eq!(pass_code(server.port, "joe", "pass:word"), 230);
    let env = std::fs::read_to_string(authd.dir.path().join("env.txt")).unwrap();
    assert!(env.contains("AUTHD_PASSWORD=pass:word\n"), "{env}");
    assert!(
        env.contains(&format!("AUTHD_LOCAL_PORT={}\n", server.port)),
        "{env}"
    );
    assert_eq!(pass_code(server.port, "bob", "x"), 530);
}

#[test]
fn our_pure_ftpd_logs_in_through_debians_pure_authd() {
    let Some(theirs) = oracle("pure-authd") else {
        return;
    };
    if !require_root("Debian's pure-authd") {
        return;
    }
    let site = Site::new();
    let authd = Daemon::start(&theirs, &handler(&site), &[]);
    let login = extauth(&authd);
    let server = site.ours(&["-l", &login]);
    assert_eq!(pass_code(server.port, "joe", "pass:word"), 230);
    assert_eq!(pass_code(server.port, "bob", "x"), 530);
    let env = std::fs::read_to_string(authd.dir.path().join("env.txt")).unwrap();
    // Both daemons give the script the same environment for our request.
    assert!(
        env.starts_with("AUTHD_ACCOUNT=bob\nAUTHD_ENCRYPTED=0\n"),
        "{env}"
    );
}

#[test]
fn both_daemons_give_scripts_the_same_environment() {
    let Some(theirs) = oracle("pure-authd") else {
        return;
    };
    if !require_root("Debian's pure-authd") {
        return;
    }
    use std::io::{Read, Write};
    let site = Site::new();
    let request = b"account:joe\npassword:pass:word\nlocalhost:::1\nlocalport:21\n\
                    peer:10.0.0.1\nsni_name:ftp.example.com\nencrypted:1\nend\n";
    let mut seen = Vec::new();
    for binary in [our_authd(), theirs] {
        let authd = Daemon::start(&binary, &handler(&site), &[]);
        let mut stream = std::os::unix::net::UnixStream::connect(&authd.socket).unwrap();
        stream.write_all(request).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        let env = std::fs::read_to_string(authd.dir.path().join("env.txt")).unwrap();
        seen.push((String::from_utf8(reply).unwrap(), env));
    }
    assert_eq!(seen[0], seen[1]);
    assert!(
        seen[0]
            .1
            .contains("AUTHD_CLIENT_SNI_NAME=ftp.example.com\n")
    );
    assert!(seen[0].0.starts_with("auth_ok:1\n"));
}

#[test]
fn two_hundred_logins_from_twenty_clients_with_a_slow_account() {
    let site = Site::new();
    let slow_handler = handler(&site).replace(
        "  slow) sleep 30 &",
        "  slowish) sleep 2; printf 'auth_ok:-1\\nend\\n' ;;\n  slow) sleep 30 &",
    );
    let authd = Daemon::start(&our_authd(), &slow_handler, &[]);
    let login = extauth(&authd);
    let server = site.ours(&["-l", &login, "-c", "50", "-C", "50"]);
    let port = server.port;
    let started = Instant::now();
    let clients: Vec<_> = (0..20)
        .map(|client| {
            std::thread::spawn(move || {
                let mut results = Vec::new();
                for attempt in 0..10 {
                    let slow = client == 0 && attempt == 0;
                    let user = if slow { "slowish" } else { "joe" };
                    let (mut ftp, _) = Ftp::connect(port);
                    ftp.cmd(&format!("USER {user}"));
                    let code = ftp.cmd("PASS pass:word").code;
                    let _ = ftp.cmd("QUIT");
                    results.push((slow, code));
                }
                results
            })
        })
        .collect();
    let mut count = 0;
    for client in clients {
        for (slow, code) in client.join().unwrap() {
            assert_eq!(code, if slow { 530 } else { 230 });
            count += 1;
        }
    }
    assert_eq!(count, 200);
    let elapsed = started.elapsed();
    eprintln!(
        "200 logins through pure-authd, 20 clients: {:.1} logins/s",
        200.0 / elapsed.as_secs_f64()
    );
}

#[test]
fn tls_sessions_tell_the_script_encrypted_and_the_server_name() {
    let site = Site::new();
    let Some(cert) = certificate(site.dir.path(), "server") else {
        return;
    };
    let authd = Daemon::start(&our_authd(), &handler(&site), &[]);
    let login = extauth(&authd);
    let cert = cert.to_str().unwrap().to_string();
    let server = site.ours(&["-l", &login, "-Y", "1", "-2", &cert]);
    let host = format!("ftp.example.com:{}:127.0.0.1", server.port);
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "-k",
            "--ssl-reqd",
            "--resolve",
            &host,
            "-u",
            "joe:pass:word",
        ])
        .arg(format!("ftp://ftp.example.com:{}/", server.port))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = std::fs::read_to_string(authd.dir.path().join("env.txt")).unwrap();
    assert!(env.contains("AUTHD_ENCRYPTED=1\n"), "{env}");
    assert!(
        env.contains("AUTHD_CLIENT_SNI_NAME=ftp.example.com\n"),
        "{env}"
    );
}

/// Sends a request straight to a daemon's socket and returns the reply.
fn ask(socket: &Path, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    stream.write_all(request).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    String::from_utf8(reply).unwrap()
}

const JOE: &[u8] = b"account:joe\npassword:pw\nlocalhost:127.0.0.1\nlocalport:21\n\
                     peer:127.0.0.1\nsni_name:\nencrypted:0\nend\n";

#[test]
fn privileges_are_dropped_after_the_socket_is_made() {
    use std::os::unix::fs::MetadataExt;
    if !require_root("-u and -g") {
        return;
    }
    let ids = "printf 'auth_ok:1\\nuid:%s\\ngid:%s\\ngroups:%s\\ndir:/\\nend\\n' \
               \"$(id -u)\" \"$(id -g)\" \"$(id -G)\"";
    let authd = Daemon::start(&our_authd(), ids, &["-u", "4242", "-g", "4343"]);
    let meta = std::fs::metadata(&authd.socket).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o600));
    let reply = ask(&authd.socket, JOE);
    assert!(
        reply.starts_with("auth_ok:1\nuid:4242\ngid:4343\ngroups:4343\n"),
        "{reply}"
    );
}

#[test]
fn daemonize_detaches_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("handler.sh");
    std::fs::write(&script, "#!/bin/sh\nprintf 'auth_ok:-1\\nend\\n'\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (socket, pid_file) = (dir.path().join("s"), dir.path().join("pid"));
    let started = std::process::Command::new(our_authd())
        .arg("-B")
        .arg("-s")
        .arg(&socket)
        .arg("-r")
        .arg(&script)
        .arg("-p")
        .arg(&pid_file)
        .status()
        .unwrap();
    // The command returns at once; the daemon lives on in the background.
    assert!(started.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(socket.exists() && pid_file.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let reply = ask(&socket, JOE);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    );
    assert_eq!(reply, "auth_ok:-1\nend\n");
    while socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!socket.exists(), "SIGTERM left the socket");
}

#[test]
fn scripts_inherit_no_descriptor_of_the_daemons_parent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let seen = dir.path().join("fds.txt");
    let body = format!(
        "ls /proc/$$/fd > '{}'\nprintf 'auth_ok:0\\nend\\n'",
        seen.display()
    );
    // Descriptors without close-on-exec, as a careless parent would pass them.
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    let leaked: Vec<String> = [&read_end, &write_end]
        .iter()
        .map(|fd| std::os::fd::AsRawFd::as_raw_fd(*fd).to_string())
        .collect();
    let authd = Daemon::start(&our_authd(), &body, &[]);
    drop((read_end, write_end));
    let reply = ask(&authd.socket, JOE);
    assert_eq!(reply, "auth_ok:0\nend\n");
    let fds = std::fs::read_to_string(&seen).unwrap();
    for fd in &leaked {
        assert!(
            !fds.split_whitespace().any(|f| f == fd),
            "descriptor {fd} reached the script: {fds}"
        );
    }
}
