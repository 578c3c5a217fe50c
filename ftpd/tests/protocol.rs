//! Our server driven by a raw client: Pure-FTPd's replies for each command family.

mod common;

use common::{Ftp, PASSWORD, Site, USER};

#[test]
fn greeting_and_commands_before_login() {
    let site = Site::new();
    let server = site.ours(&["-c", "7"]);
    let (mut ftp, greeting) = Ftp::connect(server.port);
    assert_eq!(greeting.code, 220);
    assert_eq!(
        greeting.lines[0],
        "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------"
    );
    // The number counts sessions still running (the fixture's own probe may be one).
    let number = &greeting.lines[1];
    assert!(
        number.starts_with("220-You are user number ") && number.ends_with(" of 7 allowed."),
        "{number}"
    );
    assert!(
        greeting.lines[2].starts_with("220-Local time is now "),
        "{greeting:?}"
    );
    assert!(greeting.lines[2].ends_with(&format!("Server port: {}.", server.port)));
    assert_eq!(
        greeting.lines.last().unwrap(),
        "220 You will be disconnected after 15 minutes of inactivity."
    );
    assert_eq!(ftp.cmd("SYST").text(), "215 UNIX Type: L8");
    assert_eq!(ftp.cmd("NOOP").text(), "200 Zzz...");
    assert_eq!(ftp.cmd("PWD").text(), "530 You aren't logged in");
    assert_eq!(ftp.cmd("LIST").text(), "530 You aren't logged in");
    assert_eq!(ftp.cmd("BOGUS").text(), "530 You aren't logged in");
    assert_eq!(ftp.cmd("ACCT x").text(), "202 Please tell me who you are");
    assert_eq!(ftp.cmd("PASS x").text(), "530 Please tell me who you are");
    let feat = ftp.cmd("FEAT");
    assert_eq!(feat.lines.first().unwrap(), "211-Extensions supported:");
    assert!(feat.lines.contains(
        &" MLST type*;size*;sizd*;modify*;UNIX.mode*;UNIX.uid*;UNIX.gid*;unique*;".to_string()
    ));
    assert_eq!(feat.lines.last().unwrap(), "211 End.");
    let help = ftp.cmd("HELP");
    assert_eq!(
        help.text(),
        "214-The following SITE commands are recognized\n ALIAS\n CHMOD\n IDLE\n UTIME\n214 Pure-FTPd - http://pureftpd.org/"
    );
    assert_eq!(
        ftp.cmd("QUIT").text(),
        "221-Goodbye. You uploaded 0 and downloaded 0 kbytes.\n221 Logout."
    );
    assert!(ftp.closed());
}

#[test]
fn login_and_navigation() {
    let site = Site::new();
    let server = site.ours(&[]);
    let (mut ftp, _) = Ftp::connect(server.port);
    assert_eq!(
        ftp.cmd(&format!("USER {USER}")).text(),
        "331 User alice OK. Password required"
    );
    assert_eq!(
        ftp.cmd(&format!("PASS {PASSWORD}")).text(),
        "230 OK. Current directory is /"
    );
    assert_eq!(
        ftp.cmd("PASS again").text(),
        "530 We can't do that in the current session"
    );
    assert_eq!(ftp.cmd("USER bob").text(), "530 You're already logged in");
    assert_eq!(ftp.cmd("PWD").text(), "257 \"/\" is your current location");
    assert_eq!(
        ftp.cmd("CWD sub").text(),
        "250 OK. Current directory is /sub"
    );
    assert_eq!(
        ftp.cmd("XPWD").text(),
        "257 \"/sub\" is your current location"
    );
    assert_eq!(ftp.cmd("CDUP").text(), "250 OK. Current directory is /");
    assert_eq!(
        ftp.cmd("CWD /nonexistent").text(),
        "550 Can't change directory to /nonexistent: No such file or directory"
    );
    assert_eq!(
        ftp.cmd("CWD a.txt").text(),
        "550 Can't change directory to a.txt: Not a directory"
    );
    assert_eq!(ftp.cmd("XCWD sub").code, 250);
    assert_eq!(ftp.cmd("CWD").text(), "250 OK. Current directory is /");
    assert_eq!(
        ftp.cmd("CWD ~/sub").text(),
        "250 OK. Current directory is /sub"
    );
    assert_eq!(
        ftp.cmd("CWD ../..").text(),
        "250 OK. Current directory is /"
    );
}

