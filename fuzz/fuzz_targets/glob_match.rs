//! Any pattern against any name: the matcher answers in time bounded by the product of
//! their lengths (libFuzzer's `-timeout` in scripts/fuzz.sh fails a slow input, and this
//! target checks a tighter bound itself), and agrees with the obvious cases: a pattern
//! without wildcards matches only what it names (its escapes undone), `*` every name
//! without a leading dot.
#![no_main]

use std::time::{Duration, Instant};

use ftpd::vfs::glob::{glob_match, has_wildcards, unescape};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (pattern, name) = input;
    let started = Instant::now();
    let matched = glob_match(&pattern, &name);
    // Generous for an optimised build: 4 KiB × 4 KiB inputs take a few milliseconds.
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{} bytes of pattern against {} bytes of name took {:?}",
        pattern.len(),
        name.len(),
        started.elapsed()
    );
    if !has_wildcards(&pattern) {
        assert_eq!(matched, unescape(&pattern) == name);
    }
    if !name.starts_with(b".") {
        assert!(glob_match(b"*", &name));
    }
});
