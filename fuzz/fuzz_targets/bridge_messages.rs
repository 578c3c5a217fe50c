//! What daemons, scripts and other processes hand the server and the tools, as any
//! bytes: extauth and certd replies, requests to the daemons, upload-pipe records
//! (split anywhere), scoreboard records and `.ftpquota` text. None may panic; an
//! accepted extauth reply always names a uid and gid above 0 and an absolute home; the
//! upload-pipe decoder yields the same records whatever the split, none with a control
//! byte; a scoreboard record that parses renders back to one that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pureftpd_bridge::{auth, cert, upload};

fuzz_target!(|input: (Vec<u8>, u8)| {
    let (bytes, cut) = input;
    if let auth::Reply::Accepted(account) = auth::parse_reply(&bytes) {
        assert!(account.uid > 0 && account.gid > 0 && account.dir.starts_with(b"/"));
    }
    let _ = auth::environment(&bytes);
    let _ = cert::parse_reply(&bytes);
    let _ = cert::environment(&bytes);

    let at = usize::from(cut) % (bytes.len() + 1);
    let whole = upload::Decoder::default().push(&bytes);
    let mut split = upload::Decoder::default();
    let mut pieces = split.push(&bytes[..at]);
    pieces.extend(split.push(&bytes[at..]));
    assert_eq!(whole, pieces);
    for record in &whole {
        assert!(
            !record
                .login
                .iter()
                .chain(&record.path)
                .any(|&b| b < 0x20 || b == 0x7f)
        );
    }

    if let Ok(record) = pureftpd_scoreboard::Record::parse(&bytes) {
        let again = pureftpd_scoreboard::Record::parse(&record.render());
        assert!(again.is_ok());
    }
    let _ = pureftpd_quota::Usage::parse(&bytes);
});