#[test]
fn type_mode_stru_rest_allo() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let cases: [(&str, &str); 14] = [
        (
            "TYPE",
            "501-Missing argument\n501-A(scii) I(mage) L(ocal)\n501 TYPE is now ASCII",
        ),
        ("TYPE X", "504-Unknown TYPE: X\n504 TYPE is now ASCII"),
        (
            "TYPE L 8",
            "200-Missing argument\n200 TYPE is now 8-bit binary",
        ),
        (
            "TYPE L7",
            "504-Only 8-bit bytes are supported, we're not 10 years ago\n504 TYPE is now 8-bit binary",
        ),
        ("TYPE A", "200 TYPE is now ASCII"),
        ("REST 3", "350 Restarting at 3. But we're in ASCII mode"),
        ("TYPE I", "200 TYPE is now 8-bit binary"),
        ("REST 100", "350 Restarting at 100"),
        (
            "REST x",
            "554-REST needs a numeric parameter\n554 Restart offset reset to 0",
        ),
        ("REST", "501 No restart point"),
        ("MODE S", "200 S OK"),
        ("MODE B", "504 Please use S(tream) mode"),
        ("STRU R", "504 Only F(ile) is supported"),
        ("ALLO 100", "200 A L'HUILE"),
    ];
    for (command, expected) in cases {
        assert_eq!(ftp.cmd(command).text(), expected, "{command}");
    }
    assert_eq!(ftp.cmd("ALLO").text(), "501 Can't find file size");
    assert_eq!(ftp.cmd("STRU F").text(), "200 F OK");
    assert_eq!(ftp.cmd("OPTS UTF8 ON").text(), "504 Unknown command");
    assert_eq!(
        ftp.cmd("OPTS MLST type;size;").text(),
        "200  MLST OPTS type;size;sizd;modify;UNIX.mode;UNIX.uid;UNIX.gid;unique;"
    );
    assert_eq!(ftp.cmd("BOGUS").text(), "500 Unknown command");
    assert_eq!(ftp.cmd("SITE").text(), "500 SITE: Missing argument");
    assert_eq!(
        ftp.cmd("SITE EXEC ls").text(),
        "500 SITE EXEC is an unknown extension"
    );
    assert_eq!(
        ftp.cmd("SITE IDLE 100").text(),
        "200 Idle time set to 100 seconds"
    );
    assert_eq!(ftp.cmd("SITE IDLE 9999").text(), "501 Value too large");
    assert_eq!(
        ftp.cmd("SITE IDLE 10x").text(),
        "501 Garbage found after value : x"
    );
    assert_eq!(
        ftp.cmd("SITE IDLE").text(),
        "501 SITE IDLE: Missing argument"
    );
    assert!(ftp.cmd("SITE TIME").lines[0].starts_with("211 20"));
    assert_eq!(ftp.cmd("STAT").text(), "211 https://www.pureftpd.org/");
    assert_eq!(
        ftp.cmd("ABOR").text(),
        "226 Since you see this ABOR must've succeeded"
    );
}

