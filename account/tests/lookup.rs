//! The API a server uses: find a login in a `.pdb`, type its record, check a password.

use std::path::Path;

use puredb::Builder;
use pureftpd_account::password::{HashPolicy, create, verify};
use pureftpd_account::{LookupError, Password, Record, find_account};

fn write_pdb(path: &Path, lines: &[&[u8]]) {
    let mut builder = Builder::new();
    for line in lines {
        let colon = line.iter().position(|&b| b == b':').unwrap();
        builder.add(&line[..colon], &line[colon + 1..]).unwrap();
    }
    builder.write_file(path).unwrap();
}

#[test]
fn finds_types_and_checks_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let pdb = dir.path().join("pureftpd.pdb");
    let hash = create(&Password::from("secret"), &HashPolicy::DEFAULT).unwrap();
    let mut record = Record::parse(b"alice:x:1001:1002:Alice:/srv/ftp/alice/./").unwrap();
    record.password = hash.into_bytes();
    record.upload_bandwidth = Some(51_200);
    record.quota_size = Some(20 << 20);
    record.max_sessions = Some(3);
    write_pdb(&pdb, &[&record.to_line(), b"broken:x:0:0::/nowhere"]);

    let alice = find_account(&pdb, b"alice").unwrap().unwrap();
    assert_eq!((alice.uid, alice.gid), (1001, 1002));
    assert!(alice.home.chroot);
    assert_eq!(alice.home.root, Path::new("/srv/ftp/alice/"));
    assert_eq!(alice.upload_bandwidth, Some(51_200));
    assert_eq!(alice.quota_size, Some(20 << 20));
    assert_eq!(alice.max_sessions, Some(3));
    assert_eq!(
        verify(&Password::from("secret"), &alice.password_hash),
        Ok(true)
    );
    assert_eq!(
        verify(&Password::from("Secret"), &alice.password_hash),
        Ok(false)
    );

    assert!(find_account(&pdb, b"bob").unwrap().is_none());
    let err = find_account(&pdb, b"broken").unwrap_err();
    assert!(matches!(err, LookupError::Record { .. }));
    assert!(err.to_string().contains("uid"), "{err}");
}

#[test]
fn a_replaced_database_is_seen_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pdb = dir.path().join("pureftpd.pdb");
    write_pdb(&pdb, &[b"alice:h:1:1::/a"]);
    assert!(find_account(&pdb, b"bob").unwrap().is_none());
    write_pdb(&pdb, &[b"alice:h:1:1::/a", b"bob:h:2:2::/b"]);
    assert_eq!(find_account(&pdb, b"bob").unwrap().unwrap().uid, 2);
}

#[test]
fn a_missing_or_damaged_database_is_an_error_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let pdb = dir.path().join("pureftpd.pdb");
    assert!(matches!(
        find_account(&pdb, b"alice"),
        Err(LookupError::Database(_))
    ));
    std::fs::write(&pdb, b"garbage").unwrap();
    let err = find_account(&pdb, b"alice").unwrap_err();
    assert!(err.to_string().contains("pure-pw mkdb"), "{err}");
}
