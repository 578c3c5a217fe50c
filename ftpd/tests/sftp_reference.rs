//! pure-sftpd against the reference for SFTP semantics, OpenSSH's `internal-sftp` with
//! `ChrootDirectory` for a system account (an sshd the test starts on its own port and
//! configuration): the same scenario, run by paramiko against both, must give the same
//! answers (status codes as paramiko raises them, sizes, modes, times, listings, long
//! names with the owners masked). Deliberate differences are tested apart: pure-sftpd
//! makes no symbolic links (as pure-ftpd). How many keys a client may try before the
//! connection ends is OpenSSH's too (MaxAuthTries 6).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PASSWORD, Server, Site, USER, have, have_file, require_root};

const SFTPD: &str = env!("CARGO_BIN_EXE_pure-sftpd");
/// The system account `scripts/install-test-deps.sh` makes (for the PAM tests too).
const SYSTEM_USER: &str = "pureftpd-tester";
const SYSTEM_PASSWORD: &str = "Tester pw 1";

/// The scenario: every step prints one line, `step: result`, where a refusal is the
/// exception paramiko raised and its errno.
const SCENARIO: &str = r#"
import paramiko, sys, stat, io, re
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t = paramiko.Transport(("127.0.0.1", port))
t.connect(username=user, password=password)
s = paramiko.SFTPClient.from_transport(t)
def step(name, f):
    try:
        r = f()
    except Exception as e:
        r = "%s %s" % (type(e).__name__, getattr(e, "errno", ""))
    print("%s: %s" % (name, r), flush=True)
def mode(path): return oct(stat.S_IMODE(s.stat(path).st_mode))
def long_name(directory, name):
    for a in s.listdir_attr(directory):
        if a.filename == name:
            # owners as numbers differ between the two accounts
            return re.sub(r"^(\S+\s+\d+)\s+\S+\s+\S+", r"\1 U G", a.longname.split(" " + name)[0])
step("cwd", lambda: s.normalize("."))
step("above the root", lambda: s.normalize("/../../.."))
s.chdir("/w")
step("put", lambda: s.putfo(io.BytesIO(b"x" * 100000), "f").st_size)
step("size", lambda: s.stat("f").st_size)
step("mode", lambda: mode("f"))
step("read", lambda: len(s.open("f").read()))
step("read past the end", lambda: s.open("f").read(10) if s.open("f").seek(200000) is None else "")
step("append", lambda: s.open("f", "a").write(b"yz"))
step("size after append", lambda: s.stat("f").st_size)
step("exclusive on existing", lambda: s.open("f", "x"))
step("exclusive new", lambda: s.open("g", "x").close())
step("rename", lambda: s.rename("g", "h"))
step("rename onto existing", lambda: s.rename("f", "h"))
step("rename missing", lambda: s.rename("nothing", "i"))
step("mkdir", lambda: s.mkdir("d"))
step("mkdir existing", lambda: s.mkdir("d"))
step("dir mode", lambda: mode("d"))
step("put in dir", lambda: s.putfo(io.BytesIO(b"in"), "d/e").st_size)
step("remove a directory", lambda: s.remove("d"))
step("rmdir not empty", lambda: s.rmdir("d"))
step("rmdir a file", lambda: s.rmdir("f"))
step("chmod", lambda: s.chmod("f", 0o600))
step("mode after chmod", lambda: mode("f"))
step("truncate", lambda: s.truncate("f", 10))
step("size after truncate", lambda: s.stat("f").st_size)
step("utime", lambda: s.utime("f", (1000000000, 1200000000)))
step("mtime", lambda: s.stat("f").st_mtime)
step("chown away", lambda: s.chown("f", 0, 0))
step("open missing", lambda: s.open("missing"))
step("stat missing", lambda: s.stat("missing"))
step("remove missing", lambda: s.remove("missing"))
step("listdir", lambda: sorted(s.listdir(".")))
step("listdir missing", lambda: s.listdir("missing"))
step("long name", lambda: long_name(".", "f"))
step("stat a directory as a file", lambda: s.open("d").read())
step("remove", lambda: s.remove("d/e"))
step("rmdir", lambda: s.rmdir("d"))
step("listdir after", lambda: sorted(s.listdir(".")))
step("remove the root", lambda: s.remove("/"))
step("rmdir the root", lambda: s.rmdir("/"))
step("rename the root", lambda: s.rename("/", "/w/r"))
step("remove the root by dots", lambda: s.remove("/w/.."))
s.close()
t.close()
"#;

