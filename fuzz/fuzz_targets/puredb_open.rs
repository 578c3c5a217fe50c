//! Any bytes as a database: opening, looking up and verifying never panic, and a file
//! that passes `verify` finds each of its records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use puredb::Reader;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = Reader::new(data) else {
        return;
    };
    for key in [
        &b""[..],
        b"a",
        b"alice",
        &data[data.len().min(8)..data.len().min(12)],
    ] {
        let _ = reader.get(key);
    }
    if reader.verify().is_ok() {
        let mut seen = std::collections::HashSet::new();
        for record in reader.records() {
            let (_, key, value) = record.expect("a verified file has readable records");
            let found = reader.get(key).expect("a verified file has sound lookups");
            // The first record of a key wins.
            if seen.insert(key.to_vec()) {
                assert_eq!(found, Some(value));
            } else {
                assert!(found.is_some());
            }
        }
    }
});
