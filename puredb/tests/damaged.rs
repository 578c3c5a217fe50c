//! A damaged database is an error that says to rebuild it, never a panic.

use puredb::{Builder, ErrorKind, FileReader, Reader};

fn sample() -> Vec<u8> {
    let mut builder = Builder::new();
    for i in 0..50 {
        builder
            .add(
                format!("user{i}").as_bytes(),
                format!("value{i}").as_bytes(),
            )
            .unwrap();
    }
    builder.to_bytes()
}

fn set_u32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
}

#[test]
fn bad_magic_is_refused_with_advice() {
    let mut bytes = sample();
    bytes[..4].copy_from_slice(b"PDB1");
    let err = Reader::new(bytes).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadMagic);
    assert!(err.to_string().contains("pure-pw mkdb"), "{err}");
}

#[test]
fn short_files_are_truncated_errors() {
    assert_eq!(
        Reader::new(b"".as_slice()).unwrap_err().kind(),
        ErrorKind::BadMagic
    );
    assert_eq!(
        Reader::new(b"PDB2".as_slice()).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    let bytes = sample();
    for len in [1031, 1032, 2000, bytes.len() - 1] {
        let cut = &bytes[..len];
        let result = Reader::new(cut).and_then(|r| {
            r.verify()?;
            Ok(())
        });
        assert!(result.is_err(), "a file cut at {len} bytes passed verify");
    }
}

#[test]
fn a_truncated_file_fails_lookups_cleanly() {
    let bytes = sample();
    let cut = &bytes[..bytes.len() - 3];
    let reader = Reader::new(cut).unwrap();
    // The last record lost its tail: looking it up is an error, others still work.
    let results: Vec<_> = (0..50)
        .map(|i| reader.get(format!("user{i}").as_bytes()))
        .collect();
    assert!(
        results
            .iter()
            .any(|r| r.as_ref().is_err_and(|e| e.kind() == ErrorKind::Truncated))
    );
    assert!(results.iter().filter(|r| matches!(r, Ok(Some(_)))).count() >= 49);
}

#[test]
fn offsets_out_of_range_are_corrupt() {
    let mut bytes = sample();
    // Point every bucket past the end of the file.
    for i in 0..257 {
        set_u32(&mut bytes, 4 + i * 4, u32::MAX - 8);
    }
    let reader = Reader::new(bytes.as_slice()).unwrap();
    for key in [b"user1".as_slice(), b"anything", b""] {
        assert!(reader.get(key).is_err());
    }
    assert!(reader.verify().is_err());
}

#[test]
fn a_slot_pointing_into_nowhere_is_caught() {
    let mut bytes = sample();
    // user0's slot: find it via the bucket table and corrupt its record offset.
    let bucket = puredb::format::bucket(puredb::hash(b"user0"));
    let start =
        u32::from_be_bytes(bytes[4 + bucket * 4..8 + bucket * 4].try_into().unwrap()) as usize;
    set_u32(&mut bytes, start + 4, 0xFFFF_FF00);
    let reader = Reader::new(bytes.as_slice()).unwrap();
    assert!(reader.get(b"user0").is_err());
    assert_eq!(reader.verify().unwrap_err().kind(), ErrorKind::Corrupt);
}

#[test]
fn verify_catches_a_record_that_does_not_hash_to_its_slot() {
    let mut bytes = sample();
    let data_start =
        u32::from_be_bytes(bytes[4 + 256 * 4..8 + 256 * 4].try_into().unwrap()) as usize;
    // The first byte of the first record's key.
    bytes[data_start + 4] ^= 0x01;
    let err = Reader::new(bytes).unwrap().verify().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(
        err.to_string().contains("does not hash to its slot"),
        "{err}"
    );
}

#[test]
fn every_single_byte_corruption_is_an_error_or_harmless() {
    let bytes = sample();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut damaged = bytes.clone();
            damaged[i] ^= flip;
            if let Ok(reader) = Reader::new(damaged.as_slice()) {
                let _ = reader.verify();
                for k in 0..50 {
                    let _ = reader.get(format!("user{k}").as_bytes());
                }
            }
        }
    }
}

#[test]
fn file_reader_reports_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.pdb");
    std::fs::write(&path, b"not a database at all").unwrap();
    let err = FileReader::open(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadMagic);
    assert!(err.to_string().contains("broken.pdb"), "{err}");
    let missing = FileReader::open(dir.path().join("missing.pdb")).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Io);
}
