//! Debian starts Pure-FTPd through `pure-ftpd-wrapper` (from `pure-ftpd-common`), which
//! turns one file per option in `/etc/pure-ftpd/conf/` (and the links in
//! `/etc/pure-ftpd/auth/` for the `-l` chain) into a command line and execs
//! `/usr/sbin/pure-ftpd`. Ours installs there, so Debian's wrapper runs it unchanged.
//! Tested with Debian's own wrapper, copied with its three hard-wired paths (the daemon,
//! the configuration directory, the pid file) pointed into a temporary directory:
//!
//! * a directory with a file for every option the wrapper knows (read from the wrapper
//!   itself, so that a new one cannot be missed) gives a command line our server accepts
//!   whole;
//! * Debian's default directory, plus a `Bind` and a `PureDB`, starts our server, which
//!   serves a login and a transfer with curl and writes the `AltLog` line.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{OURS, PASSWORD, Site, USER, have, have_file};

const WRAPPER: &str = "/usr/sbin/pure-ftpd-wrapper";

/// Debian's wrapper, if installed (CI requires it).
fn debian_wrapper() -> Option<String> {
    have_file(WRAPPER, "pure-ftpd-common")
        .then(|| std::fs::read_to_string(WRAPPER).ok())
        .flatten()
}

/// A copy of the wrapper whose hard-wired paths lead into `dir`; returns its path.
fn wrapper_in(dir: &Path, text: &str) -> PathBuf {
    let etc = dir.join("etc");
    std::fs::create_dir_all(etc.join("conf")).unwrap();
    std::fs::create_dir_all(etc.join("auth")).unwrap();
    let daemon = "my $daemon = '/usr/sbin/pure-ftpd';";
    let pid = "/var/run/pure-ftpd/pure-ftpd.pid";
    assert!(
        text.contains(daemon) && text.contains(pid),
        "the wrapper changed its paths"
    );
    let copy = text
        .replace(daemon, &format!("my $daemon = '{OURS}';"))
        .replace(pid, &dir.join("pure-ftpd.pid").display().to_string())
        .replace("/etc/pure-ftpd", &etc.display().to_string());
    let path = dir.join("pure-ftpd-wrapper");
    std::fs::write(&path, copy).unwrap();
    path
}

/// The option files the wrapper knows, each with the name of its value parser
/// (`None`: yes/no): the entries `'Name' => ['-x ...', \&parser]` of its tables.
fn known_files(text: &str) -> BTreeMap<String, Option<String>> {
    let mut known = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        let line = line
            .strip_prefix("my %conf = (")
            .or(line.strip_prefix("my %authconf = ("))
            .unwrap_or(line);
        let Some(rest) = line.strip_prefix('\'') else {
            continue;
        };
        let Some((name, rest)) = rest.split_once('\'') else {
            continue;
        };
        let rest = rest.trim_start_matches([' ', ',', '\t']);
        if !rest.starts_with("=> [") {
            continue;
        }
        let parser = rest.split_once("\\&").map(|(_, p)| {
            p.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        });
        known.insert(name.to_string(), parser);
    }
    known
}

/// A value each option file can hold, by the parser that reads it.
fn value_for(dir: &Path, name: &str, parser: Option<&str>) -> String {
    let file = dir.join("some-file");
    std::fs::write(&file, "fortune\n").unwrap();
    let specific = match name {
        "AltLog" => "clf:/dev/null".to_string(),
        "Bind" => "127.0.0.1,2121".to_string(),
        "ForcePassiveIP" => "127.0.0.1".to_string(),
        "TLSCipherSuite" => "HIGH".to_string(),
        "SyslogFacility" => "ftp".to_string(),
        "MinUID" => "1000".to_string(),
        "TLS" => "1".to_string(),
        "PassivePortRange" => "30000 30100".to_string(),
        "LimitRecursion" => "10000 8".to_string(),
        "Umask" => "133 022".to_string(),
        "TrustedIP" => "10.1.1.1".to_string(),
        _ => String::new(),
    };
    if !specific.is_empty() {
        return specific;
    }
    match parser {
        None => "yes".into(),
        Some("parse_number_1") => "5".into(),
        Some("parse_number_1_2") => "100 200".into(),
        Some("parse_number_2") => "3 20".into(),
        Some("parse_filename") => file.display().to_string(),
        Some("parse_skip") => "UTF-8".into(),
        Some(other) => panic!("{name}: a parser this test does not know ({other}): add a value"),
    }
}

/// A minimal configuration file for a directory backend (read when the command line is).
fn backend_config(name: &str) -> &'static str {
    match name {
        "LDAPConfigFile" => "LDAPServer 127.0.0.1\nLDAPBaseDN dc=example,dc=org\n",
        "MySQLConfigFile" => {
            "MYSQLServer 127.0.0.1\nMYSQLUser ftp\nMYSQLPassword pw\nMYSQLDatabase ftp\n\
             MYSQLCrypt crypt\nMYSQLGetPW SELECT Password FROM users WHERE User='\\L'\n\
             MYSQLGetUID SELECT Uid FROM users WHERE User='\\L'\n\
             MYSQLGetGID SELECT Gid FROM users WHERE User='\\L'\n\
             MYSQLGetDir SELECT Dir FROM users WHERE User='\\L'\n"
        }
        _ => {
            "PGSQLServer 127.0.0.1\nPGSQLUser ftp\nPGSQLPassword pw\nPGSQLDatabase ftp\n\
             PGSQLCrypt crypt\nPGSQLGetPW SELECT Password FROM users WHERE User='\\L'\n\
             PGSQLGetUID SELECT Uid FROM users WHERE User='\\L'\n\
             PGSQLGetGID SELECT Gid FROM users WHERE User='\\L'\n\
             PGSQLGetDir SELECT Dir FROM users WHERE User='\\L'\n"
        }
    }
}