fn run_scenario(port: u16, user: &str, password: &str, log: &dyn Fn() -> String) -> Vec<String> {
    let out = Command::new("timeout")
        .args([
            "120",
            "python3",
            "-c",
            SCENARIO,
            &port.to_string(),
            user,
            password,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the scenario failed: {}\nthe server said: {}",
        String::from_utf8_lossy(&out.stderr),
        log()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// OpenSSH's sshd, as the reference: password logins of the system account only,
/// `internal-sftp` chrooted to `root`.
struct Sshd {
    child: Child,
    port: u16,
}

impl Sshd {
    fn start(dir: &Path, root: &Path) -> Self {
        Self::start_with(dir, root, "PubkeyAuthentication no\n")
    }

    /// With `extra` lines of configuration.
    fn start_with(dir: &Path, root: &Path, extra: &str) -> Self {
        // sshd insists on its privilege-separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let key = dir.join("host_key");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(made.success());
        for _ in 0..5 {
            let port = pureftpd_tests::free_port();
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nPidFile none\n\
                     UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                     {extra}AllowUsers {SYSTEM_USER}\n\
                     Subsystem sftp internal-sftp\nForceCommand internal-sftp\n\
                     ChrootDirectory {}\nAllowTcpForwarding no\nX11Forwarding no\n",
                    key.display(),
                    root.display()
                ),
            )
            .unwrap();
            let mut child = Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sshd runs");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Self { child, port };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("sshd did not start");
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chroot as sshd wants it (root's, not writable by others) with `w`, the account's.
fn chroot_with_writable_dir(dir: &Path, uid: u32, gid: u32) -> std::path::PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("w")).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    nix::unistd::chown(
        &root.join("w"),
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
    )
    .unwrap();
    root
}

/// The system account sshd serves, where root, the client `client` and sshd are here;
/// `None` (said why) where not.
fn reference_account(client: &str) -> Option<nix::unistd::User> {
    if !require_root("sshd and the accounts' ids")
        || !have(client)
        || !have_file("/usr/sbin/sshd", "openssh-server")
    {
        return None;
    }
    let Ok(Some(account)) = nix::unistd::User::from_name(SYSTEM_USER) else {
        panic!("{SYSTEM_USER} is missing: run scripts/install-test-deps.sh as root");
    };
    Some(account)
}

#[test]
fn the_same_scenario_gives_openssh_internal_sftps_answers() {
    let Some(account) = reference_account("python3") else {
        return;
    };
    // The reference. sshd refuses a chroot with a component others may write, as /tmp
    // (or a checkout below it): this one is in /run, root's (removed at the end).
    let reference_dir = tempfile::Builder::new()
        .prefix("pureftpd-rs-sshd.")
        .tempdir_in("/run")
        .unwrap();
    let reference_root = chroot_with_writable_dir(
        reference_dir.path(),
        account.uid.as_raw(),
        account.gid.as_raw(),
    );
    let sshd = Sshd::start(reference_dir.path(), &reference_root);
    let expected = run_scenario(sshd.port, SYSTEM_USER, SYSTEM_PASSWORD, &|| {
        "(OpenSSH's sshd)".into()
    });
    drop(sshd);

    // Ours: a virtual account chrooted the same way.
    let site = Site::new();
    let ours_root = chroot_with_writable_dir(site.dir.path(), site.uid, site.gid);
    let pdb = site.dir.path().join("reference.pdb");
    let mut builder = puredb::Builder::new();
    let hash = pureftpd_account::password::create(
        &pureftpd_account::Password::from(PASSWORD),
        &pureftpd_account::password::HashPolicy::DEFAULT,
    )
    .unwrap();
    let line = format!(
        "{USER}:{hash}:{}:{}::{}/./",
        site.uid,
        site.gid,
        ours_root.display()
    );
    let record = pureftpd_account::Record::parse(line.as_bytes()).unwrap();
    let text = record.to_line();
    let colon = text.iter().position(|&b| b == b':').unwrap();
    builder.add(&text[..colon], &text[colon + 1..]).unwrap();
    builder.write_file(&pdb).unwrap();
    let keys = tempfile::tempdir().unwrap();
    let login = format!("puredb:{}", pdb.display());
    let key_dir = keys.path().join("ssh").display().to_string();
    let server = Server::start(
        Path::new(SFTPD),
        &["-l", &login, "-H", "--hostkeydir", &key_dir],
    );
    let ours = run_scenario(server.port, USER, PASSWORD, &|| server.stderr());

    assert_eq!(
        ours.len(),
        expected.len(),
        "ours: {ours:#?}\nOpenSSH: {expected:#?}"
    );
    let differing: Vec<_> = ours
        .iter()
        .zip(&expected)
        .filter(|(ours, theirs)| ours != theirs)
        .map(|(ours, theirs)| format!("ours {ours:?}, OpenSSH's {theirs:?}"))
        .collect();
    assert!(
        differing.is_empty(),
        "pure-sftpd against OpenSSH's internal-sftp:\n{}",
        differing.join("\n")
    );
}

/// Whether OpenSSH's sftp logs in as `user` trying `keys` in this order (no password).
fn logs_in_with_keys(port: u16, dir: &Path, user: &str, keys: &[&Path]) -> bool {
    let batch = dir.join("pwd.batch");
    std::fs::write(&batch, "pwd\nbye\n").unwrap();
    let mut command = common::sftp::openssh("sftp", port);
    common::sftp::keys_only(&mut command, keys)
        .args(["-o", "LogLevel=ERROR", "-b"])
        .arg(&batch)
        .arg(format!("{user}@127.0.0.1"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sftp runs")
        .success()
}

/// Five keys that are not listed, then one that is: in; six: the connection ends first.
/// The same with sshd's default MaxAuthTries (6), which counts each unlisted key offered
/// but not the client's opening `none` request.
#[test]
fn as_many_unlisted_keys_may_be_tried_as_with_sshd() {
    let Some(account) = reference_account("sftp") else {
        return;
    };
    let local = tempfile::tempdir().unwrap();
    let listed = common::sftp::key_pair(local.path(), "ed25519", "listed");
    let unlisted: Vec<std::path::PathBuf> = (0..6)
        .map(|i| common::sftp::key_pair(local.path(), "ed25519", &format!("unlisted-{i}")))
        .collect();
    let keys_after = |count: usize| -> Vec<&Path> {
        unlisted[..count]
            .iter()
            .map(std::path::PathBuf::as_path)
            .chain([listed.as_path()])
            .collect()
    };
    let tries = |port: u16, user: &str| -> Vec<bool> {
        [0, 5, 6]
            .iter()
            .map(|&count| logs_in_with_keys(port, local.path(), user, &keys_after(count)))
            .collect()
    };

    // sshd reads the listed key from a file of root's, as ours does.
    let reference_dir = tempfile::Builder::new()
        .prefix("pureftpd-rs-sshd.")
        .tempdir_in("/run")
        .unwrap();
    let root = chroot_with_writable_dir(
        reference_dir.path(),
        account.uid.as_raw(),
        account.gid.as_raw(),
    );
    let keys = reference_dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(keys.join(SYSTEM_USER), common::sftp::public(&listed)).unwrap();
    let sshd = Sshd::start_with(
        reference_dir.path(),
        &root,
        &format!(
            "PubkeyAuthentication yes\nAuthorizedKeysFile {}/%u\n",
            keys.display()
        ),
    );
    let theirs = tries(sshd.port, SYSTEM_USER);
    drop(sshd);

    let site = Site::new();
    let our_keys = common::sftp::key_dir(&[(USER, &common::sftp::public(&listed))]);
    let key_dir_arg = our_keys.path().display().to_string();
    let server = common::sftp::start(&site, &["--userkeydir", &key_dir_arg]);
    let ours = tries(server.port, USER);

    assert_eq!(theirs, [true, true, false], "OpenSSH's sshd");
    assert_eq!(ours, theirs, "pure-sftpd, then sshd: {}", server.stderr());
}
