//! A small file system of the test's own: a tmpfs mounted (as root) for the test and
//! unmounted when dropped. For homes on another file system and full disks.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`1m`, `256k`) at `path` (created), mode 0755. `None`,
    /// after saying why, where mounting is not allowed (a container without
    /// CAP_SYS_ADMIN) unless root tests are required.
    pub fn mount(path: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(path).unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "pureftpd-test",
            ])
            .arg(path)
            .status();
        if !mounted.is_ok_and(|s| s.success()) {
            let required = std::env::var_os("PUREFTPD_REQUIRE_ROOT").is_some_and(|v| v == "1");
            assert!(
                !required,
                "mounting a tmpfs failed although running as root"
            );
            eprintln!("SKIP: cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?)");
            return None;
        }
        Some(Self {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    /// Unmounts, waiting up to 5 s for the test's session processes (which may still
    /// be ending, their working directory inside) to let go; then detaches it lazily,
    /// so that no test leaves a mount behind.
    fn drop(&mut self) {
        let unmount = |extra: &[&str]| {
            Command::new("umount")
                .args(extra)
                .arg(&self.path)
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !unmount(&[]) {
            if std::time::Instant::now() >= deadline {
                let _ = unmount(&["-l"]);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl super::Site {
    /// Replaces the site's home by a tmpfs of `size`, owned by the account (a small or
    /// full disk under the account). `None` where mounting is not allowed (see
    /// [`Tmpfs::mount`]).
    pub fn home_on_tmpfs(&self, size: &str) -> Option<Tmpfs> {
        let disk_dir = self.dir.path().join("disk");
        let disk = Tmpfs::mount(&disk_dir, size)?;
        std::fs::remove_dir_all(&self.home).unwrap();
        std::os::unix::fs::symlink(&disk_dir, &self.home).unwrap();
        nix::unistd::chown(
            &disk_dir,
            Some(nix::unistd::Uid::from_raw(self.uid)),
            Some(nix::unistd::Gid::from_raw(self.gid)),
        )
        .unwrap();
        Some(disk)
    }
}
