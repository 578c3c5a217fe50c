//! Framing the control connection into lines.
//!
//! As Pure-FTPd: a line ends at LF, a CR right before it is dropped, a lone LF is
//! accepted, and several commands may arrive in one read (pipelining). Every other
//! control byte (below 0x20, and 0x7F, NUL included) becomes `_`, so that no name can
//! carry a line break, a bell or a terminal escape. A line longer than [`MAX_LINE`]
//! is an error: the server answers `421 Line too long` and closes.

/// Longest line accepted, terminator included (Pure-FTPd: PATH_MAX + 16).
pub const MAX_LINE: usize = 4096 + 16;

/// What the reader found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// A complete line, without its terminator, control bytes replaced.
    Line(Vec<u8>),
    /// More bytes are needed.
    Incomplete,
    /// The line exceeds [`MAX_LINE`].
    TooLong,
}

/// Accumulates bytes and hands out lines.
#[derive(Debug, Default, Clone)]
pub struct LineReader {
    buffer: Vec<u8>,
}

impl LineReader {
    /// An empty reader.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Takes the raw bytes not yet framed (after `AUTH TLS`, they are the start of the
    /// TLS handshake, not a command).
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buffer)
    }

    /// Whether bytes of an unfinished line are waiting.
    #[must_use]
    pub fn has_pending(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// The next complete line, if any.
    pub fn next_line(&mut self) -> Framed {
        let Some(end) = self.buffer.iter().position(|&b| b == b'\n') else {
            return if self.buffer.len() >= MAX_LINE {
                Framed::TooLong
            } else {
                Framed::Incomplete
            };
        };
        if end + 1 > MAX_LINE {
            return Framed::TooLong;
        }
        let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        for byte in &mut line {
            if *byte < 0x20 || *byte == 0x7f {
                *byte = b'_';
            }
        }
        Framed::Line(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<Framed> {
        let mut reader = LineReader::new();
        let mut out = Vec::new();
        for chunk in chunks {
            reader.push(chunk);
            loop {
                match reader.next_line() {
                    Framed::Incomplete => break,
                    other => {
                        let stop = other == Framed::TooLong;
                        out.push(other);
                        if stop {
                            return out;
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn crlf_lf_and_pipelining() {
        assert_eq!(
            lines(&[b"USER a\r\nPASS b\nNO", b"OP\r", b"\n"]),
            vec![
                Framed::Line(b"USER a".to_vec()),
                Framed::Line(b"PASS b".to_vec()),
                Framed::Line(b"NOOP".to_vec())
            ]
        );
    }

    #[test]
    fn control_bytes_become_underscores() {
        assert_eq!(
            lines(&[b"RETR a\x00b\rc\x1b\x7f\r\n"]),
            vec![Framed::Line(b"RETR a_b_c__".to_vec())]
        );
    }

    #[test]
    fn overlong_lines_are_refused() {
        let long = vec![b'a'; MAX_LINE + 10];
        assert_eq!(lines(&[&long]), vec![Framed::TooLong]);
        let mut exact = vec![b'a'; MAX_LINE - 2];
        exact.extend_from_slice(b"\r\n");
        assert!(matches!(lines(&[&exact])[0], Framed::Line(_)));
    }
}
