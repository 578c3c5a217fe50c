//! Any current directory, home and client path: the path the server resolves is
//! absolute and clean (no `.`, `..` or empty component), so it cannot climb above the
//! root before the kernel resolves it inside the root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, Vec<u8>, Vec<u8>)| {
    let (cwd, home, arg) = input;
    let cwd = ftpd::vfs::normalize(b"/", b"/", &cwd);
    let home = ftpd::vfs::normalize(b"/", b"/", &home);
    let path = ftpd::vfs::normalize(&cwd, &home, &arg);
    assert!(path.starts_with(b"/"));
    if path != b"/" {
        for part in path[1..].split(|&b| b == b'/') {
            assert!(
                !part.is_empty() && part != b"." && part != b"..",
                "{path:?}"
            );
        }
    }
    assert_eq!(
        ftpd::vfs::normalize(b"/", b"/", &path),
        path,
        "normalizing is idempotent"
    );
});
