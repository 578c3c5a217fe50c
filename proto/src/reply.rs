use std::fmt;

/// A reply: a code and one or more lines of text.
///
/// Encoded as Pure-FTPd does: every line carries the reply's code, `CODE-` on all but
/// the last and `CODE ` on the last. A line may contain an embedded CRLF, which is
/// written as is and so gives a continuation line without a code (FEAT, HELP, MLST).
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    lines: Vec<Vec<u8>>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, text: impl Into<Vec<u8>>) -> Self {
        Self {
            code,
            lines: vec![text.into()],
        }
    }

    /// A reply with no line yet (see [`Reply::line`]).
    #[must_use]
    pub fn empty(code: u16) -> Self {
        Self {
            code,
            lines: Vec::new(),
        }
    }

    /// Adds a line at the end.
    #[must_use]
    pub fn line(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.lines.push(text.into());
        self
    }

    /// Adds a line at the end, in place.
    pub fn push(&mut self, text: impl Into<Vec<u8>>) {
        self.lines.push(text.into());
    }

    /// Adds a line at the start.
    pub fn prepend(&mut self, text: impl Into<Vec<u8>>) {
        self.lines.insert(0, text.into());
    }

    /// Changes the code: the whole reply carries the last code set, as in Pure-FTPd.
    pub fn set_code(&mut self, code: u16) {
        self.code = code;
    }

    /// The reply's code.
    #[must_use]
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The lines, without codes.
    #[must_use]
    pub fn lines(&self) -> &[Vec<u8>] {
        &self.lines
    }

    /// Appends another reply's lines; its code becomes this reply's.
    pub fn extend(&mut self, other: Reply) {
        self.code = other.code;
        self.lines.extend(other.lines);
    }

    /// The bytes to send.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let code = self.code.to_string();
        let count = self.lines.len().max(1);
        for i in 0..count {
            out.extend_from_slice(code.as_bytes());
            out.push(if i + 1 == count { b' ' } else { b'-' });
            if let Some(line) = self.lines.get(i) {
                out.extend_from_slice(line);
            }
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reply({:?})", String::from_utf8_lossy(&self.encode()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_carries_the_final_code() {
        let reply = Reply::new(504, "Unknown TYPE: X").line("TYPE is now ASCII");
        assert_eq!(
            reply.encode(),
            b"504-Unknown TYPE: X\r\n504 TYPE is now ASCII\r\n"
        );
        assert_eq!(Reply::new(200, "Zzz...").encode(), b"200 Zzz...\r\n");
    }

    #[test]
    fn embedded_crlf_gives_continuation_lines() {
        let reply = Reply::new(211, "Extensions supported:\r\n UTF8").line("End.");
        assert_eq!(
            reply.encode(),
            b"211-Extensions supported:\r\n UTF8\r\n211 End.\r\n"
        );
    }
}
