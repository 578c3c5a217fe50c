//! pure-pw on temporary files: every action, its outputs and exit codes, bad input.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{OURS, Scratch, twice};
use pureftpd_account::{Password, password};

#[test]
fn useradd_writes_a_private_file_with_an_argon2id_line() {
    let s = Scratch::new();
    let out = s.ours(
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
        &twice("secret"),
    );
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "Password: \nEnter it again: \n");
    assert_eq!(out.stderr, "");
    let text = s.read("pureftpd.passwd");
    let line = text.strip_suffix('\n').unwrap();
    assert!(
        line.starts_with("alice:$argon2id$v=19$m=19456,t=2,p=1$"),
        "{line}"
    );
    assert!(
        line.ends_with(":1001:1001::/srv/ftp/alice/./::::::::::::"),
        "{line}"
    );
    let hash = line.split(':').nth(1).unwrap();
    assert_eq!(
        password::verify(&Password::from("secret"), hash.as_bytes()),
        Ok(true)
    );
    let mode = std::fs::metadata(s.passwd()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!s.path("pureftpd.passwd.tmp").exists());
}

#[test]
fn every_option_lands_in_its_field() {
    let s = Scratch::new();
    s.add(
        "bob",
        &[
            "-D",
            "/home/bob/",
            "-c",
            "Bob:B",
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
    );
    let masked = common::mask_hashes(&s.read("pureftpd.passwd"));
    assert_eq!(
        masked,
        "bob:<hash>:1001:1001:Bob_B:/home/bob:51200:102400:1:10:3:1000:20971520:\
        127.0.0.1:192.168.1.1/32:192.168.0.0/24,10.0.0.1:10.1.1.1:900-1800\n"
    );
}

#[test]
fn usermod_changes_only_what_is_given_and_moves_the_line_last() {
    let s = Scratch::new();
    s.add("u1", &["-t", "5", "-n", "7"]);
    s.add("u2", &[]);
    let before = s.read("pureftpd.passwd");
    let hash = before
        .lines()
        .next()
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap()
        .to_string();
    let out = s.ours(
        &[
            "usermod",
            "u1",
            "-t",
            "10",
            "-T",
            "",
            "-n",
            "",
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
    );
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    let after = s.read("pureftpd.passwd");
    let lines: Vec<&str> = after.lines().collect();
    assert!(lines[0].starts_with("u2:"));
    assert_eq!(
        lines[1],
        format!("u1:{hash}:1001:1001:New_Gecos:/y::10240:::2:::::1.2.3.4::2200-600")
    );
}

#[test]
fn passwd_changes_the_hash_only() {
    let s = Scratch::new();
    s.add("u1", &["-y", "4"]);
    let before = s.read("pureftpd.passwd");
    let out = s.ours(&["passwd", "u1"], &twice("new one"));
    assert_eq!(out.code, 0, "{out:?}");
    let after = s.read("pureftpd.passwd");
    assert_ne!(before, after);
    assert_eq!(common::mask_hashes(&before), common::mask_hashes(&after));
    let hash = after.split(':').nth(1).unwrap();
    assert_eq!(
        password::verify(&Password::from("new one"), hash.as_bytes()),
        Ok(true)
    );
}

#[test]
fn userdel_removes_and_mkdb_follows_with_m() {
    let s = Scratch::new();
    s.add("a", &["-m"]);
    s.add("b", &["-m"]);
    let db = puredb::FileReader::open(s.pdb()).unwrap();
    assert!(db.get(b"a").unwrap().is_some());
    let out = s.ours(&["userdel", "a", "-m"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!s.read("pureftpd.passwd").contains("a:"));
    let db = puredb::FileReader::open(s.pdb()).unwrap();
    assert!(db.get(b"a").unwrap().is_none());
    assert!(db.get(b"b").unwrap().is_some());
}

#[test]
fn show_and_list_print_the_records() {
    let s = Scratch::new();
    s.add(
        "bob",
        &[
            "-D",
            "/home/bob",
            "-c",
            "Bob",
            "-t",
            "100",
            "-N",
            "20",
            "-q",
            "1",
            "-Q",
            "10",
            "-z",
            "0900-1800",
            "-y",
            "3",
        ],
    );
    let out = s.ours(&["show", "bob"], "");
    assert_eq!(out.code, 0);
    let shown = common::mask_hashes(&out.stdout);
    assert!(
        shown.starts_with("\nLogin              : bob\nPassword           : <hash>\n"),
        "{shown}"
    );
    for line in [
        "Download bandwidth : 100 Kb (enabled)",
        "Upload   bandwidth : 0 Kb (unlimited)",
        "Max size           : 20 Mb (enabled)",
        "Ratio              : 1:10 (enabled:enabled)",
        "Allowed local  IPs : \n",
        "Time restrictions  : 0900-1800 (enabled)",
        "Max sim sessions   : 3 (enabled)\n\n",
    ] {
        assert!(shown.contains(line), "missing [{line}] in\n{shown}");
    }
    let out = s.ours(&["list"], "");
    assert_eq!(out.stdout, "bob\t/home/bob\tBob\n");
}

#[test]
fn show_prints_a_dash_for_fields_a_short_line_lacks() {
    let s = Scratch::new();
    s.write("pureftpd.passwd", "short:hash:5:6:gecos:/srv/short/./\n");
    let out = s.ours(&["show", "short"], "");
    assert!(
        out.stdout.contains("Allowed local  IPs : -\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Directory          : /srv/short/./\n"));
}

#[test]
fn mkdb_uses_the_word_after_it_then_the_environment() {
    let s = Scratch::new();
    s.add("a", &[]);
    let explicit = s.path("explicit.pdb");
    assert_eq!(s.ours(&["mkdb", explicit.to_str().unwrap()], "").code, 0);
    assert!(explicit.exists());
    assert_eq!(s.ours(&["mkdb"], "").code, 0);
    assert!(s.pdb().exists());
    let mode = std::fs::metadata(s.pdb()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The C tool's quirk: `mkdb -F x` writes a database named "-F".
    let status = std::process::Command::new(OURS)
        .args(["mkdb", "-F", "x"])
        .env("PURE_PASSWDFILE", s.passwd())
        .current_dir(s.dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(s.path("-F").exists());
}

#[test]
fn exit_codes_and_messages_match_pure_ftpd() {
    let s = Scratch::new();
    let cases: [(&[&str], i32, &str); 14] = [
        (&["useradd"], 1, "Missing login\n"),
        (
            &["useradd", "bob"],
            32,
            "You must give (non-root) uid and gid\n",
        ),
        (
            &["useradd", "bob", "-u", "5"],
            32,
            "You must give (non-root) uid and gid\n",
        ),
        (
            &["useradd", "bob", "-u", "5", "-g", "5"],
            64,
            "Missing home directory\n",
        ),
        (
            &["useradd", "bob", "-u", "0", "-g", "5", "-d", "/x"],
            32,
            "You must give (non-root) uid and gid\n",
        ),
        (
            &["useradd", "bob", "-u", "5", "-u", "6"],
            1,
            "You already gave an uid\n",
        ),
        (
            &["useradd", "bob", "-g", "5", "-g", "6"],
            1,
            "You already gave a gid\n",
        ),
        (
            &["useradd", "bob", "-d", ""],
            1,
            "home directory is missing\n",
        ),
        (&["useradd", "bob", "-q", "0"], 1, "Illegal upload ratio\n"),
        (
            &["useradd", "bob", "-Q", "0"],
            1,
            "Illegal download ratio\n",
        ),
        (
            &["useradd", "bob", "-z", "2500-1000"],
            1,
            "Time should be given as hhmm-hhmm\nExample : 0900-1800 (9 am to 6 pm)\n",
        ),
        (
            &["useradd", "bob", "-C", "0"],
            1,
            "number of concurrent logins must be at least 1\n",
        ),
        (&["userdel"], 255, "Missing login\n"),
        (&["show"], 1, "Missing login\n"),
    ];
    for (args, code, stderr) in cases {
        let out = s.ours(args, "");
        assert_eq!((out.code, out.stderr.as_str()), (code, stderr), "{args:?}");
    }
    let path = s.passwd();
    let missing = format!(
        "Unable to open the passwd file: No such file or directory\nUnable to fetch info about user [x] in file [{}]\n",
        path.display()
    );
    let out = s.ours(&["usermod", "x", "-u", "5"], "");
    assert_eq!((out.code, out.stderr), (16, missing));
    assert_eq!(s.ours(&["mkdb"], "").code, 2);
    assert_eq!(s.ours(&["list"], "").code, 2);
    let out = s.ours(&["userdel", "x", "-m"], "");
    assert_eq!(out.code, 6, "userdel's 4 OR mkdb's 2: {out:?}");
}

#[test]
fn usage_is_printed_for_help_and_unknown_input() {
    let s = Scratch::new();
    let usage = s.ours(&[], "");
    assert_eq!(usage.code, 0);
    assert!(
        usage
            .stdout
            .starts_with("\nUsage :\n\npure-pw useradd <login>")
    );
    assert!(usage.stdout.ends_with("use -z 0900-1800\n\n\n"));
    for args in [&["-h"][..], &["bogus"], &["useradd", "x", "-h"]] {
        assert_eq!(s.ours(args, "").stdout, usage.stdout, "{args:?}");
    }
    let out = s.ours(&["useradd", "gina", "-X"], "");
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (0, "gina: invalid option -- 'X'\n")
    );
    assert_eq!(out.stdout, usage.stdout);
    assert!(!s.passwd().exists());
}

#[test]
fn password_entry_failures_exit_8() {
    let s = Scratch::new();
    let args = ["useradd", "a", "-u", "1", "-g", "1", "-d", "/a"];
    let out = s.ours(&args, "one\ntwo\none\ntwo\none\ntwo\n");
    assert_eq!(out.code, 8);
    assert_eq!(
        out.stdout
            .matches("You didn't enter the same password\n")
            .count(),
        3
    );
    assert_eq!(out.stderr, "Error with entering password - aborting\n");
    assert_eq!(s.ours(&args, "only once\n").code, 8);
    assert!(!s.passwd().exists());
}

#[test]
fn an_existing_login_is_refused_and_nothing_changes() {
    let s = Scratch::new();
    s.add("alice", &[]);
    let before = s.read("pureftpd.passwd");
    let out = s.ours(
        &["useradd", "alice", "-u", "5", "-g", "5", "-d", "/x"],
        &twice("pw"),
    );
    assert_eq!(out.code, 4);
    assert_eq!(
        out.stderr,
        format!(
            "Error.\nCheck that [alice] doesn't already exist,\nand that [{}.tmp] can be written.\n",
            s.passwd().display()
        )
    );
    assert_eq!(s.read("pureftpd.passwd"), before);
}

#[test]
fn junk_values_are_refused_where_pure_ftpd_would_mangle_them() {
    let s = Scratch::new();
    for (flag, value) in [
        ("-u", "12abc"),
        ("-u", "-1"),
        ("-t", "1.9"),
        ("-n", "12x"),
        ("-y", "-3"),
        ("-r", "10.0.0.300"),
        ("-r", "::1"),
        ("-N", "3.5"),
    ] {
        let mut args = vec!["useradd", "ivan", "-u", "12", "-g", "2", "-d", "/h"];
        if flag == "-u" {
            args.truncate(2);
            args.extend(["-g", "2", "-d", "/h"]);
        }
        args.extend([flag, value]);
        let out = s.ours(&args, &twice("pw"));
        assert_ne!(out.code, 0, "{args:?} was accepted");
        assert!(!out.stderr.is_empty(), "{args:?} gave no reason");
    }
    let out = s.ours(
        &["useradd", "a\nb", "-u", "1", "-g", "1", "-d", "/a"],
        &twice("pw"),
    );
    assert_eq!(out.code, 1, "a login with a line break: {out:?}");
    assert!(!s.passwd().exists());
}

#[test]
fn a_malformed_line_stops_edits_and_mkdb_and_names_the_line() {
    let s = Scratch::new();
    let text = "# comment\n\ngood:hash:1:1::/g\nbad:hash:0:1::/b\nalso:hash:2:2::/a\n";
    s.write("pureftpd.passwd", text);
    s.write("pureftpd.pdb", "previous database");
    let expected = format!("{}, line 4: field 3 (uid)", s.passwd().display());
    for args in [
        &["mkdb"][..],
        &["usermod", "good", "-y", "3"],
        &["userdel", "also"],
        &["useradd", "new", "-u", "3", "-g", "3", "-d", "/n"],
    ] {
        let out = s.ours(args, &twice("pw"));
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains(&expected), "{args:?}: {}", out.stderr);
        assert_eq!(s.read("pureftpd.passwd"), text, "{args:?} changed the file");
        assert_eq!(
            s.read("pureftpd.pdb"),
            "previous database",
            "{args:?} touched the database"
        );
    }
    // Read-only commands warn and go on.
    let out = s.ours(&["list"], "");
    assert_eq!(out.stdout, "good\t/g\t\nalso\t/a\t\n");
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    assert_eq!(s.ours(&["show", "also"], "").code, 0);
}

#[test]
fn lines_other_than_the_edited_one_are_kept_byte_for_byte() {
    let s = Scratch::new();
    let text = "# keep me\r\nother:hash:1:1:x y:/o/./:0:::::::::::\r\n\nalice:old:1:1::/a\n";
    s.write("pureftpd.passwd", text);
    let out = s.ours(&["usermod", "alice", "-u", "7"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        s.read("pureftpd.passwd"),
        "# keep me\r\nother:hash:1:1:x y:/o/./:0:::::::::::\r\n\nalice:old:7:1::/a::::::::::::\n"
    );
}

#[test]
fn twenty_concurrent_useradds_keep_twenty_users() {
    let s = Scratch::new();
    let passwd = s.passwd();
    let children: Vec<_> = (0..20)
        .map(|i| {
            let mut child = std::process::Command::new(OURS)
                .args([
                    "useradd",
                    &format!("user{i}"),
                    "-u",
                    "1000",
                    "-g",
                    "1000",
                    "-d",
                    "/srv/u",
                ])
                .env("PURE_PASSWDFILE", &passwd)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(twice("pw").as_bytes())
                .unwrap();
            child
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = s.read("pureftpd.passwd");
    for i in 0..20 {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("user{i}:"))),
            "user{i} lost"
        );
    }
    assert_eq!(text.lines().count(), 20);
}

/// A `.tmp` left by a killed edit no longer blocks every later edit (Pure-FTPd's
/// pure-pw refuses them all until it is removed by hand): once unchanged for 3 s it is
/// stale, and removed. One that keeps changing is someone else's edit at work: the
/// edit fails cleanly, with advice, and nothing is changed.
#[test]
fn a_leftover_tmp_file_is_cleared_and_a_live_one_waited_for() {
    let s = Scratch::new();
    s.add("a", &[]);
    s.write("pureftpd.passwd.tmp", "crashed pure-pw");
    let out = s.ours(&["usermod", "a", "-y", "2"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        s.read("pureftpd.passwd").contains(":2:"),
        "the edit was made"
    );
    assert!(!s.path("pureftpd.passwd.tmp").exists());

    let before = s.read("pureftpd.passwd");
    let tmp = s.path("pureftpd.passwd.tmp");
    // There before pure-pw starts: the writer thread's first write could come after
    // pure-pw looked, on a busy machine, and pure-pw would rightly find no edit at work.
    std::fs::write(&tmp, "another tool writing").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (tmp, stop) = (tmp.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::write(&tmp, "another tool writing");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    };
    let out = s.ours(&["usermod", "a", "-y", "3"], "");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(out.code, 4);
    assert!(
        out.stderr
            .starts_with("Error.\nCheck that [a] already exists,"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("remove it"), "{}", out.stderr);
    assert_eq!(s.read("pureftpd.passwd"), before);
}

#[test]
fn a_killed_mkdb_never_leaves_a_torn_database() {
    let s = Scratch::new();
    let mut big = String::new();
    for i in 0..60_000 {
        big.push_str(&format!(
            "user{i}:$1$saltsalt$T2nUxrkg/I1j0bLwLZb/r1:{0}:{0}::/srv/u{i}/./::::::::::::\n",
            1000 + i
        ));
    }
    s.write("pureftpd.passwd", "old:hash:1:1::/o\n");
    assert_eq!(s.ours(&["mkdb"], "").code, 0);
    s.write("pureftpd.passwd", &big);
    for delay_ms in [1u64, 5, 10, 20, 40] {
        let mut child = std::process::Command::new(OURS)
            .arg("mkdb")
            .env("PURE_PASSWDFILE", s.passwd())
            .env("PURE_DBFILE", s.pdb())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let db = puredb::FileReader::open(s.pdb()).unwrap();
        let records = db.verify().unwrap().records;
        assert!(
            records == 1 || records == 60_000,
            "a torn database with {records} records"
        );
    }
    let leftovers = std::fs::read_dir(s.dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    // A killed writer may leave its private temporary file, never a damaged database.
    assert!(leftovers <= 5);
}
