//! Our pure-pw against Debian's (the oracle): the same command lines give the same
//! files, outputs and exit codes; each edits the other's files; their server logs in
//! users from our database. Skips (saying so) without the oracle, unless CI requires it.

mod common;

use std::path::Path;

use common::{Scratch, mask_hashes, oracle, twice};

/// Debian's pure-pw calibrates its hash to ~1 s; `-C 64` brings that to ~0.5 s.
const CHEAP: [&str; 2] = ["-C", "64"];

/// Their scratch directory, ours, and each step's (their, our) outcome.
type Compared = (Scratch, Scratch, Vec<(common::Outcome, common::Outcome)>);

/// Runs the same command lines with both tools, each in its own directory.
fn both(steps: &[(&[&str], &str)]) -> Option<Compared> {
    let theirs_bin = oracle("pure-pw")?;
    let (theirs, ours) = (Scratch::new(), Scratch::new());
    let mut outcomes = Vec::new();
    for (args, stdin) in steps {
        let mut args = args.to_vec();
        if matches!(args.first(), Some(&"useradd") | Some(&"passwd")) {
            args.extend_from_slice(&CHEAP);
        }
        let c = theirs.run_with(&theirs_bin, &args, stdin);
        let r = ours.ours(&args, stdin);
        outcomes.push((c, r));
    }
    Some((theirs, ours, outcomes))
}

/// Outputs with the scratch directories' paths and the hashes masked.
fn normalized(s: &Scratch, text: &str) -> String {
    mask_hashes(&text.replace(s.dir.path().to_str().unwrap(), "<dir>"))
}

#[test]
fn same_command_lines_give_the_same_files_and_outputs() {
    let pw = twice("pw");
    let steps: Vec<(&[&str], &str)> = vec![
        (
            &[
                "useradd",
                "alice",
                "-u",
                "1001",
                "-g",
                "1001",
                "-d",
                "/srv/ftp/alice",
            ],
            &pw,
        ),
        (
            &[
                "useradd",
                "bob",
                "-u",
                "1002",
                "-g",
                "1002",
                "-D",
                "/home/bob/",
                "-c",
                "Bob Builder",
                "-t",
                "100",
                "-T",
                "50",
                "-n",
                "1000",
                "-N",
                "20",
                "-q",
                "1",
                "-Q",
                "10",
                "-r",
                "192.168.0.0/24,10.0.0.1",
                "-R",
                "10.1.1.1",
                "-i",
                "127.0.0.1",
                "-I",
                "192.168.1.1/32",
                "-y",
                "3",
                "-z",
                "0900-1800",
            ],
            &pw,
        ),
        (
            &["useradd", "carol", "-u", "nobody", "-d", "/srv/ftp/carol"],
            &pw,
        ),
        (&["useradd", "dave", "junk", "-u1", "-g1", "-D/d//"], &pw),
        (
            &[
                "useradd", "fr:ed", "-u", "1", "-g", "1", "-d", "/f:x", "-c", "a:b",
            ],
            &pw,
        ),
        (
            &[
                "useradd", "gina", "-u", "7", "-g", "7", "-D", "/x", "-d", "/y",
            ],
            &pw,
        ),
        (
            &[
                "usermod",
                "alice",
                "-t",
                "10",
                "-T",
                "",
                "-n",
                "5",
                "-z",
                "2200-0600",
                "-y",
                "2",
                "-c",
                "New:Gecos",
                "-D",
                "/y/",
                "-r",
                "1.2.3.4",
            ],
            "",
        ),
        (
            &[
                "usermod", "bob", "-q", "", "-Q", "3", "-y", "0", "-t", "0", "-N", "", "-I", "",
                "-z", "",
            ],
            "",
        ),
        (&["usermod", "nobody", "-u", "5"], ""),
        (&["passwd", "carol"], &pw),
        (&["show", "bob"], ""),
        (&["show", "alice"], ""),
        (&["show", "carol"], ""),
        (&["show", "nobody"], ""),
        (&["list"], ""),
        (&["list", "x"], ""),
        (&["userdel", "dave"], ""),
        (&["userdel", "dave"], ""),
        (&["useradd", "alice", "-u", "1", "-g", "1", "-d", "/a"], &pw),
        (
            &["useradd", "hank", "-u", "1", "-g", "1", "-d", "/h"],
            "a\nb\na\nb\na\nb\n",
        ),
        (&["useradd", "gina", "-X"], ""),
        (&["USERDEL"], ""),
        (&["bogus"], ""),
        (&[], ""),
    ];
    let Some((theirs, ours, outcomes)) = both(&steps) else {
        return;
    };
    for ((args, _), (c, r)) in steps.iter().zip(&outcomes) {
        assert_eq!(
            c.code, r.code,
            "exit code of {args:?}:\ntheirs {c:?}\nours {r:?}"
        );
        assert_eq!(
            normalized(&theirs, &c.stdout),
            normalized(&ours, &r.stdout),
            "stdout of {args:?}"
        );
        assert_eq!(
            normalized(&theirs, &c.stderr),
            normalized(&ours, &r.stderr),
            "stderr of {args:?}"
        );
    }
    assert_eq!(
        mask_hashes(&theirs.read("pureftpd.passwd")),
        mask_hashes(&ours.read("pureftpd.passwd"))
    );
}

