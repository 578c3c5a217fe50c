//! The messages between pure-sftpd's pre-login process (the SSH transport, unprivileged)
//! and its monitor (root). There is one question, a login with its password, and three
//! answers. The monitor decodes what it is sent as hostile input: a message is one
//! `SOCK_SEQPACKET` datagram, every length is checked, and anything malformed ends the
//! session (see `monitor.rs`).
//!
//! Encoding: a tag byte, then for each field a big-endian `u16` length and the bytes.

/// Longest login kept (as pure-ftpd's `USER`).
pub const MAX_LOGIN: usize = 128;
/// Longest password accepted (as pure-ftpd's `PASS`).
pub const MAX_PASSWORD: usize = 511;

const LOGIN: u8 = 1;
const ACCEPTED: u8 = 2;
const REFUSED: u8 = 3;
const CLOSED: u8 = 4;

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
        let Self::Login { user, password } = self;
        let mut out = vec![LOGIN];
        for field in [user, password] {
            let length = u16::try_from(field.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(&field[..usize::from(length)]);
        }
        out
    }

    /// Reads a datagram.
    ///
    /// # Errors
    /// Anything but a well-formed login within the limits.
    pub fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        let (&tag, mut rest) = bytes.split_first().ok_or(Malformed::UnknownTag)?;
        if tag != LOGIN {
            return Err(Malformed::UnknownTag);
        }
        let user = field(&mut rest, MAX_LOGIN)?;
        let password = field(&mut rest, MAX_PASSWORD)?;
        if !rest.is_empty() {
            return Err(Malformed::Trailing);
        }
        Ok(Self::Login { user, password })
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
        vec![match self {
            Self::Accepted => ACCEPTED,
            Self::Refused => REFUSED,
            Self::Closed => CLOSED,
        }]
    }

    /// Reads a datagram (the pre-login process trusts its monitor, but not blindly: an
    /// unknown answer ends the session).
    ///
    /// # Errors
    /// Not one of the three answers.
    pub fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        match bytes {
            [ACCEPTED] => Ok(Self::Accepted),
            [REFUSED] => Ok(Self::Refused),
            [CLOSED] => Ok(Self::Closed),
            _ => Err(Malformed::UnknownTag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_go_through_and_damage_is_refused() {
        let login = Request::Login {
            user: b"bob".to_vec(),
            password: b"pw\0\xff".to_vec(),
        };
        let bytes = login.encode();
        assert_eq!(Request::decode(&bytes), Ok(login));
        for cut in 0..bytes.len() {
            assert!(Request::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(Request::decode(&trailing), Err(Malformed::Trailing));
        let long = Request::Login {
            user: vec![b'a'; MAX_LOGIN + 1],
            password: Vec::new(),
        };
        assert_eq!(Request::decode(&long.encode()), Err(Malformed::TooLong));
        for answer in [Answer::Accepted, Answer::Refused, Answer::Closed] {
            assert_eq!(Answer::decode(&answer.encode()), Ok(answer));
        }
        assert!(Answer::decode(&[9]).is_err() && Answer::decode(&[]).is_err());
    }
}
