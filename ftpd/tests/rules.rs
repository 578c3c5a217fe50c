//! Upload and file rules: `-r` auto-rename, `-0` no truncation, `-s` anti-warez,
//! `-Z` customer proof, `-z` anonymous dot files.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;

use common::*;

fn store(ftp: &mut Ftp, name: &str, data: &[u8]) -> u16 {
    ftp.cmd("TYPE I");
    let (first, last) = ftp.upload(&format!("STOR {name}"), data);
    assert_eq!(first.code, 150, "{first:?}");
    last.map_or(0, |r| r.code)
}

#[test]
fn auto_rename_keeps_every_version_as_debian_names_them() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        let site = Site::new();
        site.put("f.txt", b"old");
        let server = site.start(binary, &["-r"]);
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        assert_eq!(store(&mut ftp, "f.txt", b"new1"), 226);
        assert_eq!(store(&mut ftp, "f.txt", b"new2"), 226);
        assert_eq!(store(&mut ftp, "g.txt", b"fresh"), 226);
        // A directory's name is taken too: the upload gets the next free one.
        assert_eq!(store(&mut ftp, "sub", b"not a dir"), 226);
        seen.push(
            ["f.txt", "f.txt.1", "f.txt.2", "g.txt", "g.txt.1", "sub.1"]
                .map(|name| String::from_utf8_lossy(&site.read(name)).into_owned()),
        );
        assert!(site.home.join("sub").is_dir());
    }
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    assert_eq!(seen[0], ["old", "new1", "new2", "fresh", "", "not a dir"]);
}

