//! `pure-pw show --json` and `pure-pw list --json` (ours): read back by a JSON parser,
//! every field agrees with what `show` prints in Pure-FTPd's text layout; `list` keeps
//! the file's order and leaves out the hashes; damaged lines are warned about on stderr
//! and the output stays valid; for any other action `--json` stays a mistake, as in
//! Pure-FTPd's pure-pw.

mod common;

use common::Scratch;
use serde_json::{Value, json};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn show_json_holds_every_field_of_the_text_layout() {
    let s = Scratch::new();
    let limits = [
        "-D",
        "/home/bob",
        "-c",
        "Bob Smith",
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
        "10.0.0.0/8,192.168.1.1",
        "-I",
        "127.0.0.1",
        "-z",
        "0900-1800",
        "-y",
        "3",
    ];
    s.add("bob", &limits);
    let out = s.ours(&["show", "bob", "--json"], "");
    assert_eq!(out.code, 0, "{out:?}");
    let mut shown = parse(&out.stdout);
    let hash = shown["password"].take();
    assert!(
        hash.as_str().is_some_and(|h| h.starts_with("$argon2id$")),
        "{hash}"
    );
    // The names of uid and gid 1001 depend on the machine: checked against the text.
    let text = s.ours(&["show", "bob"], "").stdout;
    for key in ["user", "group"] {
        let name = shown[key].take();
        assert!(
            text.contains(&format!("1001 ({})", name.as_str().unwrap())),
            "{name}"
        );
    }
    assert_eq!(
        shown,
        json!({
            "login": "bob", "password": null, "user": null, "group": null,
            "uid": 1001, "gid": 1001, "home": "/home/bob", "gecos": "Bob Smith",
            "download_bandwidth": 100 * 1024, "upload_bandwidth": 50 * 1024,
            "quota_files": 1000, "quota_size": 20 << 20,
            "upload_ratio": 1, "download_ratio": 10,
            "allow_local_ips": null, "deny_local_ips": ["127.0.0.1"],
            "allow_client_ips": ["10.0.0.0/8", "192.168.1.1"], "deny_client_ips": null,
            "time_window": {"begin": 900, "end": 1800},
            "max_sessions": 3,
        })
    );
}

#[test]
fn list_json_keeps_the_order_leaves_out_hashes_and_survives_a_damaged_line() {
    let s = Scratch::new();
    s.add("zed", &[]);
    s.add("amy", &["-N", "5"]);
    let mut passwd = s.read("pureftpd.passwd");
    passwd.push_str("this line is damaged\n");
    s.write("pureftpd.passwd", &passwd);
    let out = s.ours(&["list", "--json"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("Warning: invalid line"), "{out:?}");
    let listed = parse(&out.stdout);
    let accounts = listed.as_array().expect("an array");
    let logins: Vec<&str> = accounts
        .iter()
        .map(|a| a["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["zed", "amy"]);
    assert!(accounts.iter().all(|a| a.get("password").is_none()));
    assert_eq!(accounts[1]["quota_size"], 5 << 20);
    assert_eq!(accounts[0]["quota_size"], Value::Null);
}

#[test]
fn an_empty_file_lists_as_an_empty_array_and_a_missing_login_fails_as_in_text() {
    let s = Scratch::new();
    s.write("pureftpd.passwd", "");
    let out = s.ours(&["list", "--json"], "");
    assert_eq!((out.code, parse(&out.stdout)), (0, json!([])));
    let json = s.ours(&["show", "nobody-here", "--json"], "");
    let text = s.ours(&["show", "nobody-here"], "");
    assert_eq!((json.code, &json.stderr), (text.code, &text.stderr));
    assert!(json.stdout.is_empty());
}

#[test]
fn json_is_a_mistake_for_other_actions_as_in_pure_ftpd() {
    let s = Scratch::new();
    let out = s.ours(&["userdel", "bob", "--json"], "");
    assert!(out.stdout.contains("Usage :"), "{out:?}");
    assert!(out.stderr.contains("invalid option"), "{out:?}");
}
