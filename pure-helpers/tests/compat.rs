//! pure-statsdecode and pure-mrtginfo against Debian's.

use std::ffi::OsStr;
use std::path::Path;

use pureftpd_tests::{oracle, run};

const STATSDECODE: &str = env!("CARGO_BIN_EXE_pure-statsdecode");
const MRTGINFO: &str = env!("CARGO_BIN_EXE_pure-mrtginfo");

#[test]
fn statsdecode_prints_what_debians_prints() {
    let Some(theirs) = oracle("pure-statsdecode") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stats.log");
    std::fs::write(
        &log,
        b"1795324366 6b0279cd.896 alice 127.0.0.1 U 1234 0 /srv/ftp/alice/up 52111.bin\n\
          1795324400 6b0279cd.896 alice 127.0.0.1 D 99 3 /srv/ftp/alice/a\x01b\x7f.bin\n\
          0 0.0 - - D 0 0 /x\n",
    )
    .unwrap();
    for tz in ["UTC", "Europe/Paris", "America/New_York"] {
        let env = [("TZ", OsStr::new(tz))];
        let ours = run(Path::new(STATSDECODE), [&log], &env, "");
        let debian = run(&theirs, [&log], &env, "");
        assert_eq!(ours, debian, "TZ={tz}");
        let from_stdin = run(
            Path::new(STATSDECODE),
            ["-"],
            &env,
            &std::fs::read_to_string(&log).unwrap(),
        );
        assert_eq!(from_stdin.stdout, debian.stdout, "stdin, TZ={tz}");
    }
    let ours = run(Path::new(STATSDECODE), std::iter::empty::<&str>(), &[], "");
    let debian = run(&theirs, std::iter::empty::<&str>(), &[], "");
    assert_eq!((ours.code, &ours.stdout), (debian.code, &debian.stdout));
    let missing = run(Path::new(STATSDECODE), ["/nonexistent"], &[], "");
    assert_eq!(missing.code, 255);
    assert!(
        missing.stderr.contains("/nonexistent"),
        "{}",
        missing.stderr
    );
}

/// Lines made at random from pieces that bend a C reader: overflowing, signed, 41-digit
/// and far-future times, no separator, control bytes, UTF-8, a missing last newline.
/// Lines with nothing after their time are left out: there ours keeps the line, where
/// Debian's joins it to the next (README).
#[test]
fn statsdecode_agrees_with_debian_on_random_lines() {
    let Some(theirs) = oracle("pure-statsdecode") else {
        return;
    };
    const PIECES: &[&str] = &[
        "1795324366",
        "0",
        "-1",
        "+5",
        "12x",
        "99999999999999999999",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775808",
        "18445744073709551616",
        "18446743073709551615",
        "67767976233316800",
        "67767976233532800",
        "253402300800",
        "111111111111111111111111111111111111111111111",
        "6b0279cd.896",
        "alice",
        "127.0.0.1",
        "U",
        "/srv/x y",
        "\r",
        "\t",
        "\x01",
        "\x7f",
        "\u{e9}",
        "\u{20ac}",
        "%s%n",
        "",
    ];
    // xorshift64: the same lines on every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % bound as u64).unwrap()
    };
    for case in 0..20 {
        let mut input = String::new();
        for _ in 0..50 {
            let mut line = if next(4) == 0 { " " } else { "" }.to_string();
            let words = 1 + next(6);
            line += &(0..words)
                .map(|_| PIECES[next(PIECES.len())])
                .collect::<Vec<_>>()
                .join(" ");
            if line.bytes().all(|b| b.is_ascii_digit()) {
                line += " x";
            }
            input += &line;
            input += "\n";
        }
        if case % 2 == 1 {
            input.pop();
        }
        for tz in ["UTC", "Europe/Paris", "America/New_York"] {
            let env = [("TZ", OsStr::new(tz))];
            let ours = run(Path::new(STATSDECODE), ["-"], &env, &input);
            let debian = run(&theirs, ["-"], &env, &input);
            assert_eq!(ours, debian, "TZ={tz}, input:\n{input}");
        }
    }
}

#[test]
fn mrtginfo_prints_what_debians_prints() {
    let Some(theirs) = oracle("pure-mrtginfo") else {
        return;
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            (client, listener.accept().unwrap())
        })
        .collect();
    for args in [vec![port.as_str()], vec![], vec!["abc"]] {
        let ours = run(Path::new(MRTGINFO), &args, &[], "");
        let debian = run(&theirs, &args, &[], "");
        let lines = |text: &str| -> Vec<String> { text.lines().map(str::to_string).collect() };
        let (ours_lines, debian_lines) = (lines(&ours.stdout), lines(&debian.stdout));
        assert_eq!(ours_lines.len(), 4, "{args:?}: {}", ours.stdout);
        // The uptime may tick between the two runs.
        assert_eq!(
            (&ours_lines[0], &ours_lines[1], &ours_lines[3]),
            (&debian_lines[0], &debian_lines[1], &debian_lines[3]),
            "{args:?}"
        );
        assert!(ours_lines[2].contains(" days, "), "{}", ours_lines[2]);
    }
    let ours = run(Path::new(MRTGINFO), [&port], &[], "");
    assert!(ours.stdout.starts_with("3\n3\n"), "{}", ours.stdout);
    drop(clients);
}
