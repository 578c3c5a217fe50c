//! Small file systems of the test's own, mounted (as root) for the test and unmounted
//! when dropped: a tmpfs (homes on another file system, full disks) or an ext4 in an
//! image file on a loop device (what uploads do on the most common disk file system).

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestMount {
    path: PathBuf,
}

impl TestMount {
    /// Mounts a tmpfs of `size` (`1m`, `256k`) at `path` (created), mode 0755. `None`,
    /// after saying why, where mounting is not allowed (a container without
    /// CAP_SYS_ADMIN) unless root tests are required.
    pub fn tmpfs(path: &Path, size: &str) -> Option<Self> {
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
        Self::mounted(path, mounted.is_ok_and(|s| s.success()), "a tmpfs")
    }

    /// Makes an ext4 of `mib` MiB in the file `image` and mounts it at `path` (created)
    /// through a loop device that goes with the mount. `None` as for [`Self::tmpfs`],
    /// or where the machine has no loop devices.
    pub fn ext4(path: &Path, image: &Path, mib: u64) -> Option<Self> {
        std::fs::create_dir_all(path).unwrap();
        std::fs::File::create(image)
            .unwrap()
            .set_len(mib << 20)
            .unwrap();
        let made = Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0"])
            .arg(image)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "mkfs.ext4 failed (e2fsprogs is installed by scripts/install-test-deps.sh)"
        );
        let mounted = Command::new("mount")
            .args(["-t", "ext4", "-o", "loop"])
            .arg(image)
            .arg(path)
            .status();
        Self::mounted(path, mounted.is_ok_and(|s| s.success()), "an ext4 image")
    }

    fn mounted(path: &Path, ok: bool, what: &str) -> Option<Self> {
        if !ok {
            let required = std::env::var_os("PUREFTPD_REQUIRE_ROOT").is_some_and(|v| v == "1");
            assert!(!required, "mounting {what} failed although running as root");
            eprintln!(
                "SKIP: cannot mount {what} here (a container without CAP_SYS_ADMIN or loop devices?)"
            );
            return None;
        }
        Some(Self {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for TestMount {
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
    /// [`TestMount::tmpfs`]).
    pub fn home_on_tmpfs(&self, size: &str) -> Option<TestMount> {
        let disk_dir = self.dir.path().join("disk");
        let disk = TestMount::tmpfs(&disk_dir, size)?;
        self.home_moved_to(&disk_dir);
        Some(disk)
    }

    /// The same with an ext4 of `mib` MiB (its image beside the site's files).
    pub fn home_on_ext4(&self, mib: u64) -> Option<TestMount> {
        let disk_dir = self.dir.path().join("disk");
        // The image's name is what scripts/test.sh looks for in the loop devices left.
        let image = self.dir.path().join("pureftpd-test-disk.img");
        let disk = TestMount::ext4(&disk_dir, &image, mib)?;
        // The home is the file system's root (mkfs's lost+found in it, as on a real disk).
        self.home_moved_to(&disk_dir);
        Some(disk)
    }

    fn home_moved_to(&self, disk_dir: &Path) {
        std::fs::remove_dir_all(&self.home).unwrap();
        std::os::unix::fs::symlink(disk_dir, &self.home).unwrap();
        nix::unistd::chown(
            disk_dir,
            Some(nix::unistd::Uid::from_raw(self.uid)),
            Some(nix::unistd::Gid::from_raw(self.gid)),
        )
        .unwrap();
    }
}
