//! What the unprivileged pre-login process may send the root monitor (and the other
//! way), as any bytes: decoding never panics, never accepts a value over its limit, and
//! whatever decodes encodes back to the very same bytes (one spelling per message, so
//! nothing can be smuggled in a second reading). Then a whole conversation, as any
//! sequence of datagrams and verdicts: the monitor's rules never let an account be
//! entered without an accepted login first, never ask for a certificate without `-3`,
//! twice, or once under TLS, and once the session has ended nothing revives it.
#![no_main]

use ftpd::privsep::protocol::{Answer, MAX_LOGIN, MAX_PASSWORD, MAX_PENDING, Request};
use ftpd::privsep::rules::{Rules, Step};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, bool, Vec<(Vec<u8>, u8)>)| {
    let (bytes, certificates, conversation) = input;
    if let Ok(request) = Request::decode(&bytes) {
        match &request {
            Request::User { name } => assert!(name.len() <= MAX_LOGIN),
            Request::Pass { password, .. } => assert!(password.len() <= MAX_PASSWORD),
            Request::Handover { pending, .. } => assert!(pending.len() <= MAX_PENDING),
            _ => {}
        }
        assert_eq!(request.encode(), bytes);
    }
    if let Ok(answer) = Answer::decode(&bytes) {
        assert_eq!(answer.encode(), bytes);
    }
    let mut rules = Rules::new(certificates);
    let (mut accepted, mut ended, mut encrypted) = (false, false, false);
    let mut certificate_asked = false;
    for (datagram, verdict) in conversation {
        let Ok(request) = Request::decode(&datagram) else {
            continue;
        };
        match rules.step(request) {
            Step::User(_) | Step::Pass { .. } => {
                assert!(!ended && !accepted);
                // The login code's verdict: accepted, refused, or refused for good.
                match verdict % 3 {
                    0 => {
                        rules.accepted();
                        accepted = true;
                    }
                    1 => {}
                    _ => {
                        rules.close();
                        ended = true;
                    }
                }
            }
            Step::Certificate(_) => {
                assert!(certificates && !certificate_asked && !encrypted && !ended && !accepted);
                certificate_asked = true;
            }
            Step::Encrypted => {
                assert!(!encrypted && !ended && !accepted);
                encrypted = true;
            }
            Step::EnterAccount {
                encrypted: relayed, ..
            } => {
                assert!(accepted && !ended);
                assert_eq!(relayed, encrypted);
                ended = true;
            }
            Step::Abort(_) => ended = true,
        }
        assert_eq!(rules.is_closed(), ended);
    }
});
