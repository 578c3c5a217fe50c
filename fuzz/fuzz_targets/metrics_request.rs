//! What a scraper may send the metrics endpoint, as any bytes: the answer is always one
//! well-formed HTTP/1.1 response (a status line, headers with the body's exact length,
//! `Connection: close`), the page is made only for `GET` or `HEAD` of `/metrics`, and
//! only `GET` gets it as a body.
#![no_main]

use ftpd::metrics::endpoint::{MAX_REQUEST, respond};
use libfuzzer_sys::fuzz_target;

const PAGE: &str = "pureftpd_up 1\n";

fuzz_target!(|request: &[u8]| {
    let mut made = false;
    let response = respond(request, || {
        made = true;
        PAGE.to_string()
    });
    let text = String::from_utf8(response).expect("the response is text");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers end");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap();
    assert!(status.starts_with("HTTP/1.1 "), "{status}");
    let code: u16 = status[9..12].parse().unwrap();
    let length: usize = lines
        .clone()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("a length")
        .parse()
        .unwrap();
    assert!(lines.any(|l| l == "Connection: close"));
    assert!(body.is_empty() || body.len() == length);
    if made {
        assert_eq!(code, 200);
        assert!(request.len() <= MAX_REQUEST);
        assert!(request.starts_with(b"GET /metrics") || request.starts_with(b"HEAD /metrics"));
        assert!(body.is_empty() || body == PAGE);
        assert_eq!(body.is_empty(), request.starts_with(b"HEAD"));
    } else {
        assert!(!body.contains("pureftpd_up"));
    }
});