#[test]
fn every_option_file_of_debians_wrapper_makes_a_command_line_ours_accepts() {
    let Some(text) = debian_wrapper() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wrapper = wrapper_in(dir.path(), &text);
    let known = known_files(&text);
    assert!(
        known.len() > 60,
        "the wrapper's tables were not found: {known:?}"
    );
    let conf = dir.path().join("etc/conf");
    // ExtAuth wants a socket that exists.
    let socket = dir.path().join("authd.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    for (name, parser) in &known {
        let value = match name.as_str() {
            "ExtAuth" => socket.display().to_string(),
            "LDAPConfigFile" | "MySQLConfigFile" | "PGSQLConfigFile" => {
                let file = dir.path().join(name);
                std::fs::write(&file, backend_config(name)).unwrap();
                file.display().to_string()
            }
            _ => value_for(dir.path(), name, parser.as_deref()),
        };
        std::fs::write(conf.join(name), format!("{value}\n")).unwrap();
    }
    // Every backend of the -l chain, in the order of the links' names.
    for (link, name) in [
        ("10extauth", "ExtAuth"),
        ("20ldap", "LDAPConfigFile"),
        ("30mysql", "MySQLConfigFile"),
        ("40pgsql", "PGSQLConfigFile"),
        ("50pure", "PureDB"),
        ("65unix", "UnixAuthentication"),
        ("70pam", "PAMAuthentication"),
    ] {
        std::os::unix::fs::symlink(
            format!("../conf/{name}"),
            dir.path().join("etc/auth").join(link),
        )
        .unwrap();
    }
    let out = Command::new("perl")
        .arg(&wrapper)
        .arg("--show-options")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
    for backend in [
        "extauth:", "ldap:", "mysql:", "pgsql:", "puredb:", "unix", "pam",
    ] {
        assert!(
            line.contains(&format!("-l {backend}")),
            "{backend} missing from {line}"
        );
    }
    assert!(args.len() > 80, "{line}");
    match ftpd::config::args::parse("pure-ftpd", args) {
        Ok(ftpd::config::args::Invocation::Serve(_)) => {}
        Ok(_) => panic!("read as a request for help: {line}"),
        Err(e) => panic!("ours refuses Debian's wrapper's command line: {e:?}\n{line}"),
    }
}

/// Starts the wrapper in the foreground (as systemd does), its `Bind` file written
/// from the `-S host,port` the test harness passes.
const START: &str = r#"#!/bin/sh
printf '%s\n' "$2" > "$(dirname "$0")/etc/conf/Bind"
exec perl "$(dirname "$0")/pure-ftpd-wrapper"
"#;

#[test]
fn debians_default_directory_starts_ours_through_debians_wrapper() {
    let Some(text) = debian_wrapper() else { return };
    if !have("curl") {
        return;
    }
    let site = Site::new();
    let dir = site.dir.path();
    let wrapper = wrapper_in(dir, &text);
    assert!(wrapper.exists());
    let conf = dir.join("etc/conf");
    let transfer_log = dir.join("transfer.log");
    // Debian's defaults (pure-ftpd-common), with the site's .pdb and a log we can read.
    let min_uid = site.uid.min(1000).to_string();
    for (name, value) in [
        ("AltLog", format!("clf:{}", transfer_log.display())),
        ("FSCharset", "UTF-8".into()),
        ("MinUID", min_uid),
        ("NoAnonymous", "yes".into()),
        ("PAMAuthentication", "no".into()),
        ("PureDB", site.pdb.display().to_string()),
        ("TLSCipherSuite", "HIGH".into()),
        ("UnixAuthentication", "no".into()),
        ("DontResolve", "yes".into()),
        ("IPV4Only", "yes".into()),
    ] {
        std::fs::write(conf.join(name), format!("{value}\n")).unwrap();
    }
    std::os::unix::fs::symlink("../conf/PureDB", dir.join("etc/auth/50pure")).unwrap();
    let start = dir.join("start");
    std::fs::write(&start, START).unwrap();
    std::fs::set_permissions(&start, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let board = site.scoreboard();
    let server = common::Server::start_with_env(&start, &[], &[("PURE_FTPD_SCOREBOARD", &board)]);
    site.put("served.txt", b"through the wrapper\n");
    let url = format!("ftp://127.0.0.1:{}/served.txt", server.port);
    let out = Command::new("curl")
        .args([
            "-s",
            "-S",
            "--max-time",
            "20",
            "--user",
            &format!("{USER}:{PASSWORD}"),
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "through the wrapper\n",
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.stderr()
    );
    // The pid file the wrapper asks for (-g) holds the server's pid.
    let pid = std::fs::read_to_string(dir.join("pure-ftpd.pid")).unwrap_or_default();
    assert_eq!(pid.trim(), server.pid().to_string());
    let logged = std::fs::read_to_string(&transfer_log).unwrap_or_default();
    assert!(logged.contains("/served.txt\" 200 20"), "{logged}");
}
