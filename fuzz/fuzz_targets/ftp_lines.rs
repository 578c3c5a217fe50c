//! Any byte stream, split anywhere: the framer yields the same lines as when fed in one
//! piece, never a line with a control byte, and never one over the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pureftpd_proto::line::{Framed, LineReader, MAX_LINE};

fn frame(chunks: &[&[u8]]) -> Vec<Framed> {
    let mut reader = LineReader::new();
    let mut out = Vec::new();
    for chunk in chunks {
        reader.push(chunk);
        loop {
            match reader.next_line() {
                Framed::Incomplete => break,
                Framed::TooLong => {
                    out.push(Framed::TooLong);
                    return out;
                }
                line => out.push(line),
            }
        }
    }
    out
}

fuzz_target!(|input: (Vec<u8>, u8)| {
    let (bytes, cut) = input;
    let at = usize::from(cut) % (bytes.len() + 1);
    let whole = frame(&[&bytes]);
    let split = frame(&[&bytes[..at], &bytes[at..]]);
    assert_eq!(whole, split);
    for framed in whole {
        if let Framed::Line(line) = framed {
            assert!(line.len() < MAX_LINE);
            assert!(line.iter().all(|&b| b >= 0x20 && b != 0x7f));
        }
    }
});
