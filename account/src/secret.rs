use std::fmt;

use zeroize::Zeroizing;

/// A clear-text password. Its `Debug` output is redacted and its bytes are wiped from
/// memory when it is dropped, so it cannot leak through logs or error messages.
#[derive(Clone, Default)]
pub struct Password(Zeroizing<Vec<u8>>);

impl Password {
    /// Takes ownership of the bytes.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The password's bytes, for a hash function.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<&[u8]> for Password {
    fn from(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Self {
        Self::new(text.as_bytes().to_vec())
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        // Only used to compare the two entries typed at a prompt.
        self.0.as_slice() == other.0.as_slice()
    }
}

impl Eq for Password {}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let shown = format!("{:?}", Password::from("hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