#[test]
fn files_and_directories() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("SIZE a.txt").text(), "213 12");
    assert_eq!(
        ftp.cmd("SIZE sub").text(),
        "550 I can only retrieve regular files"
    );
    assert_eq!(
        ftp.cmd("SIZE nope").text(),
        "550 Can't check for file existence"
    );
    assert_eq!(ftp.cmd("SIZE").text(), "501 Missing argument");
    assert_eq!(ftp.cmd("MFMT 20200102030405 a.txt").text(), "213 UTIME OK");
    assert_eq!(ftp.cmd("MDTM a.txt").text(), "213 20200102030405");
    assert_eq!(
        ftp.cmd("MFMT xx a.txt").text(),
        "501 Can't get a time stamp"
    );
    // As Debian's (sscanf then timegm): the missing month and day are 0, carried back.
    assert_eq!(ftp.cmd("MFMT 2020 a.txt").text(), "213 UTIME OK");
    assert_eq!(ftp.cmd("MDTM a.txt").text(), "213 20191130000000");
    assert_eq!(
        ftp.cmd("SITE UTIME 20210102030405 a.txt").text(),
        "213 UTIME OK"
    );
    assert_eq!(ftp.cmd("MDTM a.txt").text(), "213 20210102030405");
    assert_eq!(
        ftp.cmd("SITE UTIME a.txt 20220102030405 20220102030405 20220102030405 UTC")
            .text(),
        "213 UTIME OK"
    );
    assert_eq!(ftp.cmd("MDTM a.txt").text(), "213 20220102030405");
    assert_eq!(
        ftp.cmd("MKD made").text(),
        "257 \"made\" : The directory was successfully created"
    );
    assert_eq!(
        ftp.cmd("MKD made").text(),
        "550 Can't create directory: File exists"
    );
    assert_eq!(ftp.cmd("MKD").text(), "501 No directory name");
    assert_eq!(ftp.cmd("XMKD made/deeper").code, 257);
    assert_eq!(
        ftp.cmd("RMD made").text(),
        "550 Can't remove directory: Directory not empty"
    );
    assert_eq!(
        ftp.cmd("XRMD made/deeper").text(),
        "250 The directory was successfully removed"
    );
    assert_eq!(
        ftp.cmd("RMD made").text(),
        "250 The directory was successfully removed"
    );
    assert_eq!(ftp.cmd("RMD").text(), "550 No directory name");
    assert_eq!(ftp.cmd("RNTO x").text(), "503 Need RNFR before RNTO");
    assert_eq!(
        ftp.cmd("RNFR nope").text(),
        "550 Sorry, but that file doesn't exist"
    );
    assert_eq!(
        ftp.cmd("RNFR a.txt").text(),
        "350 RNFR accepted - file exists, ready for destination"
    );
    assert_eq!(
        ftp.cmd("RNFR a.txt").text(),
        "350-Aborting previous rename operation\n350 RNFR accepted - file exists, ready for destination"
    );
    assert_eq!(
        ftp.cmd("RNTO sub/b.txt").text(),
        "250 File successfully renamed or moved"
    );
    assert_eq!(site.read("sub/b.txt"), b"hello\nworld\n");
    assert_eq!(ftp.cmd("RNFR sub/b.txt").code, 350);
    assert_eq!(
        ftp.cmd("RNTO nowhere/x").text(),
        "451 Rename/move failure: No such file or directory"
    );
    assert_eq!(ftp.cmd("DELE sub/b.txt").text(), "250 Deleted sub/b.txt");
    assert_eq!(
        ftp.cmd("DELE sub/b.txt").text(),
        "550 Could not delete sub/b.txt: No such file or directory"
    );
    assert_eq!(
        ftp.cmd("DELE sub").text(),
        "550 Could not delete sub: Invalid argument"
    );
    assert_eq!(ftp.cmd("DELE").text(), "501 No file name");
    site.put("c.txt", b"c");
    assert_eq!(
        ftp.cmd("SITE CHMOD 600 c.txt").text(),
        "200 Permissions changed on c.txt"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(site.home.join("c.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o600
    );
    assert_eq!(
        ftp.cmd("SITE CHMOD 99999 c.txt").text(),
        "200 Permissions changed on c.txt"
    );
    assert_eq!(
        std::fs::metadata(site.home.join("c.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0
    );
    assert_eq!(
        ftp.cmd("SITE CHMOD 17777 c.txt").text(),
        "501 Invalid permissions"
    );
    assert_eq!(ftp.cmd("SITE CHMOD 644").text(), "550 No file name");
    assert_eq!(
        ftp.cmd("CHMOD 644 c.txt").text(),
        "200 Permissions changed on c.txt"
    );
    assert_eq!(
        ftp.cmd("SITE CHMOD 644 nope").text(),
        "550 Could not change perms on nope: No such file or directory"
    );
}

#[test]
fn downloads_binary_ascii_and_resumed() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let (first, data, last) = ftp.download("RETR a.txt");
    assert_eq!(first.text(), "150 Accepted data connection");
    assert_eq!(data, b"hello\r\nworld\r\n", "ASCII is the default type");
    let last = last.unwrap();
    assert_eq!(
        last.lines[0],
        "226-Warning: client is in ASCII mode - Assuming data is plain text"
    );
    assert_eq!(last.lines[1], "226-File successfully transferred");
    assert!(
        last.lines[2].starts_with("226 ") && last.lines[2].contains("seconds (measured here)"),
        "{last:?}"
    );
    ftp.cmd("TYPE I");
    let (_, data, _) = ftp.download("RETR a.txt");
    assert_eq!(data, b"hello\nworld\n");
    assert_eq!(ftp.cmd("REST 6").code, 350);
    let (_, data, _) = ftp.download("RETR a.txt");
    assert_eq!(data, b"world\n");
    assert_eq!(ftp.cmd("REST 12").code, 350);
    let (first, data, last) = ftp.download("RETR a.txt");
    assert_eq!(
        first.text(),
        "150 Accepted data connection",
        "the data connection is still made"
    );
    assert!(data.is_empty());
    assert_eq!(last.unwrap().text(), "226 Nothing left to download");
    assert_eq!(ftp.cmd("REST 100").code, 350);
    assert_eq!(
        ftp.download("RETR a.txt").0.text(),
        "554-Restart offset 100 is too large for file size 12.\n554 Restart offset reset to 0"
    );
    assert_eq!(
        ftp.download("RETR nope").0.text(),
        "550 Can't open nope: No such file or directory"
    );
    assert_eq!(
        ftp.download("RETR sub").0.text(),
        "550 I can only retrieve regular files"
    );
    assert_eq!(ftp.cmd("RETR").text(), "501 No file name");
    let big = vec![7u8; 300_000];
    site.put("big.bin", &big);
    let (first, data, _) = ftp.download("RETR big.bin");
    assert_eq!(
        first.text(),
        "150-Accepted data connection\n150 293.0 kbytes to download"
    );
    assert_eq!(data, big);
    let (_, data, _) = ftp.download("RETR with space.txt");
    assert_eq!(data, b"spaced\n");
    let quit = ftp.cmd("QUIT");
    assert_eq!(
        quit.lines[0],
        "221-Goodbye. You uploaded 0 and downloaded 294 kbytes."
    );
}

#[test]
fn ascii_resume_is_refused() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("REST 3");
    assert_eq!(
        ftp.download("RETR a.txt").0.text(),
        "503 ASCII resume is unsafe, please delete the file first"
    );
    // Uploads too: the offset counts converted bytes, and the file would be joined at
    // the wrong place. The refusal comes before the name is looked at.
    for upload in ["STOR a.txt", "APPE a.txt", "STOR .dot"] {
        ftp.cmd("REST 3");
        assert_eq!(
            ftp.cmd(upload).text(),
            "503 ASCII resume is unsafe, please delete the file first",
            "{upload}"
        );
    }
    assert_eq!(site.read("a.txt"), b"hello\nworld\n");
}

#[test]
fn uploads_store_append_unique_and_ascii() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let (first, last) = ftp.upload("STOR up.bin", b"0123456789");
    assert_eq!(first.text(), "150 Accepted data connection");
    let last = last.unwrap();
    assert_eq!(last.lines[0], "226-File successfully transferred");
    assert_eq!(site.read("up.bin"), b"0123456789");
    ftp.upload("APPE up.bin", b"abc");
    assert_eq!(site.read("up.bin"), b"0123456789abc");
    assert_eq!(ftp.cmd("REST 4").code, 350);
    ftp.upload("STOR up.bin", b"XY");
    assert_eq!(
        site.read("up.bin"),
        b"0123XY",
        "REST then STOR truncates at the offset"
    );
    ftp.upload("STOR up.bin", b"new");
    assert_eq!(site.read("up.bin"), b"new");
    let (first, _) = ftp.upload("STOU", b"unique");
    let name = first.lines[0]
        .strip_prefix("150-FILE: ")
        .expect("STOU names the file")
        .to_string();
    assert!(
        name.starts_with("pureftpd.") && name.len() == "pureftpd.6b027933.ab.0000".len(),
        "{name}"
    );
    assert_eq!(site.read(&name), b"unique");
    ftp.cmd("TYPE A");
    ftp.upload("STOR text.txt", b"one\r\ntwo\r\n");
    assert_eq!(site.read("text.txt"), b"one\ntwo\n");
    let (first, _) = ftp.upload("STOR  spaced ", b"x");
    assert_eq!(first.code, 150);
    assert_eq!(
        site.read("_spaced_"),
        b"x",
        "leading and trailing spaces are made visible"
    );
    assert_eq!(ftp.cmd("STOR").text(), "501 No file name");
    assert_eq!(
        ftp.upload("STOR sub", b"x").0.text(),
        "553 Can't open that file: Is a directory"
    );
    assert_eq!(
        ftp.upload("STOR nodir/x", b"x").0.text(),
        "553 Can't open that file: No such file or directory"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(site.home.join("text.txt"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o644, "the default umask 133");
}

#[test]
fn listings() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let (first, data, last) = ftp.download("LIST");
    assert_eq!(first.text(), "150 Accepted data connection");
    let text = String::from_utf8_lossy(&data).to_string();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.splitn(9, char::is_whitespace).last().unwrap_or(""))
        .collect();
    assert!(lines[0].starts_with("-rw-r--r--    1 "), "{text}");
    assert!(text.contains(" a.txt\r\n"));
    assert!(text.contains(" escape -> /etc\r\n"));
    assert!(text.contains(" with space.txt\r\n"));
    assert!(!text.contains(".hidden"), "dot files need -a");
    assert!(!names.is_empty());
    let last = last.unwrap();
    assert_eq!(last.lines[0], "226-Options: -l ");
    assert_eq!(last.lines[1], format!("226 {} matches total", lines.len()));
    let (_, data, last) = ftp.download("LIST -la");
    let text = String::from_utf8_lossy(&data).to_string();
    assert!(text.starts_with("drwxr-xr-x"), "{text}");
    assert!(text.contains(" .\r\n") && text.contains(" ..\r\n") && text.contains(" .hidden\r\n"));
    assert_eq!(last.unwrap().lines[0], "226-Options: -a -l ");
    let (_, data, _) = ftp.download("LIST *.txt");
    let text = String::from_utf8_lossy(&data).to_string();
    assert!(
        text.contains(" a.txt\r\n")
            && text.contains(" with space.txt\r\n")
            && !text.contains("sub"),
        "{text}"
    );
    let (_, data, last) = ftp.download("LIST nothing-here");
    assert!(data.is_empty());
    assert_eq!(last.unwrap().lines.last().unwrap(), "226 0 matches total");
    let (_, data, _) = ftp.download("LIST -R");
    // Pure-FTPd heads a subdirectory of the current one with `./`.
    assert!(String::from_utf8_lossy(&data).contains("\r\n\r\n./sub:\r\n\r\n"));
    let (_, data, last) = ftp.download("NLST");
    let text = String::from_utf8_lossy(&data).to_string();
    assert!(
        text.split("\r\n").any(|l| l == "a.txt") && text.split("\r\n").any(|l| l == "."),
        "{text}"
    );
    assert_eq!(last.unwrap().lines.len(), 1);
    let (_, data, _) = ftp.download("NLST sub");
    assert_eq!(
        String::from_utf8_lossy(&data)
            .split("\r\n")
            .find(|l| l.ends_with("inner.txt")),
        Some("sub/inner.txt")
    );
    assert_eq!(
        ftp.download("NLST nope").0.text(),
        "550 Can't check for file existence"
    );
    let (_, data, _) = ftp.download("MLSD");
    let text = String::from_utf8_lossy(&data).to_string();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("type=cdir;sizd=") && l.ends_with("; .")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("type=pdir;") && l.ends_with("; ..")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("type=file;size=12;modify=")
                && l.contains("UNIX.mode=0644;")
                && l.ends_with("; a.txt"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("type=OS.unix=slink:/etc;"))
    );
    let mlst = ftp.cmd("MLST a.txt");
    assert_eq!(mlst.lines.len(), 3);
    assert_eq!(mlst.lines[0], "250-Begin");
    assert!(mlst.lines[1].starts_with(" type=file;size=12;") && mlst.lines[1].ends_with("; a.txt"));
    assert_eq!(mlst.lines[2], "250 End.");
    assert_eq!(
        ftp.cmd("MLST nope").text(),
        "550 Can't check for file existence"
    );
    let stat = ftp.cmd("STAT a.txt");
    assert_eq!(stat.lines[0], "213-STAT");
    assert!(stat.lines[1].starts_with("-rw-r--r--") && stat.lines[1].ends_with(" a.txt"));
    assert_eq!(stat.lines[2], "213 End.");
}

