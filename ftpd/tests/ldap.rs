//! `-l ldap:FILE` against a real slapd the tests start, with Pure-FTPd's schema: the same
//! configuration and entries through Debian's `pure-ftpd-ldap` and ours (both password
//! methods, the userPassword formats, filter injection attempts, disabled accounts, root
//! ids), a directory that is down or killed between logins (behind a relay), configuration
//! errors, per-user quota and measured bandwidth, and two of our servers sharing the
//! directory.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use common::dbservers::Slapd;
use common::relay::Relay;
use common::throughput::account_limits_hold;
use common::{Ftp, OURS, PASSWORD, Server, Site, USER, login_attempt, login_attempts, logs_in};

/// An `ou` of its own under the shared directory, and a site for homes and a `.pdb`.
struct Branch {
    ou: String,
    site: Site,
}

impl Branch {
    fn new() -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let slapd = Slapd::shared()?;
        let name = format!(
            "t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        slapd.add(&format!(
            "dn: ou={name},{}\nobjectClass: organizationalUnit\nou: {name}\n",
            Slapd::SUFFIX
        ));
        Some(Self {
            ou: format!("ou={name},{}", Slapd::SUFFIX),
            site: Site::with_home_suffix(""),
        })
    }

    /// Adds `uid` with `password` as userPassword (none when empty) and `extra`
    /// attribute lines (the site's uidNumber unless `extra` has one).
    fn add(&self, uid: &str, password: &str, extra: &str) {
        let uid_number = if extra.contains("uidNumber:") {
            String::new()
        } else {
            format!("uidNumber: {}\n", self.site.uid)
        };
        let mut ldif = format!(
            "dn: uid={uid},{ou}\nobjectClass: account\nobjectClass: posixAccount\n\
             objectClass: PureFTPdUser\nuid: {uid}\ncn: {uid}\n{uid_number}gidNumber: {g}\n\
             homeDirectory: {home}\n",
            ou = self.ou,
            g = self.site.gid,
            home = self.site.home.display()
        );
        if !password.is_empty() {
            ldif.push_str(&format!("userPassword: {password}\n"));
        }
        ldif.push_str(extra);
        Slapd::shared().unwrap().add(&ldif);
    }

    /// A configuration file with `method` (`BIND` or `PASSWORD`, the latter binding as
    /// the manager to read userPassword) and `extra` lines.
    fn config(&self, method: &str, extra: &str) -> PathBuf {
        let slapd = Slapd::shared().unwrap();
        let bind = if method == "PASSWORD" {
            format!(
                "LDAPBindDN {}\nLDAPBindPW {}\n",
                Slapd::ADMIN,
                Slapd::ADMIN_PASSWORD
            )
        } else {
            String::new()
        };
        let text = format!(
            "# written by the test\nLDAPServer 127.0.0.1\nLDAPPort {}\nLDAPBaseDN {}\n{bind}\
             LDAPAuthMethod {method}\n{extra}",
            slapd.port, self.ou
        );
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = self.site.dir.path().join(format!(
            "ldap-{}.conf",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn server(&self, binary: &Path, conf: &Path, more: &[&str], board: &Path) -> Server {
        let login = format!("ldap:{}", conf.display());
        let mut args = vec!["-l", &login, "-H", "-4"];
        args.extend_from_slice(more);
        Server::start_with_env(binary, &args, &[("PURE_FTPD_SCOREBOARD", board)])
    }
}

fn slappasswd(password: &str) -> String {
    let out = std::process::Command::new("slappasswd")
        .args(["-h", "{SSHA}", "-s", password])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn crypt_sha512(password: &str) -> String {
    let out = std::process::Command::new("openssl")
        .args(["passwd", "-6", "-salt", "saltsalt", password])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// (login, password typed); the entries are made by `seed`.
const CASES: &[(&str, &str)] = &[
    ("joe", "joe pw"),
    ("joe", "wrong"),
    ("joe", ""),
    ("crypted", "crypt pw"),
    ("crypted", "wrong"),
    ("ssha", "ssha pw"),
    ("disabled", "pw"),
    ("rootuid", "pw"),
    ("ftpuid", "pw"),
    ("o'brien", "pw"),
    // Filter injection attempts, and characters Pure-FTPd never looks up.
    ("*)(uid=*", "joe pw"),
    ("jo*", "joe pw"),
    ("joe)(|(uid=*", "joe pw"),
    ("nobody", "x"),
];

fn seed(branch: &Branch) {
    branch.add("joe", "joe pw", "FTPStatus: enabled\n");
    branch.add(
        "crypted",
        &format!("{{crypt}}{}", crypt_sha512("crypt pw")),
        "",
    );
    // OpenLDAP's salted SHA-1: slapd checks it when the account binds; Pure-FTPd
    // 1.0.50 reading userPassword compares it as cleartext.
    branch.add("ssha", &slappasswd("ssha pw"), "");
    branch.add("disabled", "pw", "FTPStatus: disabled\n");
    // FTPuid 0 falls back to uidNumber; uidNumber 0 with no default is root.
    branch.add("rootuid", "pw", "FTPuid: 0\nuidNumber: 0\n");
    branch.add("ftpuid", "pw", "FTPuid: 65534\nFTPgid: 65534\n");
    branch.add("o'brien", "pw", "");
}

#[test]
fn logins_and_refusals_as_debians() {
    let Some(branch) = Branch::new() else { return };
    let Some(theirs) = common::oracle("pure-ftpd-ldap") else {
        return;
    };
    seed(&branch);
    let board = branch.site.scoreboard();
    for method in ["BIND", "PASSWORD"] {
        let conf = branch.config(method, "");
        let ours = branch.server(Path::new(OURS), &conf, &[], &board);
        let debian = branch.server(&theirs, &conf, &[], &board);
        let ours_replies = login_attempts(ours.port, CASES);
        assert_eq!(ours_replies, login_attempts(debian.port, CASES), "{method}");
        let accepted: Vec<&str> = CASES
            .iter()
            .zip(&ours_replies)
            .filter(|(_, r)| r.iter().any(|l| l.starts_with("230")))
            .map(|((login, _), _)| *login)
            .collect();
        let expected: &[&str] = if method == "BIND" {
            &["joe", "crypted", "ssha", "ftpuid", "o'brien"]
        } else {
            &["joe", "crypted", "ftpuid", "o'brien"]
        };
        assert_eq!(accepted, expected, "{method}");
        assert!(!ours.stderr().contains(Slapd::ADMIN_PASSWORD));
    }
}

#[test]
fn a_directory_that_is_down_fails_over() {
    let Some(branch) = Branch::new() else { return };
    branch.add("joe", "joe pw", "");
    // A port nobody listens on: a relay's, taken down (on 127.0.0.1 a server under test
    // could open a passive data port on it meanwhile).
    let slapd = std::net::SocketAddr::from(([127, 0, 0, 1], Slapd::shared().unwrap().port));
    let mut nobody_listens = Relay::to(slapd);
    nobody_listens.down();
    let conf = branch.config("BIND", "");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, nobody_listens.in_config(&text, "LDAP", slapd)).unwrap();
    let pdb = format!("puredb:{}", branch.site.pdb.display());
    let board = branch.site.scoreboard();
    let mut binaries = vec![PathBuf::from(OURS)];
    binaries.extend(common::oracle("pure-ftpd-ldap"));
    for binary in binaries {
        let server = branch.server(&binary, &conf, &["-l", &pdb], &board);
        let started = std::time::Instant::now();
        assert_eq!(
            login_attempt(server.port, "joe", "joe pw").last().unwrap(),
            "530 Login authentication failed",
            "{}",
            binary.display()
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(15));
        assert!(logs_in(server.port, USER, PASSWORD), "{}", binary.display());
    }
}

#[test]
fn a_directory_killed_between_logins_fails_over_and_comes_back() {
    let Some(branch) = Branch::new() else { return };
    branch.add("joe", "joe pw", "");
    let slapd_port = Slapd::shared().unwrap().port;
    let slapd = std::net::SocketAddr::from(([127, 0, 0, 1], slapd_port));
    let mut relay = Relay::to(slapd);
    let conf = branch.config("BIND", "");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, relay.in_config(&text, "LDAP", slapd)).unwrap();
    let pdb = format!("puredb:{}", branch.site.pdb.display());
    let board = branch.site.scoreboard();
    let ours = branch.server(Path::new(OURS), &conf, &["-l", &pdb], &board);
    assert!(logs_in(ours.port, "joe", "joe pw"));
    let mut established = Ftp::login(ours.port, "joe", "joe pw");
    relay.down();
    assert_eq!(
        login_attempt(ours.port, "joe", "joe pw").last().unwrap(),
        "530 Login authentication failed"
    );
    assert!(logs_in(ours.port, USER, PASSWORD));
    assert_eq!(established.cmd("PWD").code, 257);
    // slapd is back: the same server logs joe in again, without a restart.
    relay.up();
    assert!(logs_in(ours.port, "joe", "joe pw"));
    assert_eq!(established.cmd("QUIT").code, 221);
}

#[test]
fn bandwidth_from_the_entry() {
    let Some(branch) = Branch::new() else { return };
    // KB/s, as in Pure-FTPd's schema; the server's own -T is higher.
    branch.add(
        "slow",
        "pw",
        "FTPDownloadBandwidth: 400\nFTPUploadBandwidth: 200\n",
    );
    std::fs::write(branch.site.home.join("big.bin"), vec![b'b'; 1024 * 1024]).unwrap();
    let conf = branch.config("PASSWORD", "");
    let board = branch.site.scoreboard();
    let ours = branch.server(Path::new(OURS), &conf, &["-T", "5000"], &board);
    let (down, up) = account_limits_hold(ours.port, ("slow", "pw"), "big.bin", (400.0, 200.0));
    eprintln!("entry limited to 400/200 KB/s: {down:.0} KB/s down, {up:.0} KB/s up");
    if let Some(theirs) = common::oracle("pure-ftpd-ldap") {
        let debian = branch.server(&theirs, &conf, &["-T", "5000"], &board);
        assert_eq!(
            login_attempt(ours.port, "slow", "pw"),
            login_attempt(debian.port, "slow", "pw")
        );
    }
}

#[test]
fn quota_from_the_entry_and_defaults() {
    let Some(branch) = Branch::new() else { return };
    // Only a files quota: it applies (Pure-FTPd 1.0.50 refuses every upload then).
    branch.add("quota", "pw", "FTPQuotaFiles: 1\n");
    let conf = branch.config("PASSWORD", "");
    let board = branch.site.scoreboard();
    let ours = branch.server(Path::new(OURS), &conf, &[], &board);
    let sub = branch.site.home.join("q");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let mut ftp = Ftp::login(ours.port, "quota", "pw");
    ftp.cmd("TYPE I");
    let (first, last) = ftp.upload("STOR q/one", b"1");
    let code = last.map_or(first.code, |r| r.code);
    assert_eq!(code, 552, "the home already holds more than one file");
    // No uid in the entry: LDAPDefaultUID, and without it root, refused.
    branch.add("zero", "pw", "uidNumber: 0\n");
    assert!(!logs_in(ours.port, "zero", "pw"));
    let conf = branch.config("PASSWORD", &format!("LDAPDefaultUID {}\n", branch.site.uid));
    let ours = branch.server(Path::new(OURS), &conf, &[], &board);
    assert!(logs_in(ours.port, "zero", "pw"));
}

#[test]
fn configuration_errors_stop_the_start_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "LDAPBaseDN dc=x\nLDAPAuthMethod maybe\n",
            "LDAPAuthMethod maybe",
        ),
        ("LDAPServer 127.0.0.1\n", "no LDAPBaseDN"),
        ("LDAPBaseDN dc=x\nLDAPFilter (uid=%s)\n", "%"),
        ("LDAPBaseDN dc=x\nLDAPFilter (uid=\\U)\n", "\\L"),
        ("LDAPBaseDN dc=x\nLDAPPassword x\n", "line 2"),
    ];
    for (text, expected) in cases {
        let conf = dir.path().join("bad-ldap.conf");
        std::fs::write(&conf, text).unwrap();
        let login = format!("ldap:{}", conf.display());
        let out = pureftpd_tests::run(
            Path::new(OURS),
            ["-l", &login, "-S", "127.0.0.1,1"],
            &[],
            "",
        );
        assert_ne!(out.code, 0, "{text}");
        assert!(out.stderr.contains(expected), "{text}: {}", out.stderr);
        assert!(out.stderr.contains("bad-ldap.conf"), "{}", out.stderr);
    }
}