#[test]
fn error_paths_on_missing_files_match() {
    let steps: Vec<(&[&str], &str)> = vec![
        (&["usermod", "bob", "-u", "5"], ""),
        (&["mkdb"], ""),
        (&["list"], ""),
        (&["userdel", "bob"], ""),
        (&["userdel", "bob", "-m"], ""),
        (&["show", "bob"], ""),
        (&["passwd", "bob"], "x\nx\n"),
    ];
    let Some((theirs, ours, outcomes)) = both(&steps) else {
        return;
    };
    for ((args, _), (c, r)) in steps.iter().zip(&outcomes) {
        assert_eq!(
            c.code, r.code,
            "exit code of {args:?}:\ntheirs {c:?}\nours {r:?}"
        );
        assert_eq!(
            normalized(&theirs, &c.stderr),
            normalized(&ours, &r.stderr),
            "stderr of {args:?}"
        );
        assert_eq!(c.stdout, r.stdout, "stdout of {args:?}");
    }
}

#[test]
fn mkdb_output_is_byte_identical() {
    let Some(theirs_bin) = oracle("pure-pw") else {
        return;
    };
    let s = Scratch::new();
    // A file written by their pure-pw, then extended by hand with awkward lines.
    for (login, extra) in [
        ("alice", vec!["-d", "/srv/alice"]),
        ("bob", vec!["-D", "/home/bob", "-y", "3", "-z", "0900-1800"]),
    ] {
        let mut args = vec!["useradd", login, "-u", "1000", "-g", "1000", "-C", "64"];
        args.extend(extra);
        assert_eq!(s.run_with(&theirs_bin, &args, &twice("pw")).code, 0);
    }
    let mut text = s.read("pureftpd.passwd");
    text.push_str(
        "# a comment\n\ncafé:$1$saltsalt$T2nUxrkg/I1j0bLwLZb/r1:5:5:Ça va:/srv/café/./\r\n",
    );
    for i in 0..500 {
        text.push_str(&format!(
            "u{i}:$6$salt$hash:{0}:{0}::/srv/u{i}/./:{i}:::::::::::\n",
            2000 + i
        ));
    }
    text.push_str("u18:duplicate:1:1::/dup\n");
    // A 19th and a 20th field (trailing colons): Debian's mkdb keeps the line.
    text.push_str("extra:$6$salt$hash:7:7::/srv/extra/./::::::::::::0900-1800::\n");
    s.write("pureftpd.passwd", &text);
    let c = s.run_with(
        &theirs_bin,
        &["mkdb", s.path("theirs.pdb").to_str().unwrap()],
        "",
    );
    let r = s.ours(&["mkdb", s.path("ours.pdb").to_str().unwrap()], "");
    assert_eq!((c.code, r.code), (0, 0), "{c:?} {r:?}");
    assert!(
        r.stderr
            .contains("has 2 field(s) after the 18th; they are ignored"),
        "{r:?}"
    );
    let (theirs, ours) = (
        std::fs::read(s.path("theirs.pdb")).unwrap(),
        std::fs::read(s.path("ours.pdb")).unwrap(),
    );
    assert!(
        theirs == ours,
        "the databases differ ({} and {} bytes)",
        theirs.len(),
        ours.len()
    );
}

