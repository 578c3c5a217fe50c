//! Whatever is written is read back: every key finds its first value, like a HashMap.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use puredb::{Builder, Reader};

fuzz_target!(|records: Vec<(Vec<u8>, Vec<u8>)>| {
    let mut builder = Builder::new();
    let mut oracle: HashMap<&[u8], &[u8]> = HashMap::new();
    for (key, value) in &records {
        builder.add(key, value).unwrap();
        oracle.entry(key).or_insert(value);
    }
    let bytes = builder.to_bytes();
    let reader = Reader::new(bytes.as_slice()).unwrap();
    assert_eq!(reader.verify().unwrap().records, records.len());
    for (key, value) in oracle {
        assert_eq!(reader.get(key).unwrap(), Some(value));
    }
});
