//! The Debian package (`scripts/package.sh`) on a fresh Debian system: a minimal
//! bookworm made by `debootstrap` in a temporary directory, where Debian's `pure-ftpd`
//! is installed and configured first (a virtual user in a `.pdb` made by Debian's
//! `pure-pw`, `/etc/pure-ftpd/conf/` files). Then ours is installed over it with
//! `apt-get install ./file.deb` (it replaces Debian's package and keeps
//! `/etc/pure-ftpd`), started through Debian's `pure-ftpd-wrapper` as Debian's init
//! script starts it (no systemd in a chroot), logged into with curl from outside, its
//! metrics scraped (turned on in `/etc/default/pure-ftpd-common`, as the README says),
//! upgraded to a newer version and logged into again, and purged: Debian's files come
//! back (the man pages it diverted), the configuration and the `.pdb` stay.
//!
//! Needs root, debootstrap and Debian's archive; CI runs it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{have, require_root};

/// A chroot made by debootstrap, its /proc mounted; unmounted and removed when dropped,
/// after stopping the server it may still run.
struct Chroot {
    dir: tempfile::TempDir,
}

impl Chroot {
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn run(&self, script: &str) -> std::process::Output {
        Command::new("chroot")
            .arg(self.root())
            .args(["/bin/sh", "-c", script])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap()
    }

