//! Anonymous FTP needs the system account `ftp` (home /srv/ftp on Debian), which
//! `scripts/install-test-deps.sh` creates as root.

use std::path::PathBuf;

/// Whether the system account `name` exists; under `PUREFTPD_REQUIRE_ORACLE=1` (CI)
/// its absence fails the test instead of skipping it.
pub fn account_exists(name: &str) -> bool {
    let found = nix::unistd::User::from_name(name).ok().flatten().is_some();
    if !found {
        let required = std::env::var_os("PUREFTPD_REQUIRE_ORACLE").is_some_and(|v| v == "1");
        assert!(
            !required,
            "the system account {name} is required (scripts/install-test-deps.sh creates it)"
        );
        eprintln!(
            "SKIP: no system account {name} (scripts/install-test-deps.sh creates it as root)"
        );
    }
    found
}

/// A directory of this test inside the anonymous area, owned by `ftp`, removed after.
/// `name` is unique per test process and `tag`.
pub struct AnonArea {
    pub path: PathBuf,
    pub name: String,
}

impl AnonArea {
    /// Holds readme.txt, nonempty.txt, empty.txt and the dot file `.secret`.
    pub fn new() -> Self {
        Self::tagged("test")
    }

    pub fn tagged(tag: &str) -> Self {
        let ftp = nix::unistd::User::from_name("ftp").unwrap().unwrap();
        let name = format!("{tag}-{}", std::process::id());
        let path = ftp.dir.join(&name);
        std::fs::create_dir_all(&path).unwrap();
        let area = Self { path, name };
        area.put("readme.txt", b"public\n");
        area.put("nonempty.txt", b"keep\n");
        area.put("empty.txt", b"");
        area.put(".secret", b"dot\n");
        nix::unistd::chown(&area.path, Some(ftp.uid), Some(ftp.gid)).unwrap();
        area
    }

    /// Writes a file owned by `ftp` (as if uploaded anonymously).
    pub fn put(&self, name: &str, content: &[u8]) {
        let ftp = nix::unistd::User::from_name("ftp").unwrap().unwrap();
        let path = self.path.join(name);
        std::fs::write(&path, content).unwrap();
        nix::unistd::chown(&path, Some(ftp.uid), Some(ftp.gid)).unwrap();
    }
}

impl Drop for AnonArea {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
