//! Any line: parsing never panics, is deterministic, and what needs a login is refused
//! before it the same way whatever the argument.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pureftpd_proto::command::{Parsed, parse};

fuzz_target!(|line: &[u8]| {
    let first = parse(line);
    assert_eq!(first, parse(line));
    if let Parsed::Command(command) = first {
        let _ = command.allowed_before_login();
    }
});
