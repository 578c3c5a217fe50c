//! A scratch directory with a passwd file and a database, and a way to run pure-pw on
//! them.

#![allow(dead_code, unreachable_pub, unused_imports)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub use pureftpd_tests::{Outcome, mask_hashes, oracle, run};

pub const OURS: &str = env!("CARGO_BIN_EXE_pure-pw");

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn passwd(&self) -> PathBuf {
        self.path("pureftpd.passwd")
    }

    pub fn pdb(&self) -> PathBuf {
        self.path("pureftpd.pdb")
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    /// Runs `program` with PURE_PASSWDFILE and PURE_DBFILE pointing here.
    pub fn run_with(&self, program: &Path, args: &[&str], stdin: &str) -> Outcome {
        let passwd = self.passwd();
        let pdb = self.pdb();
        let env = [
            ("PURE_PASSWDFILE", passwd.as_os_str()),
            ("PURE_DBFILE", pdb.as_os_str()),
        ];
        run(program, args, &env, stdin)
    }

    /// Runs our pure-pw here.
    pub fn ours(&self, args: &[&str], stdin: &str) -> Outcome {
        self.run_with(Path::new(OURS), args, stdin)
    }

    /// Adds `login` (uid and gid 1001, chrooted to /srv/ftp/x, password `pw`) with our
    /// pure-pw, plus `extra` options; asserts that it worked.
    pub fn add(&self, login: &str, extra: &[&str]) {
        let mut args = vec![
            "useradd",
            login,
            "-u",
            "1001",
            "-g",
            "1001",
            "-d",
            "/srv/ftp/x",
        ];
        args.extend_from_slice(extra);
        let out = self.ours(&args, &twice("pw"));
        assert_eq!(out.code, 0, "{out:?}");
    }
}

/// The password typed twice.
pub fn twice(password: &str) -> String {
    format!("{password}\n{password}\n")
}

pub fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}
