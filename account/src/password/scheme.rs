use std::fmt;

/// A password hash format, recognised by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `$argon2i$` / `$argon2id$`.
    Argon2,
    /// `$7$`.
    Scrypt,
    /// `$2a$`, `$2b$`, `$2x$`, `$2y$`.
    Bcrypt,
    /// `$y$`.
    Yescrypt,
    /// `$5$`.
    Sha256Crypt,
    /// `$6$`.
    Sha512Crypt,
    /// `$1$`.
    Md5Crypt,
    /// 13 characters, two of salt.
    DesCrypt,
}

impl Scheme {
    /// The scheme of a stored hash, if it is one Pure-FTPd accepts.
    #[must_use]
    pub fn detect(stored: &str) -> Option<Self> {
        let prefixed = [
            ("$argon2id$", Self::Argon2),
            ("$argon2i$", Self::Argon2),
            ("$7$", Self::Scrypt),
            ("$2a$", Self::Bcrypt),
            ("$2b$", Self::Bcrypt),
            ("$2x$", Self::Bcrypt),
            ("$2y$", Self::Bcrypt),
            ("$y$", Self::Yescrypt),
            ("$5$", Self::Sha256Crypt),
            ("$6$", Self::Sha512Crypt),
            ("$1$", Self::Md5Crypt),
        ];
        if let Some((_, scheme)) = prefixed.iter().find(|(p, _)| stored.starts_with(p)) {
            return Some(*scheme);
        }
        let des = stored.len() == 13
            && stored
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
        des.then_some(Self::DesCrypt)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Argon2 => "argon2",
            Self::Scrypt => "scrypt",
            Self::Bcrypt => "bcrypt",
            Self::Yescrypt => "yescrypt",
            Self::Sha256Crypt => "SHA-256-crypt",
            Self::Sha512Crypt => "SHA-512-crypt",
            Self::Md5Crypt => "MD5-crypt",
            Self::DesCrypt => "DES-crypt",
        })
    }
}