#[test]
fn each_tool_edits_the_others_file() {
    let Some(theirs_bin) = oracle("pure-pw") else {
        return;
    };
    let s = Scratch::new();
    let theirs = |args: &[&str], stdin: &str| s.run_with(&theirs_bin, args, stdin);
    assert_eq!(
        theirs(
            &[
                "useradd", "a", "-u", "10", "-g", "10", "-d", "/a", "-C", "64"
            ],
            &twice("pw")
        )
        .code,
        0
    );
    assert_eq!(
        s.ours(
            &[
                "useradd", "b", "-u", "11", "-g", "11", "-d", "/b", "-y", "2"
            ],
            &twice("pw")
        )
        .code,
        0
    );
    assert_eq!(
        s.ours(&["usermod", "a", "-n", "100", "-c", "edited by ours"], "")
            .code,
        0
    );
    assert_eq!(
        theirs(&["usermod", "b", "-N", "5", "-c", "edited by theirs"], "").code,
        0
    );
    assert_eq!(
        theirs(&["userdel", "a"], "").code,
        0,
        "their userdel of our edit"
    );
    let text = s.read("pureftpd.passwd");
    assert_eq!(
        mask_hashes(&text),
        "b:<hash>:11:11:edited by theirs:/b/./:::::2::5242880:::::\n"
    );
    assert_eq!(s.ours(&["userdel", "b"], "").code, 0);
    assert_eq!(s.read("pureftpd.passwd"), "");
}

#[test]
fn their_server_logs_in_users_from_our_database() {
    let Some(server) = oracle("pure-ftpd") else {
        return;
    };
    if !pureftpd_tests::require_root(
        "running Debian's pure-ftpd (it switches to the account's uid)",
    ) {
        return;
    }
    let s = Scratch::new();
    let home = s.path("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join("hello.txt"), "hello from our pdb\n").unwrap();
    nix::unistd::chown(
        &home,
        Some(nix::unistd::Uid::from_raw(4242)),
        Some(nix::unistd::Gid::from_raw(4242)),
    )
    .unwrap();
    let out = s.ours(
        &[
            "useradd",
            "webby",
            "-u",
            "4242",
            "-g",
            "4242",
            "-d",
            home.to_str().unwrap(),
            "-m",
        ],
        &twice("s3cret pw"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let port = pureftpd_tests::free_port();
    let bind = format!("127.0.0.1,{port}");
    let pdb = format!("puredb:{}", s.pdb().display());
    let mut child = std::process::Command::new(server)
        .args(["-l", &pdb, "-S", &bind, "-E", "-H", "-4"])
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("ftp://127.0.0.1:{port}/hello.txt");
    let fetch = |user: &str| {
        let mut last = None;
        for _ in 0..50 {
            let out = std::process::Command::new("curl")
                .args(["-s", "-S", "--max-time", "10", "-u", user, &url])
                .output()
                .unwrap();
            // Curl exit 7: the server is not listening yet.
            if out.status.code() != Some(7) {
                return out;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            last = Some(out);
        }
        last.unwrap()
    };
    let good = fetch("webby:s3cret pw");
    let bad = fetch("webby:wrong");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&good.stdout),
        "hello from our pdb\n"
    );
    assert_eq!(bad.status.code(), Some(67), "curl: login denied");
}

#[test]
fn pwconvert_prints_what_theirs_prints_for_this_system() {
    let Some(theirs) = oracle("pure-pwconvert") else {
        return;
    };
    let ours = Path::new(env!("CARGO_BIN_EXE_pure-pwconvert"));
    let c = common::run(&theirs, [""; 0], &[], "");
    let r = common::run(ours, [""; 0], &[], "");
    assert_eq!((c.code, &c.stdout), (r.code, &r.stdout));
}