#[test]
fn listing_caps_truncate() {
    let site = Site::new();
    for i in 0..30 {
        site.put(&format!("f{i:02}"), b"x");
    }
    let server = site.ours(&["-L", "10:2"]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    let (_, data, last) = ftp.download("LIST");
    assert_eq!(String::from_utf8_lossy(&data).lines().count(), 10);
    assert_eq!(
        last.unwrap().lines.last().unwrap(),
        "226 Output truncated to 10 matches"
    );
}

#[test]
fn abor_stops_a_download_and_the_session_goes_on() {
    let site = Site::new();
    site.put("huge.bin", &vec![0u8; 64 << 20]);
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    // Connect but do not read: the server blocks once the socket buffers are full.
    let data = std::net::TcpStream::connect(address).unwrap();
    assert_eq!(ftp.cmd("RETR huge.bin").code, 150);
    std::thread::sleep(std::time::Duration::from_millis(200));
    ftp.send_raw(b"\xff\xf4\xff\xf2ABOR\r\n");
    drop(data);
    let first = ftp.reply();
    let second = ftp.reply();
    let both = format!("{}\n{}", first.text(), second.text());
    assert!(both.contains("426"), "{both}");
    assert!(second.code == 226 || second.code == 426, "{both}");
    assert_eq!(ftp.cmd("NOOP").text(), "200 Zzz...");
}

#[test]
fn http_and_garbage() {
    let site = Site::new();
    let server = site.ours(&[]);
    let (mut ftp, _) = Ftp::connect(server.port);
    ftp.send(b" NOOP");
    ftp.send(b"NOOP\x00x");
    ftp.send(b"\x01\x02\x03");
    assert_eq!(
        ftp.cmd("NOOP").text(),
        "200 Zzz...",
        "lines without a proper verb get no reply"
    );
    assert_eq!(ftp.cmd("GET / HTTP/1.0").text(), "500 HTTP command: [get]");
    assert!(ftp.closed());
}

#[test]
fn overlong_lines_close_the_session() {
    let site = Site::new();
    let server = site.ours(&[]);
    let (mut ftp, _) = Ftp::connect(server.port);
    ftp.send(&vec![b'A'; 10_000]);
    assert_eq!(ftp.reply().text(), "421 Line too long");
    assert!(ftp.closed());
    // Others are not disturbed.
    let mut other = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(other.cmd("NOOP").code, 200);
}

#[test]
fn idle_sessions_time_out() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("SITE IDLE 1").code, 200);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        ftp.reply().text(),
        "421 Timeout - try typing a little faster next time"
    );
    assert!(ftp.closed());
}

