//! What pure-sftpd's unprivileged SSH process may send its root monitor (and the other
//! way), as any bytes: decoding never panics, never accepts a field over its limit, and
//! whatever decodes encodes back to the very same bytes (one spelling per message).
#![no_main]

use ftpd::sftp::protocol::{Answer, MAX_KEY, MAX_LOGIN, MAX_PASSWORD, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(request) = Request::decode(bytes) {
        let (user, second, limit) = match &request {
            Request::Login { user, password } => (user, password, MAX_PASSWORD),
            Request::KeyOffered { user, key } | Request::KeyLogin { user, key } => {
                (user, key, MAX_KEY)
            }
        };
        assert!(user.len() <= MAX_LOGIN && second.len() <= limit);
        assert_eq!(request.encode(), bytes);
    }
    if let Ok(answer) = Answer::decode(bytes) {
        assert_eq!(answer.encode(), bytes);
    }
});