#[test]
fn no_truncate_replaces_only_with_a_complete_upload() {
    let site = Site::new();
    site.put("f.txt", b"old contents");
    let server = site.ours(&["-0"]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    // An upload cut short: the old file stays whole, no temporary file remains.
    let address = ftp.pasv();
    let mut data = TcpStream::connect(address).unwrap();
    assert_eq!(ftp.cmd("STOR f.txt").code, 150);
    data.write_all(&[b'p'; 5000]).unwrap();
    ftp.send(b"ABOR");
    drop(data);
    let aborted = ftp.reply();
    assert!(matches!(aborted.code, 426 | 451), "{aborted:?}");
    let _ = ftp.reply();
    assert_eq!(site.read("f.txt"), b"old contents");
    let leftovers: Vec<String> = std::fs::read_dir(&site.home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".pureftpd-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A complete one takes its place.
    assert_eq!(store(&mut ftp, "f.txt", b"new contents"), 226);
    assert_eq!(site.read("f.txt"), b"new contents");
    // APPE still appends. (Debian's, under -0, or after any STOU in the session, puts
    // the appended bytes in place of the file.)
    let (first, last) = ftp.upload("APPE f.txt", b"+more");
    assert_eq!((first.code, last.map(|r| r.code)), (150, Some(226)));
    assert_eq!(site.read("f.txt"), b"new contents+more");
}

/// What `SITE CHMOD` does to a file, a directory and the session's root with `flags`:
/// each command's reply code and the mode it left.
fn chmods(binary: &Path, flags: &[&str]) -> Vec<(String, u16, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    site.put("f.txt", b"x");
    std::fs::create_dir(site.home.join("d")).unwrap();
    nix::unistd::chown(
        &site.home.join("d"),
        Some(nix::unistd::Uid::from_raw(site.uid)),
        Some(nix::unistd::Gid::from_raw(site.gid)),
    )
    .unwrap();
    let server = site.start(binary, flags);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let mut seen = Vec::new();
    for (command, name) in [
        ("SITE CHMOD 000 f.txt", "f.txt"),
        ("SITE CHMOD 200 f.txt", "f.txt"),
        ("SITE CHMOD 640 f.txt", "f.txt"),
        ("SITE CHMOD 000 d", "d"),
        ("SITE CHMOD 100 d", "d"),
        ("SITE CHMOD 750 d", "d"),
        ("SITE CHMOD 000 /", ""),
        ("SITE CHMOD 555 .", ""),
        ("SITE CHMOD 755 /", ""),
    ] {
        // Each from a readable start: Pure-FTPd opens the target for reading before
        // it changes the mode (see below).
        let start = if name == "f.txt" { 0o644 } else { 0o755 };
        std::fs::set_permissions(site.home.join(name), std::fs::Permissions::from_mode(start))
            .unwrap();
        let code = ftp.cmd(command).code;
        let mode = std::fs::metadata(site.home.join(name))
            .unwrap()
            .permissions()
            .mode();
        seen.push((command.to_string(), code, mode & 0o7777));
    }
    seen
}

/// Pure-FTPd never lets a chmod lock the owner out of what the session needs, and it
/// does so by adding the owner's bits to the mode asked, replying 200: the session's
/// root keeps u+rwx; with quotas, directories keep u+rx; with -Z, files keep u+rw and
/// directories u+rwx. (Ours refused such a chmod under -Z with 550, and let the root
/// and, under quotas, directories be locked.)
#[test]
fn chmod_keeps_the_owners_bits_as_debian() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    if !require_root("the sessions chroot to the home, whose root chmod protects") {
        return;
    }
    for flags in [&[][..], &["-Z"], &["-n", "1000:1000"]] {
        let ours = chmods(Path::new(OURS), flags);
        assert_eq!(
            ours,
            chmods(&theirs, flags),
            "{flags:?}: ours (left), Debian's (right)"
        );
        let modes: Vec<u32> = ours.iter().map(|(_, _, mode)| *mode).collect();
        let expected = match flags.first() {
            None => [
                0o000, 0o200, 0o640, 0o000, 0o100, 0o750, 0o700, 0o755, 0o755,
            ],
            Some(&"-Z") => [
                0o600, 0o600, 0o640, 0o700, 0o700, 0o750, 0o700, 0o755, 0o755,
            ],
            Some(_) => [
                0o000, 0o200, 0o640, 0o500, 0o500, 0o750, 0o700, 0o755, 0o755,
            ],
        };
        assert_eq!(modes, expected, "{flags:?}: {ours:?}");
        assert!(
            ours.iter().all(|(_, code, _)| *code == 200),
            "{flags:?}: {ours:?}"
        );
    }
}

/// A deliberate difference: Pure-FTPd opens the file for reading before it changes the
/// mode, so a file its owner made unreadable (`SITE CHMOD 000`) can never be given
/// its mode back over FTP; ours changes the mode by name and can.
#[test]
fn chmod_gives_back_a_mode_the_owner_took_away() {
    use std::os::unix::fs::PermissionsExt;
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    for (binary, expected) in [
        (Path::new(OURS), (200, 0o640)),
        (theirs.as_path(), (550, 0)),
    ] {
        let site = Site::new();
        site.put("f.txt", b"x");
        let server = site.start(binary, &[]);
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        assert_eq!(ftp.cmd("SITE CHMOD 000 f.txt").code, 200);
        let code = ftp.cmd("SITE CHMOD 640 f.txt").code;
        let mode = std::fs::metadata(site.home.join("f.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!((code, mode & 0o7777), expected, "{}", binary.display());
    }
}

#[test]
fn anti_warez_as_debian() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    if !require_root("anonymous sessions chroot to the ftp account's home") {
        return;
    }
    let Some(ftp_user) = nix::unistd::User::from_name("ftp").ok().flatten() else {
        eprintln!("SKIP: no ftp account");
        return;
    };
    let home = ftp_user.dir.clone();
    std::fs::create_dir_all(&home).unwrap();
    let unique = std::process::id();
    let warez = home.join(format!("warez-{unique}.bin"));
    let fine = home.join(format!("fine-{unique}.bin"));
    std::fs::write(&warez, b"uploaded anonymously").unwrap();
    nix::unistd::chown(&warez, Some(ftp_user.uid), Some(ftp_user.gid)).unwrap();
    std::fs::write(&fine, b"from the admin").unwrap();
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        let server = Server::start(binary, &["-s", "-H", "-4"]);
        let (mut ftp, _) = Ftp::connect(server.port);
        assert_eq!(ftp.cmd("USER ftp").code, 230);
        let refused = ftp.download(&format!("RETR warez-{unique}.bin")).0;
        let allowed = ftp.download(&format!("RETR fine-{unique}.bin"));
        seen.push((refused.lines, allowed.0.code, allowed.1));
    }
    let _ = std::fs::remove_file(&warez);
    let _ = std::fs::remove_file(&fine);
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    assert_eq!(
        seen[0].0,
        [
            "550-This file has been uploaded by an anonymous user. It has not",
            "550 yet been approved for downloading by the site administrators."
        ]
    );
}

/// What an anonymous session gets for dot names: replies, downloaded bytes and the
/// names listed (dates and owners aside).
fn anonymous_dot_transcript(port: u16, area: &str) -> Vec<String> {
    let (mut ftp, _) = Ftp::connect(port);
    let mut seen = vec![ftp.cmd("USER ftp").text()];
    seen.push(ftp.cmd(&format!("CWD {area}")).text());
    ftp.cmd("TYPE I");
    for command in ["RETR .secret", "RETR .hidden/inside.txt", "SIZE .secret"] {
        if command.starts_with("RETR") {
            let (first, data, last) = ftp.download(command);
            seen.push(format!(
                "{command}: {} / {:?} / {}",
                without_joke(first.lines).join("\n"),
                String::from_utf8_lossy(&data),
                last.map(|r| r.code).unwrap_or_default()
            ));
        } else {
            seen.push(format!("{command}: {}", ftp.cmd(command).text()));
        }
    }
    // (NLST -a is left out: Debian's 1.0.50 answers it with nothing, ours lists.)
    for command in ["NLST", "NLST .hidden", "LIST -a", "LIST"] {
        let (_, data, _) = ftp.download(command);
        let mut names: Vec<String> = String::from_utf8_lossy(&data)
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap_or_default().to_string())
            .collect();
        names.sort();
        seen.push(format!("{command}: {names:?}"));
    }
    seen.push(ftp.cmd("CWD .hidden").text());
    seen.push(ftp.cmd("CDUP").text());
    // -z is about reading: writing a dot name stays refused.
    let (first, _) = ftp.upload("STOR .written", b"x");
    seen.push(format!("STOR .written: {}", first.text()));
    seen
}