#[test]
fn names_with_control_characters_are_never_listed() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    for command in [
        "LIST",
        "LIST -la",
        "LIST *.txt",
        "LIST new*",
        "NLST",
        "MLSD",
    ] {
        let (_, data, _) = ftp.download(command);
        let text = String::from_utf8_lossy(&data).to_string();
        assert!(
            !text.contains("new\nline") && !text.contains("line.txt"),
            "{command}: {text}"
        );
        assert!(
            text.split("\r\n").all(|line| !line.contains('\n')),
            "{command}"
        );
    }
}

#[test]
fn mdtm_sets_a_time_pret_esta_estp() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("MDTM 20190203040506 a.txt").text(), "213 UTIME OK");
    assert_eq!(ftp.cmd("MDTM a.txt").text(), "213 20190203040506");
    assert_eq!(ftp.cmd("PRET RETR a.txt").text(), "200 Ready to proceed");
    assert_eq!(
        ftp.cmd("PRET RETR nope").text(),
        "550 Sorry, but that file doesn't exist"
    );
    assert_eq!(ftp.cmd("PRET STOR anything").text(), "200 Ready to proceed");
    assert_eq!(ftp.cmd("ESTA").text(), "520 Active mode is disabled");
    assert_eq!(
        ftp.cmd("ESTP").text(),
        "520 Unable to open a passive connection"
    );
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    let reader = pureftpd_tests::ftp::receive(address);
    let estp = ftp.cmd("ESTP");
    assert_eq!(estp.lines[0], "225-Accepted data connection");
    assert!(
        estp.lines[1].starts_with("225 Connected to (|1|127.0.0.1|"),
        "{estp:?}"
    );
    assert_eq!(ftp.cmd("RETR a.txt").code, 150);
    assert_eq!(reader.join().unwrap(), b"hello\nworld\n");
    assert_eq!(ftp.reply().lines[0], "226-File successfully transferred");
}