    fn must(&self, script: &str) -> String {
        let out = self.run(script);
        assert!(
            out.status.success(),
            "{script}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn stop_server(&self) {
        let pid_file = self.root().join("run/pure-ftpd/pure-ftpd.pid");
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Chroot {
    fn drop(&mut self) {
        self.stop_server();
        let _ = Command::new("umount")
            .arg(self.root().join("proc"))
            .status();
    }
}

fn package(out: &Path, version: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/package.sh");
    let built = Command::new(&script)
        .arg(out)
        .env("PACKAGE_PROFILE", "debug")
        .env("PACKAGE_VERSION", version)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let stdout = String::from_utf8_lossy(&built.stdout);
    PathBuf::from(
        stdout
            .lines()
            .last()
            .expect("the package's path, last")
            .trim(),
    )
}

fn login(port: u16) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-u", "alice:alice pw"])
        .arg(format!("ftp://127.0.0.1:{port}/hello.txt"))
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The metrics page (`PURE_FTPD_METRICS` in `/etc/default/pure-ftpd-common`).
fn scrape(port: u16) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--fail"])
        .arg(format!("http://127.0.0.1:{port}/metrics"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Starts the server as Debian's init script does (its defaults file read first), and
/// waits until it listens.
fn start(chroot: &Chroot, port: u16) {
    chroot.must(
        "mkdir -p /var/run/pure-ftpd && . /etc/default/pure-ftpd-common && \
         STANDALONE_OR_INETD=standalone /usr/sbin/pure-ftpd-wrapper",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the server in the chroot does not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn installs_over_debians_pure_ftpd_serves_upgrades_and_purges() {
    if !require_root("the package test installs into a debootstrap chroot") {
        return;
    }
    if !have("debootstrap") || !have("curl") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let first = package(work.path(), "0.1.0-1");
    let second = package(work.path(), "0.1.0-2");
    let chroot = Chroot {
        dir: tempfile::tempdir().unwrap(),
    };
    let made = Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(chroot.root())
        .arg("http://deb.debian.org/debian")
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    std::fs::write(
        chroot.root().join("usr/sbin/policy-rc.d"),
        "#!/bin/sh\nexit 101\n",
    )
    .unwrap();
    chroot.must("chmod 755 /usr/sbin/policy-rc.d");
    let mounted = Command::new("mount")
        .args(["-t", "proc", "proc"])
        .arg(chroot.root().join("proc"))
        .status()
        .unwrap();
    assert!(mounted.success());
    for deb in [&first, &second] {
        std::fs::copy(
            deb,
            chroot.root().join("tmp").join(deb.file_name().unwrap()),
        )
        .unwrap();
    }
    // An admin's existing set-up with Debian's package.
    let port = pureftpd_tests::free_port();
    chroot.must("apt-get install -y -qq --no-install-recommends pure-ftpd >/dev/null");
    chroot.must(&format!(
        "useradd -u 2000 -M -d /srv/ftp ftpuser && mkdir -p /srv/ftp/alice && \
         echo 'served by pureftpd-rs' > /srv/ftp/alice/hello.txt && chown -R 2000:2000 /srv/ftp/alice && \
         printf 'alice pw\\nalice pw\\n' | pure-pw useradd alice -u ftpuser -d /srv/ftp/alice -m >/dev/null && \
         echo /etc/pure-ftpd/pureftpd.pdb > /etc/pure-ftpd/conf/PureDB && \
         ln -s ../conf/PureDB /etc/pure-ftpd/auth/50pure && echo no > /etc/pure-ftpd/conf/PAMAuthentication && \
         echo 127.0.0.1,{port} > /etc/pure-ftpd/conf/Bind"
    ));
    let debians_man_page = chroot.root().join("usr/share/man/man8/pure-pw.8.gz");
    let debians_page = std::fs::read(&debians_man_page).unwrap();

    // Install over it.
    let name = first.file_name().unwrap().to_string_lossy().into_owned();
    chroot.must(&format!(
        "apt-get install -y -qq --no-install-recommends /tmp/{name} >/dev/null"
    ));
    let status = chroot.must("dpkg-query -W -f '${Package} ${Status} ${Version}\\n' pure-ftpd pureftpd-rs 2>/dev/null || true");
    assert!(
        status.contains("pureftpd-rs install ok installed 0.1.0-1"),
        "{status}"
    );
    assert!(
        !status.contains("pure-ftpd install ok installed"),
        "Debian's package is replaced: {status}"
    );
    assert!(
        chroot
            .must("/usr/sbin/pure-ftpd --version")
            .starts_with("pure-ftpd (pureftpd-rs) ")
    );
    assert_ne!(
        std::fs::read(&debians_man_page).unwrap(),
        debians_page,
        "ours is the man page now"
    );
    // The admin turns the metrics on the way the README says, for the wrapper.
    let metrics = pureftpd_tests::free_port();
    chroot.must(&format!(
        "echo 'export PURE_FTPD_METRICS=127.0.0.1:{metrics}' >> /etc/default/pure-ftpd-common"
    ));
    start(&chroot, port);
    assert_eq!(login(port), "served by pureftpd-rs\n");
    let page = scrape(metrics);
    assert!(
        page.contains("pureftpd_logins_total{backend=\"puredb\",result=\"accepted\"} 1\n"),
        "{page}"
    );
    let pid_mode = chroot.must("stat -c %a /run/pure-ftpd/pure-ftpd.pid");
    assert_eq!(pid_mode.trim(), "644");
    chroot.stop_server();

    // Upgrade.
    let name = second.file_name().unwrap().to_string_lossy().into_owned();
    chroot.must(&format!(
        "apt-get install -y -qq --no-install-recommends /tmp/{name} >/dev/null"
    ));
    let status = chroot.must("dpkg-query -W -f '${Version}' pureftpd-rs");
    assert_eq!(status, "0.1.0-2");
    start(&chroot, port);
    assert_eq!(login(port), "served by pureftpd-rs\n");
    assert!(
        scrape(metrics).contains("pureftpd_transferred_files_total{direction=\"download\"} 1\n")
    );
    chroot.stop_server();

    // Purge: Debian's man page back, the configuration and the accounts kept.
    chroot.must("apt-get purge -y -qq pureftpd-rs >/dev/null");
    assert!(!chroot.root().join("usr/sbin/pure-ftpd").exists());
    assert_eq!(std::fs::read(&debians_man_page).unwrap(), debians_page);
    let diversions = chroot.must("dpkg-divert --list");
    assert!(!diversions.contains("pureftpd-rs"), "{diversions}");
    for kept in [
        "etc/pure-ftpd/conf/PureDB",
        "etc/pure-ftpd/pureftpd.pdb",
        "etc/pure-ftpd/pureftpd.passwd",
    ] {
        assert!(chroot.root().join(kept).exists(), "{kept} is kept");
    }
}