#[test]
fn anonymous_dot_files_only_with_z_as_debian() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    if !require_root("anonymous sessions chroot to the ftp account's home")
        || !anonymous::account_exists("ftp")
    {
        return;
    }
    let area = anonymous::AnonArea::tagged("dots");
    std::fs::create_dir(area.path.join(".hidden")).unwrap();
    area.put(".hidden/inside.txt", b"inner\n");
    let mut seen = Vec::new();
    for flags in [&["-z"][..], &[]] {
        let mut pair = Vec::new();
        for binary in [Path::new(OURS), theirs.as_path()] {
            let args = [&["-H", "-4"][..], flags].concat();
            let server = Server::start(binary, &args);
            pair.push(anonymous_dot_transcript(server.port, &area.name));
        }
        if flags.is_empty() {
            // Deliberate difference: without -z, Debian still shows anonymous users the
            // dot names (NLST, LIST -a) and answers SIZE for them; ours hides them.
            let hidden = |line: &String| {
                ["SIZE", "NLST:", "LIST -a"]
                    .iter()
                    .any(|p| line.starts_with(p))
            };
            let ours: Vec<&String> = pair[0].iter().filter(|l| hidden(l)).collect();
            assert_eq!(
                ours,
                [
                    "SIZE .secret: 553 Prohibited file name: .secret",
                    "NLST: [\".\", \"..\", \"empty.txt\", \"nonempty.txt\", \"readme.txt\"]",
                    "LIST -a: [\"empty.txt\", \"nonempty.txt\", \"readme.txt\"]"
                ]
            );
            for transcript in &mut pair {
                transcript.retain(|l| !hidden(l));
            }
        }
        assert_eq!(pair[0], pair[1], "{flags:?}: ours (left), Debian's (right)");
        seen.push(pair.remove(0));
    }
    let (with_z, without) = (&seen[0], &seen[1]);
    assert_eq!(
        with_z[2],
        "RETR .secret: 150 Accepted data connection / \"dot\\n\" / 226"
    );
    assert_eq!(
        without[2],
        "RETR .secret: 553 Prohibited file name: .secret / \"\" / 0"
    );
    assert!(!area.path.join(".written").exists());
}

