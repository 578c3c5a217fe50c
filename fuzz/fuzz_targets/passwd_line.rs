//! Any bytes as a passwd line: parsing never panics, and a parsed record written back
//! parses to the same record. (A short line is written with all 18 fields, so its
//! absent IP lists come back present and empty, which means the same: no restriction.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use pureftpd_account::{Account, Record};

fuzz_target!(|line: &[u8]| {
    let Ok(record) = Record::parse(line) else {
        return;
    };
    let written = record.to_line();
    let again = Record::parse(&written).expect("a written record parses");
    let mut expected = record.clone();
    for list in [
        &mut expected.allow_local_ips,
        &mut expected.deny_local_ips,
        &mut expected.allow_client_ips,
        &mut expected.deny_client_ips,
    ] {
        list.get_or_insert_with(Vec::new);
    }
    assert_eq!(again, expected);
    assert_eq!(again.to_line(), written);
    let _ = Account::from_record(record);
});
