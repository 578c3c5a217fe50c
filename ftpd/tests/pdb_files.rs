//! `.pdb` files as they meet the server after a swap: built by Debian's mkdb from lines
//! ours would once refuse, or unreadable and corrupt. As Pure-FTPd: the user of an
//! odd but readable record logs in; a database that cannot be read ends the session
//! with `421 Unable to read the indexed puredb file`, not a `530` that makes users
//! think their password is wrong.

mod common;

use common::{Ftp, PASSWORD, Site, USER, oracle};

/// A passwd line with fields after the 18th (a trailing colon): Debian's mkdb keeps
/// it, and the user must still log in once the binaries are swapped.
#[test]
fn a_record_with_a_nineteenth_field_logs_in() {
    use pureftpd_account::password::{HashPolicy, create};
    let site = Site::new();
    let hash = create(
        &pureftpd_account::Password::from(PASSWORD),
        &HashPolicy::DEFAULT,
    )
    .unwrap();
    let line = format!(
        "{USER}:{hash}:{}:{}::{}/./::::::::::::::\n",
        site.uid,
        site.gid,
        site.home.display()
    );
    let passwd = site.dir.path().join("pureftpd.passwd");
    std::fs::write(&passwd, line).unwrap();
    let mut makers = vec![pureftpd_tests::workspace_binary("pure-pw", "pure-pw")];
    makers.extend(oracle("pure-pw"));
    for maker in makers {
        let _ = std::fs::remove_file(&site.pdb);
        let made = std::process::Command::new(&maker)
            .arg("mkdb")
            .arg(&site.pdb)
            .env("PURE_PASSWDFILE", &passwd)
            .output()
            .unwrap();
        assert!(made.status.success(), "{}: {made:?}", maker.display());
        let server = site.ours(&[]);
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        assert_eq!(ftp.cmd("PWD").code, 257, "{}", maker.display());
    }
}

/// The PASS reply for alice on a fresh connection, and whether the session ended.
fn login_outcome(port: u16) -> (String, bool) {
    let (mut ftp, _) = Ftp::connect(port);
    ftp.cmd(&format!("USER {USER}"));
    let reply = ftp.cmd(&format!("PASS {PASSWORD}")).text();
    (reply, ftp.closed())
}

#[test]
fn an_unreadable_database_is_a_421_as_with_debian() {
    let binaries = common::ours_and_debians();
    let mut seen = Vec::new();
    for binary in &binaries {
        let site = Site::new();
        let good = std::fs::read(&site.pdb).unwrap();
        let server = site.start(binary, &[]);
        let mut outcomes = Vec::new();
        // Garbage, a database cut in half, no file at all.
        for damage in 0..3 {
            match damage {
                0 => std::fs::write(&site.pdb, b"this is not a PureDB file at all").unwrap(),
                1 => std::fs::write(&site.pdb, &good[..good.len() / 2]).unwrap(),
                _ => std::fs::remove_file(&site.pdb).unwrap(),
            }
            outcomes.push(login_outcome(server.port));
        }
        // Repaired, it works again without a restart.
        std::fs::write(&site.pdb, &good).unwrap();
        assert_eq!(
            Ftp::login(server.port, USER, PASSWORD).cmd("NOOP").code,
            200
        );
        seen.push(outcomes);
    }
    for (reply, closed) in &seen[0] {
        assert_eq!(
            reply,
            "421 Unable to read the indexed puredb file (or old format detected) - Try pure-pw mkdb"
        );
        assert!(closed);
    }
    if let Some(theirs) = seen.get(1) {
        // A database cut in half opens for Debian's, which then finds no alice and
        // answers 530; ours checks the whole structure and calls it damaged.
        assert_eq!(theirs[1].0, "530 Login authentication failed");
        assert_eq!(
            (&seen[0][0], &seen[0][2]),
            (&theirs[0], &theirs[2]),
            "ours, Debian's"
        );
    }
}