#[test]
fn banner_message_and_fortune_as_debian() {
    let Some(theirs) = oracle("pure-ftpd") else {
        return;
    };
    let mut seen = Vec::new();
    for binary in [Path::new(OURS), theirs.as_path()] {
        let site = Site::new();
        site.put(".banner", b"Welcome line 1\nline\t2\r\n");
        std::fs::write(site.home.join("sub/.message"), b"Message for sub\nsecond\n").unwrap();
        let fortunes = site.dir.path().join("fortunes");
        std::fs::write(&fortunes, b"the only fortune\nin two lines\n").unwrap();
        let fortunes = fortunes.to_str().unwrap().to_string();
        let server = site.start(binary, &["-F", &fortunes]);
        let (mut ftp, greeting) = Ftp::connect(server.port);
        ftp.cmd(&format!("USER {USER}"));
        let login = ftp.cmd(&format!("PASS {PASSWORD}"));
        let cwd = ftp.cmd("CWD sub");
        let cdup = ftp.cmd("CDUP");
        seen.push((greeting.lines, login.lines, cwd.lines, cdup.lines));
    }
    assert_eq!(seen[0], seen[1], "ours (left), Debian's (right)");
    assert_eq!(seen[0].0, ["220-the only fortune", "220 in two lines"]);
}

#[test]
fn directory_aliases_as_debian_answers_them() {
    // The replies below are Debian 1.0.50's for the same file (its path is fixed to
    // /etc/pure-ftpd/pureftpd-dir-aliases, which a test must not rewrite).
    let site = Site::new();
    let aliases = site.dir.path().join("aliases");
    std::fs::write(&aliases, "# comment\ndocs\n/sub\n\nroot\n/\n").unwrap();
    let login = format!("puredb:{}", site.pdb.display());
    let board = site.scoreboard();
    let server = Server::start_with_env(
        Path::new(OURS),
        &["-l", &login, "-H", "-4"],
        &[
            ("PURE_FTPD_SCOREBOARD", &board),
            ("PURE_FTPD_DIR_ALIASES", &aliases),
        ],
    );
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(
        ftp.cmd("SITE ALIAS").lines,
        [
            "214-The following aliases are available :",
            "214- docs /sub",
            "214- root /",
            "214  "
        ]
    );
    assert_eq!(
        ftp.cmd("CWD docs").lines,
        ["250 OK. Current directory is /sub"]
    );
    assert_eq!(
        ftp.cmd("CWD root").lines,
        ["250 OK. Current directory is /"]
    );
    assert_eq!(
        ftp.cmd("CWD nosuch").lines,
        ["550 Can't change directory to nosuch: No such file or directory"]
    );
    // A real directory wins over an alias of the same name.
    std::fs::create_dir(site.home.join("docs")).unwrap();
    assert_eq!(
        ftp.cmd("CWD docs").lines,
        ["250 OK. Current directory is /docs"]
    );
}