#[test]
fn full_disks_refuse_uploads() {
    let site = Site::new();
    let server = site.ours(&["-k", "1"]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    assert_eq!(
        ftp.upload("STOR x", b"x").0.text(),
        "552 Disk full - please upload later"
    );
    assert_eq!(
        ftp.cmd("ALLO 99999999999999999").text(),
        "552 Disk full - please upload later"
    );
}

#[test]
fn nat_mode_and_forced_passive_address() {
    let site = Site::new();
    let nat = site.ours(&["-N"]);
    let mut ftp = Ftp::login(nat.port, USER, PASSWORD);
    assert_eq!(ftp.cmd("PASV").text(), "500 Unknown command");
    assert_eq!(ftp.cmd("EPSV").text(), "500 Unknown command");
    assert!(!ftp.cmd("FEAT").has(" PASV"));
    let forced = site.ours(&["-P", "192.0.2.7", "-p", "40000:40009"]);
    let mut ftp = Ftp::login(forced.port, USER, PASSWORD);
    let reply = ftp.cmd("PASV");
    assert!(
        reply
            .text()
            .starts_with("227 Entering Passive Mode (192,0,2,7,156,"),
        "{reply:?}"
    );
    let epsv = ftp.cmd("EPSV");
    let port: u16 = epsv
        .text()
        .trim_end_matches("|)")
        .rsplit('|')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((40000..=40009).contains(&port), "{epsv:?}");
    assert!(!ftp.cmd("FEAT").has(" ESTP"));
}

#[test]
fn abor_during_an_upload_keeps_what_arrived() {
    let site = Site::new();
    let server = site.ours(&[]);
    let mut ftp = Ftp::login(server.port, USER, PASSWORD);
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    let mut data = std::net::TcpStream::connect(address).unwrap();
    assert_eq!(ftp.cmd("STOR partial.bin").code, 150);
    std::io::Write::write_all(&mut data, &[9u8; 100_000]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    ftp.send(b"ABOR");
    assert_eq!(ftp.reply().text(), "426 Transfer aborted");
    assert_eq!(ftp.reply().lines[0], "451-Transfer aborted");
    assert_eq!(ftp.cmd("NOOP").code, 200);
    assert_eq!(site.read("partial.bin"), vec![9u8; 100_000]);
}
