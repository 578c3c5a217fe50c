//! The messages between pure-sftpd's pre-login process (the SSH transport, unprivileged)
//! and its monitor (root). There are three questions (a login with its password; whether
//! a public key is listed for a login; a login with a key whose signature the pre-login
//! process has checked) and five answers. The monitor decodes what it is sent as hostile input: a message is one
//! `SOCK_SEQPACKET` datagram, every length is checked, and anything malformed ends the
//! session (see `monitor.rs`).
//!
//! Encoding: a tag byte, then for each field a big-endian `u16` length and the bytes.

/// Longest login kept (as pure-ftpd's `USER`).
pub const MAX_LOGIN: usize = 128;
/// Longest password accepted (as pure-ftpd's `PASS`).
pub const MAX_PASSWORD: usize = 511;
/// Longest public key blob (an RSA key of 16,384 bits takes about 2 KiB).
pub const MAX_KEY: usize = 16 * 1024;

const LOGIN: u8 = 1;
const ACCEPTED: u8 = 2;
const REFUSED: u8 = 3;
const CLOSED: u8 = 4;
const KEY_OFFERED: u8 = 5;
const KEY_LOGIN: u8 = 6;
const ACCEPTABLE: u8 = 7;
const OVER_SESSION_LIMIT: u8 = 8;

/// Pre-login process to monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Check this login and password.
    Login {
        /// As the client sent it.
        user: Vec<u8>,
        /// As the client sent it.
        password: Vec<u8>,
    },
    /// Would this key do for this login? (SSH's query before a signature.)
    KeyOffered {
        /// As the client sent it.
        user: Vec<u8>,
        /// The public key, in SSH's wire encoding.
        key: Vec<u8>,
    },
    /// Log in with this key: the client has signed the session with it.
    KeyLogin {
        /// As the client sent it.
        user: Vec<u8>,
        /// The public key, in SSH's wire encoding.
        key: Vec<u8>,
    },
}

/// Monitor to pre-login process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Logged in: the monitor is the account now, serving SFTP on the pipe.
    Accepted,
    /// Not this time; another try may come.
    Refused,
    /// No more tries (too many failures, or the accounts cannot be reached).
    Closed,
    /// The offered key is listed for the login: the client may sign with it.
    Acceptable,
    /// The login is right, but the account has its `-y` sessions already (the limit):
    /// the client is told so, and the connection ends.
    OverSessionLimit(u32),
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// No tag, or a tag no one sends.
    UnknownTag,
    /// A length runs past the end.
    Truncated,
    /// A field over its limit.
    TooLong,
    /// Bytes after the last field.
    Trailing,
}

impl Request {
    /// The datagram.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let (tag, user, second) = match self {
            Self::Login { user, password } => (LOGIN, user, password),
            Self::KeyOffered { user, key } => (KEY_OFFERED, user, key),
            Self::KeyLogin { user, key } => (KEY_LOGIN, user, key),
        };
        let mut out = vec![tag];
        for field in [user, second] {
            let length = u16::try_from(field.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(&field[..usize::from(length)]);
        }
        out
    }

    /// Reads a datagram.
    ///
    /// # Errors
    /// Anything but a well-formed request within the limits.
    pub fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        let (&tag, mut rest) = bytes.split_first().ok_or(Malformed::UnknownTag)?;
        let second_limit = match tag {
            LOGIN => MAX_PASSWORD,
            KEY_OFFERED | KEY_LOGIN => MAX_KEY,
            _ => return Err(Malformed::UnknownTag),
        };
        let user = field(&mut rest, MAX_LOGIN)?;
        let second = field(&mut rest, second_limit)?;
        if !rest.is_empty() {
            return Err(Malformed::Trailing);
        }
        Ok(match tag {
            LOGIN => Self::Login {
                user,
                password: second,
            },
            KEY_OFFERED => Self::KeyOffered { user, key: second },
            _ => Self::KeyLogin { user, key: second },
        })
    }
}

fn field(rest: &mut &[u8], limit: usize) -> Result<Vec<u8>, Malformed> {
    let ([high, low], tail) = rest
        .split_first_chunk::<2>()
        .map(|(l, t)| (*l, t))
        .ok_or(Malformed::Truncated)?;
    let length = usize::from(u16::from_be_bytes([high, low]));
    if length > limit {
        return Err(Malformed::TooLong);
    }
    let value = tail.get(..length).ok_or(Malformed::Truncated)?.to_vec();
    *rest = &tail[length..];
    Ok(value)
}

impl Answer {
    /// The datagram.
    #[must_use]
    pub fn encode(self) -> Vec<u8> {
        match self {
            Self::Accepted => vec![ACCEPTED],
            Self::Refused => vec![REFUSED],
            Self::Closed => vec![CLOSED],
            Self::Acceptable => vec![ACCEPTABLE],
            Self::OverSessionLimit(limit) => {
                let mut bytes = vec![OVER_SESSION_LIMIT];
                bytes.extend_from_slice(&limit.to_be_bytes());
                bytes
            }
        }
    }

    /// Reads a datagram (the pre-login process trusts its monitor, but not blindly: an
    /// unknown answer ends the session).
    ///
    /// # Errors
    /// Not one of the five answers.
    pub fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        match bytes {
            [ACCEPTED] => Ok(Self::Accepted),
            [REFUSED] => Ok(Self::Refused),
            [CLOSED] => Ok(Self::Closed),
            [ACCEPTABLE] => Ok(Self::Acceptable),
            [OVER_SESSION_LIMIT, limit @ ..] => <[u8; 4]>::try_from(limit)
                .map(|limit| Self::OverSessionLimit(u32::from_be_bytes(limit)))
                .map_err(|_| Malformed::Truncated),
            _ => Err(Malformed::UnknownTag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_go_through_and_damage_is_refused() {
        let requests = [
            Request::Login {
                user: b"bob".to_vec(),
                password: b"pw\0\xff".to_vec(),
            },
            Request::KeyOffered {
                user: b"bob".to_vec(),
                key: vec![7; MAX_KEY],
            },
            Request::KeyLogin {
                user: b"bob".to_vec(),
                key: b"\0\0\0\x0bssh-ed25519".to_vec(),
            },
        ];
        for request in requests {
            let bytes = request.encode();
            assert_eq!(Request::decode(&bytes), Ok(request));
            for cut in 0..bytes.len() {
                assert!(Request::decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            let mut trailing = bytes.clone();
            trailing.push(0);
            assert_eq!(Request::decode(&trailing), Err(Malformed::Trailing));
        }
        let password_as_long_as_a_key = Request::Login {
            user: b"bob".to_vec(),
            password: vec![b'p'; MAX_KEY],
        };
        assert_eq!(
            Request::decode(&password_as_long_as_a_key.encode()),
            Err(Malformed::TooLong)
        );
        let long = Request::Login {
            user: vec![b'a'; MAX_LOGIN + 1],
            password: Vec::new(),
        };
        assert_eq!(Request::decode(&long.encode()), Err(Malformed::TooLong));
        for answer in [
            Answer::Accepted,
            Answer::Refused,
            Answer::Closed,
            Answer::Acceptable,
            Answer::OverSessionLimit(7),
        ] {
            assert_eq!(Answer::decode(&answer.encode()), Ok(answer));
        }
        assert!(Answer::decode(&[9]).is_err() && Answer::decode(&[]).is_err());
        assert!(Answer::decode(&[OVER_SESSION_LIMIT, 0, 0, 1]).is_err());
        assert!(Answer::decode(&[OVER_SESSION_LIMIT, 0, 0, 0, 1, 0]).is_err());
    }
}