#[test]
fn several_servers_share_one_directory() {
    let Some(branch) = Branch::new() else { return };
    let conf = branch.config("BIND", "");
    let boards = tempfile::tempdir().unwrap();
    let nodes = [
        branch.server(Path::new(OURS), &conf, &[], &boards.path().join("a")),
        branch.server(Path::new(OURS), &conf, &[], &boards.path().join("b")),
    ];
    assert!(!logs_in(nodes[0].port, "newcomer", "pw"));
    branch.add("newcomer", "pw", "FTPStatus: enabled\n");
    for node in &nodes {
        assert!(logs_in(node.port, "newcomer", "pw"));
    }
    Slapd::shared().unwrap().modify(&format!(
        "dn: uid=newcomer,{}\nchangetype: modify\nreplace: FTPStatus\nFTPStatus: disabled\n",
        branch.ou
    ));
    for node in &nodes {
        assert!(!logs_in(node.port, "newcomer", "pw"));
    }
}

#[test]
fn starttls_and_ldaps_check_the_directorys_certificate() {
    let Some(branch) = Branch::new() else { return };
    branch.add("joe", "joe pw", "");
    let slapd = Slapd::shared().unwrap();
    let board = branch.site.scoreboard();
    let start_tls = branch.config("BIND", "LDAPUseTLS True\n");
    let ldaps = branch.config("BIND", "").display().to_string();
    let text = std::fs::read_to_string(&ldaps).unwrap().replace(
        &format!("LDAPPort {}", slapd.port),
        &format!("LDAPScheme ldaps\nLDAPPort {}", slapd.tls_port),
    );
    std::fs::write(&ldaps, text).unwrap();
    let ldaps = PathBuf::from(ldaps);
    // The test CA as OpenLDAP's clients take it (LDAPTLS_CACERT): both log in.
    for conf in [&start_tls, &ldaps] {
        let login = format!("ldap:{}", conf.display());
        let server = Server::start_with_env(
            Path::new(OURS),
            &["-l", &login, "-H", "-4"],
            &[
                ("PURE_FTPD_SCOREBOARD", &board),
                ("LDAPTLS_CACERT", &slapd.ca),
            ],
        );
        assert!(logs_in(server.port, "joe", "joe pw"), "{}", conf.display());
    }
    // Without it the system's authorities do not know the directory's: refused.
    for conf in [&start_tls, &ldaps] {
        let server = branch.server(Path::new(OURS), conf, &[], &board);
        assert!(!logs_in(server.port, "joe", "joe pw"), "{}", conf.display());
    }
}

