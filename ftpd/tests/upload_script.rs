//! `-o` and pure-uploadscript: the program runs for each upload with Pure-FTPd's
//! environment; the server never waits for a reader; a loose pipe is refused; and
//! compatibility both ways with Debian's pure-ftpd and pure-uploadscript.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn our_uploadscript() -> PathBuf {
    pureftpd_tests::workspace_binary("pure-uploadscript", "pure-uploadscript")
}

/// A running pure-uploadscript whose program appends what it got to `ran.txt`, each
/// run ending with a line `end` (the shell writes a run in several writes: a run is
/// read only once whole).
struct Reader {
    child: Child,
    dir: tempfile::TempDir,
}

impl Reader {
    /// `pipe`: `None` for the system's default pipe.
    fn start(binary: &Path, pipe: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = dir.path().join("on-upload.sh");
        let ran = dir.path().join("ran.txt");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n{{ echo \"file=$1\"; env | grep '^UPLOAD_' | sort; echo end; echo; }} >> '{}'\n",
                ran.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut command = Command::new(binary);
        command
            .arg("-r")
            .arg(&script)
            .arg("-p")
            .arg(dir.path().join("pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(pipe) = pipe {
            command.env("PURE_FTPD_UPLOAD_PIPE", pipe);
        }
        let child = command.spawn().unwrap();
        Self { child, dir }
    }

    /// The whole runs so far, once there are `count` (at most 15 s).
    fn runs(&self, count: usize) -> Vec<String> {
        let path = self.dir.path().join("ran.txt");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let runs: Vec<String> = text
                .split("\n\n")
                .filter_map(|r| r.trim().strip_suffix("\nend"))
                .map(str::to_string)
                .collect();
            if runs.len() >= count || Instant::now() > deadline {
                return runs;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our server (or another) on `site` with `-o`, the pipe at `pipe` (None: default).
fn server_with_upload_script(site: &Site, binary: &Path, pipe: Option<&Path>) -> Server {
    let login = format!("puredb:{}", site.pdb.display());
    let board = site.scoreboard();
    let mut env: Vec<(&str, &Path)> = vec![("PURE_FTPD_SCOREBOARD", &board)];
    if let Some(pipe) = pipe {
        env.push(("PURE_FTPD_UPLOAD_PIPE", pipe));
    }
    Server::start_with_env(binary, &["-l", &login, "-H", "-4", "-o"], &env)
}

fn upload(port: u16, name: &str, size: usize) {
    let mut ftp = Ftp::login(port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let (first, last) = ftp.upload(&format!("STOR {name}"), &vec![b'u'; size]);
    assert_eq!(first.code, 150, "{first:?}");
    assert_eq!(last.unwrap().code, 226);
}

fn field<'a>(run: &'a str, key: &str) -> Option<&'a str> {
    run.lines().find_map(|l| l.strip_prefix(&format!("{key}=")))
}

#[test]
fn uploads_run_the_program_with_pure_ftpds_environment() {
    let site = Site::new();
    let pipe = site.dir.path().join("upload.pipe");
    let server = server_with_upload_script(&site, Path::new(OURS), Some(&pipe));
    let reader = Reader::start(&our_uploadscript(), Some(&pipe));
    upload(server.port, "up 1.bin", 1234);
    let runs = reader.runs(1);
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    let expected = site.home.join("up 1.bin");
    assert_eq!(
        field(run, "file"),
        Some(expected.to_str().unwrap()),
        "{run}"
    );
    assert_eq!(field(run, "UPLOAD_SIZE"), Some("1234"));
    assert_eq!(field(run, "UPLOAD_PERMS"), Some("644"));
    assert_eq!(
        field(run, "UPLOAD_UID"),
        Some(site.uid.to_string().as_str())
    );
    assert_eq!(
        field(run, "UPLOAD_GID"),
        Some(site.gid.to_string().as_str())
    );
    assert_eq!(field(run, "UPLOAD_VUSER"), Some(USER));
    let mode = std::fs::symlink_metadata(&pipe)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn the_server_never_waits_for_a_reader() {
    let site = Site::new();
    let pipe = site.dir.path().join("upload.pipe");
    // Pure-FTPd would not even listen before a reader opens the pipe.
    let server = server_with_upload_script(&site, Path::new(OURS), Some(&pipe));
    let started = Instant::now();
    for n in 0..3 {
        upload(server.port, &format!("early-{n}.bin"), 100);
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    // The records waited in the pipe for the reader.
    let reader = Reader::start(&our_uploadscript(), Some(&pipe));
    let runs = reader.runs(3);
    let files: Vec<&str> = runs.iter().filter_map(|r| field(r, "file")).collect();
    assert_eq!(files.len(), 3, "{runs:?}");
    assert!(files[2].ends_with("/early-2.bin"), "{files:?}");
}

#[test]
fn a_pipe_others_could_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("upload.pipe");
    nix::unistd::mkfifo(&pipe, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    std::fs::set_permissions(&pipe, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(our_uploadscript())
        .args(["-r", "/bin/true", "-p"])
        .arg(dir.path().join("pid"))
        .env("PURE_FTPD_UPLOAD_PIPE", &pipe)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("Insecure permissions on {}", pipe.display())),
        "{stderr}"
    );
}

#[test]
fn command_line_as_debians() {
    let Some(theirs) = oracle("pure-uploadscript") else {
        return;
    };
    if !require_root("Debian's pure-uploadscript refuses to run otherwise") {
        return;
    }
    for args in [&["-h"][..], &[], &["-x"]] {
        let ours = pureftpd_tests::run(&our_uploadscript(), args, &[], "");
        let debian = pureftpd_tests::run(&theirs, args, &[], "");
        assert_eq!(
            (ours.code, &ours.stdout),
            (debian.code, &debian.stdout),
            "{args:?}"
        );
    }
    let ours = pureftpd_tests::run(&our_uploadscript(), std::iter::empty::<&str>(), &[], "");
    assert!(
        ours.stderr
            .contains("Sorry, but I need -r <program to run>")
    );
}

#[test]
fn debians_server_and_reader_work_with_ours() {
    let (Some(their_server), Some(their_reader)) =
        (oracle("pure-ftpd"), oracle("pure-uploadscript"))
    else {
        return;
    };
    if !require_root("the system upload pipe /var/run/pure-ftpd.upload.pipe") {
        return;
    }
    // Debian's server with our reader (started first: Debian's server waits for one).
    {
        let site = Site::new();
        let reader = Reader::start(&our_uploadscript(), None);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new("/var/run/pure-ftpd.upload.pipe").exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let server = server_with_upload_script(&site, &their_server, None);
        upload(server.port, "from-debian.bin", 777);
        let runs = reader.runs(1);
        let run = runs
            .iter()
            .find(|r| r.contains("from-debian.bin"))
            .expect("a run");
        assert_eq!(field(run, "UPLOAD_SIZE"), Some("777"), "{run}");
        assert_eq!(field(run, "UPLOAD_VUSER"), Some(USER));
        assert!(
            field(run, "file")
                .unwrap()
                .ends_with("/home/from-debian.bin"),
            "{run}"
        );
    }
    // Our server with Debian's reader.
    {
        let site = Site::new();
        let server = server_with_upload_script(&site, Path::new(OURS), None);
        let reader = Reader::start(&their_reader, None);
        upload(server.port, "to-debian.bin", 555);
        let runs = reader.runs(1);
        let run = runs
            .iter()
            .find(|r| r.contains("to-debian.bin"))
            .expect("a run");
        assert_eq!(field(run, "UPLOAD_SIZE"), Some("555"), "{run}");
        assert_eq!(field(run, "UPLOAD_VUSER"), Some(USER));
        assert_eq!(
            field(run, "file"),
            Some(site.home.join("to-debian.bin").to_str().unwrap())
        );
    }
}

/// The first line of `/proc/<pid>/status` that starts with `key`, fields after it.
fn proc_status(pid: i32, key: &str) -> Vec<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn daemonized_reader_runs_the_program_as_the_given_uid_and_gid() {
    if !require_root("-u and -g switch to another user") {
        return;
    }
    let site = Site::new();
    let pipe = site.dir.path().join("upload.pipe");
    let server = server_with_upload_script(&site, Path::new(OURS), Some(&pipe));
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ran = dir.path().join("ran.txt");
    std::fs::write(&ran, "").unwrap();
    std::fs::set_permissions(&ran, std::fs::Permissions::from_mode(0o666)).unwrap();
    let script = dir.path().join("on-upload.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$1 uid=$(id -u) gid=$(id -g) groups=$(id -G)\" >> '{}'\n",
            ran.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pid_file = dir.path().join("uploadscript.pid");
    let started = Instant::now();
    let mut launched = Command::new(our_uploadscript())
        .args(["-B", "-u", "65534", "-g", "65534", "-r"])
        .arg(&script)
        .arg("-p")
        .arg(&pid_file)
        .env("PURE_FTPD_UPLOAD_PIPE", &pipe)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let launched_pid = launched.id() as i32;
    // -B: the command returns at once, the reader lives on in the background.
    assert_eq!(launched.wait().unwrap().code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "no pid file from the daemon");
        std::thread::sleep(Duration::from_millis(20));
    };
    struct Kill(i32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let pid = nix::unistd::Pid::from_raw(self.0);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
    let daemon = Kill(pid);
    // A daemon: detached from the launching command and in a session of its own, ids dropped.
    assert_ne!(pid, launched_pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_status(pid, "Uid:").first().map(String::as_str) != Some("65534") {
        assert!(Instant::now() < deadline, "{:?}", proc_status(pid, "Uid:"));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(proc_status(pid, "Uid:"), vec!["65534"; 4]);
    assert_eq!(proc_status(pid, "Gid:"), vec!["65534"; 4]);
    assert_eq!(proc_status(pid, "Groups:"), vec!["65534"]);
    let session = nix::unistd::getsid(Some(nix::unistd::Pid::from_raw(pid))).unwrap();
    assert_eq!(session.as_raw(), pid, "setsid() made it a session leader");

    upload(server.port, "daemon.bin", 10);
    let deadline = Instant::now() + Duration::from_secs(15);
    let line = loop {
        let text = std::fs::read_to_string(&ran).unwrap();
        // A whole line: written in one write, but read only once it ends.
        if text.ends_with('\n') {
            break text;
        }
        assert!(Instant::now() < deadline, "the program never ran");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        line.trim(),
        format!(
            "{} uid=65534 gid=65534 groups=65534",
            site.home.join("daemon.bin").display()
        )
    );
    // SIGTERM ends it (as nobody it cannot remove the pid file root wrote before the drop).
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(
        proc_status(pid, "State:").first().map(String::as_str),
        None | Some("Z")
    ) {
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(daemon);
}
