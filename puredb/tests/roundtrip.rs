//! Whatever is written is read back, and matches a `HashMap` oracle.

use std::collections::HashMap;

use proptest::prelude::*;
use puredb::{Builder, FileReader, Reader};

proptest! {
    #[test]
    fn every_record_is_found(records in prop::collection::vec(
        (prop::collection::vec(any::<u8>(), 0..12), prop::collection::vec(any::<u8>(), 0..40)),
        0..200,
    ), probes in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..50)) {
        let mut builder = Builder::new();
        let mut oracle: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for (key, value) in &records {
            builder.add(key, value).unwrap();
            oracle.entry(key.clone()).or_insert_with(|| value.clone());
        }
        let bytes = builder.to_bytes();
        let reader = Reader::new(bytes.as_slice()).unwrap();
        prop_assert_eq!(reader.verify().unwrap().records, records.len());
        for (key, value) in &oracle {
            prop_assert_eq!(reader.get(key).unwrap(), Some(value.as_slice()));
        }
        for probe in &probes {
            prop_assert_eq!(reader.get(probe).unwrap(), oracle.get(probe).map(Vec::as_slice));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..3000),
                                   key in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut data = bytes;
        if data.len() >= 4 { data[..4].copy_from_slice(b"PDB2"); }
        if let Ok(reader) = Reader::new(data.as_slice()) {
            let _ = reader.get(&key);
            let _ = reader.verify();
        }
    }
}

#[test]
fn write_file_replaces_atomically_and_privately() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pureftpd.pdb");
    std::fs::write(&path, b"old contents").unwrap();
    let mut builder = Builder::new();
    builder.add(b"alice", b"hash:1:1::/home/alice").unwrap();
    builder.write_file(&path).unwrap();
    let reader = FileReader::open(&path).unwrap();
    assert_eq!(
        reader.get(b"alice").unwrap().unwrap(),
        b"hash:1:1::/home/alice"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temporary files were left behind");
}

#[test]
fn a_failed_write_leaves_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("pureftpd.pdb");
    let err = Builder::new().write_file(&path).unwrap_err();
    assert_eq!(err.kind(), puredb::ErrorKind::Io);
    assert!(err.to_string().contains("pureftpd.pdb"), "{err}");
}
