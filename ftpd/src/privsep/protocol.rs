//! The messages between a session's unprivileged pre-login process and its root monitor
//! (see `mod.rs` for who does what).
//!
//! One message per datagram of a `SOCK_SEQPACKET` pair, so a message is never split or
//! merged. Layout: a tag byte, then the fields in order; byte strings carry a `u16`
//! length (big-endian), flags are one byte (0 or 1). The monitor decodes what the
//! pre-login process sends as hostile input: unknown tags, lengths past the end, values
//! over their limits, non-UTF-8 names, bad flags and trailing bytes are all refused, and
//! nothing is allocated beyond the datagram's own size. Each message has one spelling.

use std::fmt;

/// The largest datagram either side sends (a certificate answer dominates). Below the
/// default socket buffer (`net.core.wmem_default`, 208 KiB), so that one always fits.
pub const MAX_MESSAGE: usize = 140 * 1024;
/// Pure-FTPd's longest login (MAX_USER_LENGTH).
pub const MAX_LOGIN: usize = 128;
/// Pure-FTPd's longest password (MAX_PASSWORD_LEN - 1), plus one: a longer one is sent
/// cut to this length, so that the monitor refuses it as too long, in turn.
pub const MAX_PASSWORD: usize = 512;
/// A TLS server name (SNI).
pub const MAX_SERVER_NAME: usize = 255;
/// Client input read but not yet parsed when the login succeeded (pipelined commands).
pub const MAX_PENDING: usize = 60 * 1024;
/// Lines of a reply the monitor asks the pre-login process to send.
pub const MAX_REPLY_LINES: usize = 64;
/// One line of such a reply.
pub const MAX_REPLY_LINE: usize = 4096;
/// A certificate chain or key file handed to the pre-login process (PEM).
pub const MAX_PEM: usize = 60 * 1024;

/// From the pre-login process to the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// USER (the monitor keeps the login state: it answers, or accepts an anonymous
    /// login at once).
    User { name: Vec<u8> },
    /// PASS, with what the authentication backends may be told of the connection.
    Pass {
        password: Vec<u8>,
        /// Whether the control connection is under TLS, and the name it asked for.
        encrypted: bool,
        server_name: Option<String>,
    },
    /// A ClientHello asked for this name and `-3` is on: which certificate?
    ServerName { name: String },
    /// The control connection is now under TLS (`true`) or in clear again (`false`),
    /// for the scoreboard.
    Encrypted { on: bool },
    /// The login was accepted: what the account's process needs to go on.
    Handover {
        /// Client input read but not yet parsed.
        pending: Vec<u8>,
        /// TYPE I.
        binary: bool,
        /// PROT P.
        private_data: bool,
        /// For how long only NOOP-like commands came (milliseconds), if so.
        idle_commands_for: Option<u32>,
    },
    /// After [`Answer::StopTls`]: TLS is closed both ways, the client goes on in clear.
    TlsStopped,
}

/// From the monitor to the pre-login process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Send this reply; close the connection after it if `close`.
    Reply {
        code: u16,
        lines: Vec<Vec<u8>>,
        close: bool,
    },
    /// The login is accepted: hand over and stop (or relay TLS).
    Accepted,
    /// Present this certificate (the chain and the key, PEM).
    Certificate { chain: Vec<u8>, key: Vec<u8> },
    /// Present the default certificate.
    DefaultCertificate,
    /// End the handshake, and the session, for this reason (for the log).
    Refused { reason: String },
    /// CCC after login: send this reply (the `200`, encoded), close TLS and hand back
    /// the clear connection. The reply travels with the request, not through the pipe
    /// before it: the client answers the `200` with its close_notify, which must not
    /// reach the relay before it knows that TLS is ending.
    StopTls { reply: Vec<u8> },
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    Empty,
    TooLong,
    UnknownTag(u8),
    Truncated,
    OverLimit(&'static str),
    BadFlag,
    NotUtf8,
    BadCode(u16),
    Unexpected(&'static str),
    Trailing,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty message"),
            Self::TooLong => write!(f, "message longer than {MAX_MESSAGE} bytes"),
            Self::UnknownTag(t) => write!(f, "unknown message tag {t}"),
            Self::Truncated => f.write_str("message ends inside a field"),
            Self::OverLimit(what) => write!(f, "{what} over its limit"),
            Self::BadFlag => f.write_str("a flag that is neither 0 nor 1"),
            Self::NotUtf8 => f.write_str("a text that is not UTF-8"),
            Self::BadCode(c) => write!(f, "reply code {c} out of range"),
            Self::Unexpected(what) => write!(f, "{what}"),
            Self::Trailing => f.write_str("bytes after the last field"),
        }
    }
}