#[test]
fn ratio_from_the_entry_as_debians() {
    let Some(branch) = Branch::new() else { return };
    let Some(theirs) = common::oracle("pure-ftpd-ldap") else {
        return;
    };
    branch.add("ratio", "pw", "FTPUploadRatio: 1\nFTPDownloadRatio: 1\n");
    std::fs::write(branch.site.home.join("big.bin"), vec![b'b'; 5000]).unwrap();
    let conf = branch.config("PASSWORD", "");
    let board = branch.site.scoreboard();
    let mut codes = vec![];
    for binary in [PathBuf::from(OURS), theirs] {
        let server = branch.server(&binary, &conf, &[], &board);
        let mut ftp = Ftp::login(server.port, "ratio", "pw");
        ftp.cmd("TYPE I");
        let (first, _, _) = ftp.download("RETR big.bin");
        codes.push(first.text());
    }
    // A 1:1 ratio and nothing uploaded yet: no download, in the same words.
    assert_eq!(codes[0], codes[1]);
    assert!(!codes[0].starts_with("150"), "{codes:?}");
}

/// pure-sftpd's key logins take the account from the directory without binding as it
/// (both methods): the entry must be found and enabled, with non-root ids.
#[test]
fn ldap_accounts_log_in_to_pure_sftpd_with_a_listed_key() {
    use common::sftp::{
        key_dir, key_pair, public, random_bytes, sftp_with_key, start_with_login, text,
    };
    use std::os::unix::fs::MetadataExt;
    let Some(branch) = Branch::new() else { return };
    if !common::require_root("switching to the account's ids") || !common::have("sftp") {
        return;
    }
    seed(&branch);
    let local = tempfile::tempdir().unwrap();
    let key = key_pair(local.path(), "ed25519", "id");
    let listed = public(&key);
    let logins = ["joe", "disabled", "rootuid", "nobody"];
    let files: Vec<(&str, &str)> = logins.iter().map(|l| (*l, listed.as_str())).collect();
    let keys = key_dir(&files);
    let up = random_bytes(50_003);
    std::fs::write(local.path().join("up.bin"), &up).unwrap();
    let site = &branch.site;
    for method in ["BIND", "PASSWORD"] {
        let conf = branch.config(method, "");
        let server = start_with_login(
            site,
            &format!("ldap:{}", conf.display()),
            &["--userkeydir", &keys.path().display().to_string()],
        );
        let _ = std::fs::remove_file(site.home.join("up.bin"));
        let out = sftp_with_key(server.port, local.path(), "joe", &key, &[]);
        assert!(
            out.status.success(),
            "{method}: {}\n{}",
            text(&out),
            server.stderr()
        );
        assert_eq!(site.read("up.bin"), up);
        let meta = std::fs::metadata(site.home.join("up.bin")).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (site.uid, site.gid));
        for refused in &logins[1..] {
            let out = sftp_with_key(server.port, local.path(), refused, &key, &[]);
            assert!(!out.status.success(), "{method} {refused}: {}", text(&out));
        }
    }
}
