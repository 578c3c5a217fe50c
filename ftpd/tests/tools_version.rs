//! `--version` (ours; none of Pure-FTPd's tools has it): every binary the package
//! installs answers it alone on its command line with its name and our version, on
//! stdout, status 0; with anything beside it, the tool reads its arguments as
//! Pure-FTPd's does (here: pure-ftpwho prints its help for the unknown option).

use std::process::Command;

/// Every binary of the workspace, with its package.
const TOOLS: [(&str, &str); 11] = [
    ("ftpd", "pure-ftpd"),
    ("ftpd", "pure-sftpd"),
    ("pure-pw", "pure-pw"),
    ("pure-pw", "pure-pwconvert"),
    ("pure-authd", "pure-authd"),
    ("pure-certd", "pure-certd"),
    ("pure-uploadscript", "pure-uploadscript"),
    ("pure-ftpwho", "pure-ftpwho"),
    ("pure-quotacheck", "pure-quotacheck"),
    ("pure-helpers", "pure-mrtginfo"),
    ("pure-helpers", "pure-statsdecode"),
];

#[test]
fn every_tool_answers_version_with_its_name() {
    for (package, binary) in TOOLS {
        let path = pureftpd_tests::workspace_binary(package, binary);
        let out = Command::new(&path).arg("--version").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{binary}: {stdout}");
        assert_eq!(
            stdout.lines().next(),
            Some(format!("{binary} (pureftpd-rs) {}", env!("CARGO_PKG_VERSION")).as_str()),
            "{binary}"
        );
        assert!(out.stderr.is_empty(), "{binary} wrote on stderr");
    }
}

#[test]
fn version_beside_other_arguments_is_read_as_pure_ftpd_reads_it() {
    let ftpwho = pureftpd_tests::workspace_binary("pure-ftpwho", "pure-ftpwho");
    let out = Command::new(&ftpwho)
        .args(["--version", "-s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Usage :"), "{stdout}");
    assert!(!stdout.contains("pureftpd-rs"), "{stdout}");
}