impl std::error::Error for Malformed {}

// Every field's length must fit its u16 length prefix.
const _: () = {
    let longest = [
        MAX_LOGIN,
        MAX_PASSWORD,
        MAX_SERVER_NAME,
        MAX_PENDING,
        MAX_REPLY_LINE,
        MAX_PEM,
    ];
    let mut i = 0;
    while i < longest.len() {
        assert!(longest[i] <= u16::MAX as usize);
        i += 1;
    }
    assert!(2 * MAX_PEM + 5 <= MAX_MESSAGE);
};

const USER: u8 = 1;
const PASS: u8 = 2;
const SERVER_NAME: u8 = 3;
const ENCRYPTED: u8 = 4;
const HANDOVER: u8 = 5;
const TLS_STOPPED: u8 = 6;
const REPLY: u8 = 20;
const ACCEPTED: u8 = 21;
const CERTIFICATE: u8 = 22;
const DEFAULT_CERTIFICATE: u8 = 23;
const REFUSED: u8 = 24;
const STOP_TLS: u8 = 25;

impl Request {
    /// The datagram.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Writer::default();
        match self {
            Self::User { name } => {
                out.byte(USER);
                out.bytes(name);
            }
            Self::Pass {
                password,
                encrypted,
                server_name,
            } => {
                out.byte(PASS);
                out.bytes(password);
                out.flag(*encrypted);
                out.flag(server_name.is_some());
                out.bytes(server_name.as_deref().unwrap_or_default().as_bytes());
            }
            Self::ServerName { name } => {
                out.byte(SERVER_NAME);
                out.bytes(name.as_bytes());
            }
            Self::Encrypted { on } => {
                out.byte(ENCRYPTED);
                out.flag(*on);
            }
            Self::Handover {
                pending,
                binary,
                private_data,
                idle_commands_for,
            } => {
                out.byte(HANDOVER);
                out.bytes(pending);
                out.flag(*binary);
                out.flag(*private_data);
                out.flag(idle_commands_for.is_some());
                out.0
                    .extend_from_slice(&idle_commands_for.unwrap_or(0).to_be_bytes());
            }
            Self::TlsStopped => out.byte(TLS_STOPPED),
        }
        out.0
    }

    /// Reads a datagram from the pre-login process.
    ///
    /// # Errors
    /// [`Malformed`]: anything but a well-formed request within its limits.
    pub fn decode(datagram: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(datagram)?;
        let request = match r.byte()? {
            USER => Self::User {
                name: r.bytes(MAX_LOGIN, "the login")?.to_vec(),
            },
            PASS => {
                let password = r.bytes(MAX_PASSWORD, "the password")?.to_vec();
                let encrypted = r.flag()?;
                let named = r.flag()?;
                let name = r.text(MAX_SERVER_NAME, "the server name")?;
                if !named && !name.is_empty() {
                    return Err(Malformed::Unexpected("a server name without its flag"));
                }
                Self::Pass {
                    password,
                    encrypted,
                    server_name: named.then_some(name),
                }
            }
            SERVER_NAME => {
                let name = r.text(MAX_SERVER_NAME, "the server name")?;
                if name.is_empty() {
                    return Err(Malformed::Unexpected("an empty server name"));
                }
                Self::ServerName { name }
            }
            ENCRYPTED => Self::Encrypted { on: r.flag()? },
            HANDOVER => {
                let pending = r.bytes(MAX_PENDING, "the pending input")?.to_vec();
                let binary = r.flag()?;
                let private_data = r.flag()?;
                let idle = r.flag()?;
                let millis = r.u32()?;
                if !idle && millis != 0 {
                    return Err(Malformed::Unexpected("an idle time without its flag"));
                }
                Self::Handover {
                    pending,
                    binary,
                    private_data,
                    idle_commands_for: idle.then_some(millis),
                }
            }
            TLS_STOPPED => Self::TlsStopped,
            tag => return Err(Malformed::UnknownTag(tag)),
        };
        r.end()?;
        Ok(request)
    }
}

