//! The man pages in `packaging/man/`: each renders without a warning
//! (`groff -man -ww`), and each documents exactly the options its tool accepts, read
//! from the tool itself (pure-ftpd's option table and configuration keys, the others'
//! `-h` output), so that a page cannot drift from its tool.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::have;

fn page(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../packaging/man")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The headings (the line after each `.TP`) of a section.
fn headings(text: &str, section: &str) -> Vec<String> {
    let start = format!(".SH {section}");
    let Some(body) = text.split_once(&start).map(|(_, rest)| rest) else {
        return Vec::new();
    };
    let body = body.split("\n.SH ").next().unwrap_or(body);
    let lines: Vec<&str> = body.lines().collect();
    lines
        .windows(2)
        .filter(|pair| pair[0] == ".TP")
        .map(|pair| pair[1].to_string())
        .collect()
}

/// `-x` and `--long` of the OPTIONS section.
fn documented_options(text: &str) -> BTreeSet<String> {
    let mut options = BTreeSet::new();
    for heading in headings(text, "OPTIONS") {
        for part in heading.split("\\fB").skip(1) {
            let word = part.split("\\fR").next().unwrap_or("").replace("\\-", "-");
            if word.starts_with('-') {
                options.insert(word);
            }
        }
    }
    options
}

/// `-x` and `--long` words of a tool's help (tabs or spaces around them).
fn options_in_help(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | '/' | ':'))
        .filter(|w| w.starts_with('-') && w.len() >= 2 && w != &"-" && !w.starts_with("-["))
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_string()
        })
        .filter(|w| {
            w.len() >= 2
                && w.chars()
                    .nth(1)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .collect()
}

fn help_of(package: &str, binary: &str) -> String {
    let path: PathBuf = pureftpd_tests::workspace_binary(package, binary);
    let out = Command::new(path).arg("-h").output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_page_renders_without_a_warning() {
    if !have("groff") {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/man");
    let mut pages = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        pages += 1;
    }
    assert_eq!(pages, 12, "a page per tool and pure-ftpd.conf(5)");
}

#[test]
fn pure_ftpds_page_documents_its_option_table() {
    let mut table = BTreeSet::new();
    for opt in ftpd::config::args::OPTIONS {
        if opt.letter.is_ascii_graphic() {
            table.insert(format!("-{}", opt.letter));
        }
        if let Some(long) = opt.long {
            table.insert(format!("--{long}"));
        }
    }
    assert_eq!(documented_options(&page("pure-ftpd.8")), table);
}

#[test]
fn pure_sftpds_page_documents_its_option_table() {
    let mut table = BTreeSet::new();
    for opt in ftpd::sftp::options::OPTIONS {
        if opt.letter.is_ascii_graphic() {
            table.insert(format!("-{}", opt.letter));
        }
        if let Some(long) = opt.long {
            table.insert(format!("--{long}"));
        }
    }
    assert_eq!(documented_options(&page("pure-sftpd.8")), table);
}

#[test]
fn the_configuration_page_documents_every_key() {
    let text = page("pure-ftpd.conf.5");
    let documented: BTreeSet<String> = headings(&text, "KEYS")
        .iter()
        .filter_map(|h| {
            h.strip_prefix("\\fB")?
                .split("\\fR")
                .next()
                .map(str::to_string)
        })
        .collect();
    let mut keys: BTreeSet<String> = ftpd::config::file::keys().map(str::to_string).collect();
    keys.insert("Include".into());
    assert_eq!(documented, keys);
}

#[test]
fn the_other_tools_pages_document_what_their_help_lists() {
    for (package, binary) in [
        ("pure-authd", "pure-authd"),
        ("pure-certd", "pure-certd"),
        ("pure-uploadscript", "pure-uploadscript"),
        ("pure-ftpwho", "pure-ftpwho"),
        ("pure-quotacheck", "pure-quotacheck"),
        ("pure-pw", "pure-pw"),
    ] {
        let mut from_help = options_in_help(&help_of(package, binary));
        // Every tool answers -h, whether or not its help lists it.
        from_help.insert("-h".into());
        if binary == "pure-pw" {
            // Ours, for show and list only: not in Pure-FTPd's usage text, which is kept.
            from_help.insert("--json".into());
        }
        let documented = documented_options(&page(&format!("{binary}.8")));
        assert_eq!(documented, from_help, "{binary}");
    }
    for binary in ["pure-pwconvert", "pure-mrtginfo", "pure-statsdecode"] {
        let text = page(&format!("{binary}.8"));
        assert!(text.contains(".SH OPTIONS\nNone."), "{binary}");
    }
}

/// The shell completions, generated from the pages (`packaging/completions/generate.py`,
/// run by the package build): bash's complete each tool's options and pure-pw's actions
/// in a real bash; zsh's parse (`zsh -n`).
#[test]
fn completions_generated_from_the_pages_complete_in_bash_and_parse_in_zsh() {
    if !have("python3") || !have("bash") {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let generator =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/completions/generate.py");
    let status = Command::new("python3")
        .arg(&generator)
        .arg(out_dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let complete = |tool: &str, words: &[&str]| -> String {
        let script = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _{}; echo \"${{COMPREPLY[@]}}\"",
            out_dir.path().join("bash").join(tool).display(),
            words.join(" "),
            words.len() - 1,
            tool.replace('-', "_")
        );
        let out = Command::new("bash").args(["-c", &script]).output().unwrap();
        assert!(
            out.stderr.is_empty(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        complete("pure-ftpd", &["pure-ftpd", "--maxc"]),
        "--maxclientsperip --maxclientsnumber"
    );
    assert_eq!(
        complete("pure-pw", &["pure-pw", "user"]),
        "useradd usermod userdel"
    );
    assert_eq!(complete("pure-pw", &["pure-pw", "list", "--j"]), "--json");
    assert_eq!(complete("pure-authd", &["pure-authd", "--r"]), "--run");
    assert_eq!(complete("pure-ftpwho", &["pure-ftpwho", "--"]), "--json");
    assert_eq!(
        complete("pure-sftpd", &["pure-sftpd", "--host"]),
        "--hostkeydir"
    );
    for tool in [
        "pure-ftpd",
        "pure-sftpd",
        "pure-pw",
        "pure-authd",
        "pure-certd",
        "pure-uploadscript",
        "pure-ftpwho",
        "pure-quotacheck",
        "pure-pwconvert",
        "pure-mrtginfo",
        "pure-statsdecode",
    ] {
        assert!(out_dir.path().join("bash").join(tool).exists(), "{tool}");
        let zsh = out_dir.path().join("zsh").join(format!("_{tool}"));
        assert!(zsh.exists(), "{tool}");
        if have("zsh") {
            let out = Command::new("zsh").arg("-n").arg(&zsh).output().unwrap();
            assert!(
                out.status.success(),
                "{tool}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
