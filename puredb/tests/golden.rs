//! Byte-for-byte compatibility with files written by Debian's `pure-pw mkdb`
//! (see `data/README.md` for how they were made).

use puredb::{Builder, FileReader, Reader};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// The (key, value) pairs `pure-pw mkdb` indexes for a passwd file: key before the first
/// colon, value everything after it; comments, blank lines, lines without a colon and
/// lines with nothing after it are skipped.
fn mkdb_records(passwd: &[u8]) -> Vec<(&[u8], &[u8])> {
    passwd
        .split(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b"#"))
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let value = &line[colon + 1..];
            (!value.is_empty()).then_some((&line[..colon], value))
        })
        .collect()
}

fn build(passwd: &str) -> Vec<u8> {
    let text = std::fs::read(format!("{DATA}/{passwd}")).unwrap();
    let mut builder = Builder::new();
    for (key, value) in mkdb_records(&text) {
        builder.add(key, value).unwrap();
    }
    builder.to_bytes()
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{name}")).unwrap()
}

#[test]
fn writes_the_same_bytes_as_pure_pw_mkdb() {
    for (passwd, pdb) in [("three.passwd", "three.pdb"), ("many.passwd", "many.pdb")] {
        assert!(build(passwd) == golden(pdb), "{pdb} differs from ours");
    }
    assert_eq!(Builder::new().to_bytes(), golden("empty.pdb"));
}

#[test]
fn reads_files_written_by_pure_pw() {
    let bytes = golden("three.pdb");
    let reader = Reader::new(bytes.as_slice()).unwrap();
    assert_eq!(reader.verify().unwrap().records, 3);
    let bob = reader.get(b"bob").unwrap().unwrap();
    assert!(bob.starts_with(b"$argon2id$"));
    assert!(bob.ends_with(b":10.1.1.1:900-1800"));
    assert_eq!(reader.get(b"dave").unwrap(), None);
    assert_eq!(reader.get(b"").unwrap(), None);
    assert_eq!(reader.get(b"bo").unwrap(), None);
}

#[test]
fn first_duplicate_wins_and_same_bucket_keys_are_found() {
    let reader = FileReader::open(format!("{DATA}/many.pdb")).unwrap();
    assert_eq!(reader.verify().unwrap().records, 302);
    // u18 and u90 share bucket 249; u18 was added twice.
    assert!(reader.get(b"u18").unwrap().unwrap().starts_with(b"$1$"));
    assert!(
        reader
            .get(b"u90")
            .unwrap()
            .unwrap()
            .ends_with(b":/srv/u90/./::::::::::::")
    );
    assert_eq!(
        reader.get("café".as_bytes()).unwrap().unwrap(),
        b"x:1:1::/c"
    );
    assert_eq!(
        reader.get(b"x").unwrap(),
        None,
        "mkdb skips a line with an empty value"
    );
    for i in 0..300 {
        let key = format!("u{i}");
        let value = reader.get(key.as_bytes()).unwrap().unwrap();
        let uid = format!(":{}:{}::", 1000 + i, 1000 + i);
        assert!(
            value.windows(uid.len()).any(|w| w == uid.as_bytes()),
            "{key}"
        );
    }
}