impl Answer {
    /// The datagram.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Writer::default();
        match self {
            Self::Reply { code, lines, close } => {
                out.byte(REPLY);
                out.0.extend_from_slice(&code.to_be_bytes());
                out.flag(*close);
                out.byte(u8::try_from(lines.len()).unwrap_or(u8::MAX));
                for line in lines {
                    out.bytes(line);
                }
            }
            Self::Accepted => out.byte(ACCEPTED),
            Self::Certificate { chain, key } => {
                out.byte(CERTIFICATE);
                out.bytes(chain);
                out.bytes(key);
            }
            Self::DefaultCertificate => out.byte(DEFAULT_CERTIFICATE),
            Self::Refused { reason } => {
                out.byte(REFUSED);
                out.bytes(reason.as_bytes());
            }
            Self::StopTls { reply } => {
                out.byte(STOP_TLS);
                out.bytes(reply);
            }
        }
        out.0
    }

    /// Reads a datagram from the monitor.
    ///
    /// # Errors
    /// [`Malformed`].
    pub fn decode(datagram: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(datagram)?;
        let answer = match r.byte()? {
            REPLY => {
                let code = u16::from_be_bytes([r.byte()?, r.byte()?]);
                if !(100..600).contains(&code) {
                    return Err(Malformed::BadCode(code));
                }
                let close = r.flag()?;
                let count = usize::from(r.byte()?);
                if count > MAX_REPLY_LINES {
                    return Err(Malformed::OverLimit("the reply's lines"));
                }
                let lines = (0..count)
                    .map(|_| Ok(r.bytes(MAX_REPLY_LINE, "a reply line")?.to_vec()))
                    .collect::<Result<_, _>>()?;
                Self::Reply { code, lines, close }
            }
            ACCEPTED => Self::Accepted,
            CERTIFICATE => Self::Certificate {
                chain: r.bytes(MAX_PEM, "the certificate chain")?.to_vec(),
                key: r.bytes(MAX_PEM, "the key")?.to_vec(),
            },
            DEFAULT_CERTIFICATE => Self::DefaultCertificate,
            REFUSED => Self::Refused {
                reason: r.text(MAX_REPLY_LINE, "the reason")?,
            },
            STOP_TLS => Self::StopTls {
                reply: r.bytes(MAX_REPLY_LINE, "the CCC reply")?.to_vec(),
            },
            tag => return Err(Malformed::UnknownTag(tag)),
        };
        r.end()?;
        Ok(answer)
    }
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    fn flag(&mut self, on: bool) {
        self.0.push(u8::from(on));
    }

    /// Callers keep within the limits, which are all below `u16::MAX`.
    fn bytes(&mut self, b: &[u8]) {
        let len = u16::try_from(b.len()).unwrap_or(u16::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(&b[..usize::from(len)]);
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(datagram: &'a [u8]) -> Result<Self, Malformed> {
        if datagram.is_empty() {
            return Err(Malformed::Empty);
        }
        if datagram.len() > MAX_MESSAGE {
            return Err(Malformed::TooLong);
        }
        Ok(Self { rest: datagram })
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        let (&b, rest) = self.rest.split_first().ok_or(Malformed::Truncated)?;
        self.rest = rest;
        Ok(b)
    }

    fn flag(&mut self) -> Result<bool, Malformed> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Malformed::BadFlag),
        }
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_be_bytes([
            self.byte()?,
            self.byte()?,
            self.byte()?,
            self.byte()?,
        ]))
    }

    fn bytes(&mut self, limit: usize, what: &'static str) -> Result<&'a [u8], Malformed> {
        let len = usize::from(u16::from_be_bytes([self.byte()?, self.byte()?]));
        if len > limit {
            return Err(Malformed::OverLimit(what));
        }
        if len > self.rest.len() {
            return Err(Malformed::Truncated);
        }
        let (field, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(field)
    }

    fn text(&mut self, limit: usize, what: &'static str) -> Result<String, Malformed> {
        let bytes = self.bytes(limit, what)?;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| Malformed::NotUtf8)
    }

    fn end(&self) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed::Trailing)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests() -> Vec<Request> {
        vec![
            Request::User {
                name: b"joe".to_vec(),
            },
            Request::User {
                name: vec![0xff; MAX_LOGIN],
            },
            Request::Pass {
                password: b"s3cret pw".to_vec(),
                encrypted: true,
                server_name: Some("ftp.example".into()),
            },
            Request::Pass {
                password: vec![0xff; MAX_PASSWORD],
                encrypted: false,
                server_name: None,
            },
            Request::ServerName {
                name: "ftp.example".into(),
            },
            Request::Encrypted { on: true },
            Request::Handover {
                pending: b"PWD\r\nLIST\r\n".to_vec(),
                binary: true,
                private_data: false,
                idle_commands_for: Some(1500),
            },
            Request::Handover {
                pending: Vec::new(),
                binary: false,
                private_data: true,
                idle_commands_for: None,
            },
            Request::TlsStopped,
        ]
    }

    #[test]
    fn every_message_survives_the_round_trip() {
        for request in requests() {
            assert_eq!(Request::decode(&request.encode()), Ok(request));
        }
        let answers = [
            Answer::Accepted,
            Answer::Reply {
                code: 530,
                lines: vec![b"Login authentication failed".to_vec()],
                close: false,
            },
            Answer::Certificate {
                chain: vec![b'c'; MAX_PEM],
                key: vec![b'k'; MAX_PEM],
            },
            Answer::DefaultCertificate,
            Answer::Refused {
                reason: "The cert handler denied [x.example]".into(),
            },
            Answer::StopTls {
                reply: b"200 Control connection unencrypted\r\n".to_vec(),
            },
        ];
        for answer in answers {
            let encoded = answer.encode();
            assert!(encoded.len() <= MAX_MESSAGE);
            assert_eq!(Answer::decode(&encoded), Ok(answer));
        }
    }

    #[test]
    fn hostile_datagrams_are_refused() {
        let pass = Request::Pass {
            password: b"pw".to_vec(),
            encrypted: false,
            server_name: None,
        }
        .encode();
        assert_eq!(Request::decode(&[]), Err(Malformed::Empty));
        assert_eq!(Request::decode(&[99]), Err(Malformed::UnknownTag(99)));
        assert_eq!(
            Request::decode(&[REPLY]),
            Err(Malformed::UnknownTag(REPLY)),
            "an answer's tag is no request"
        );
        assert_eq!(
            Request::decode(&pass[..pass.len() - 1]),
            Err(Malformed::Truncated)
        );
        assert_eq!(
            Request::decode(&[&pass[..], &[0]].concat()),
            Err(Malformed::Trailing)
        );
        let mut bad_flag = pass.clone();
        let at = bad_flag.len() - 4;
        bad_flag[at] = 2;
        assert_eq!(Request::decode(&bad_flag), Err(Malformed::BadFlag));
        let mut long_user = vec![USER];
        long_user.extend_from_slice(&u16::try_from(MAX_LOGIN + 1).unwrap().to_be_bytes());
        long_user.extend(vec![b'a'; MAX_LOGIN + 1]);
        assert_eq!(
            Request::decode(&long_user),
            Err(Malformed::OverLimit("the login"))
        );
        // A length that points past the datagram allocates nothing.
        assert_eq!(
            Request::decode(&[USER, 0x00, 0x05, b'a']),
            Err(Malformed::Truncated)
        );
        assert_eq!(
            Request::decode(&[SERVER_NAME, 0, 0]),
            Err(Malformed::Unexpected("an empty server name"))
        );
        assert_eq!(
            Request::decode(&[HANDOVER, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            Err(Malformed::Unexpected("an idle time without its flag"))
        );
        assert_eq!(
            Request::decode(&[SERVER_NAME, 0, 2, 0xc3, 0x28]),
            Err(Malformed::NotUtf8)
        );
        assert_eq!(
            Answer::decode(&[REPLY, 0, 99, 0, 0]),
            Err(Malformed::BadCode(99))
        );
        assert_eq!(
            Request::decode(&vec![USER; MAX_MESSAGE + 1]),
            Err(Malformed::TooLong)
        );
    }
}
