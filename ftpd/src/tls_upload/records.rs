//! The TLS record layer of one direction, after the handshake: AEAD protection of
//! TLS 1.2 (RFC 5288, RFC 7905) and TLS 1.3 (RFC 8446 §5.2) records with the traffic
//! secrets rustls hands over, decrypting in place in the caller's buffer.
//!
//! Only AEAD suites exist here because they are the only ones the server offers
//! (see `tls.rs`); anything else makes [`Protection::new`] fail, and the caller keeps
//! rustls' own record layer.

use ring::aead::{
    AES_128_GCM, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey,
};
use rustls::ConnectionTrafficSecrets;

/// Content types (RFC 8446 §5.1).
pub(crate) const ALERT: u8 = 21;
pub(crate) const HANDSHAKE: u8 = 22;
pub(crate) const APPLICATION_DATA: u8 = 23;

/// Record header length.
pub(crate) const HEADER: usize = 5;
/// AEAD tag length (all three algorithms).
const TAG: usize = 16;
/// TLS 1.2 AES-GCM's explicit nonce.
const EXPLICIT_NONCE: usize = 8;
/// The longest ciphertext a record may carry (RFC 5246 §6.2.3: 2^14 + 2048).
pub(crate) const MAX_CIPHERTEXT: usize = (1 << 14) + 2048;

/// Which record format: the two versions differ in nonce, additional data and where
/// the content type travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    Tls12,
    Tls13,
}

/// One direction's key, IV and sequence number.
pub(crate) struct Protection {
    key: LessSafeKey,
    iv: [u8; 12],
    seq: u64,
    version: Version,
    /// TLS 1.2 AES-GCM carries 8 bytes of nonce in each record; ChaCha20 does not.
    explicit_nonce: bool,
}

/// What a record held, once opened: the content type and where its content lies in the
/// buffer that was given.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) content_type: u8,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// A record that cannot be accepted; the connection must end.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RecordError {
    /// Authentication failed (tampered, or out of sequence).
    BadRecordMac,
    /// A record type or length the protocol does not allow here.
    Unexpected(&'static str),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadRecordMac => f.write_str("a TLS record failed authentication"),
            Self::Unexpected(what) => write!(f, "unexpected TLS record: {what}"),
        }
    }
}

impl Protection {
    /// `None` for an algorithm this module does not know.
    pub(crate) fn new(
        secrets: &ConnectionTrafficSecrets,
        seq: u64,
        version: Version,
    ) -> Option<Self> {
        let (algorithm, key, iv, gcm) = match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&AES_128_GCM, key, iv, true),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&AES_256_GCM, key, iv, true),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&CHACHA20_POLY1305, key, iv, false)
            }
            _ => return None,
        };
        let key = LessSafeKey::new(UnboundKey::new(algorithm, key.as_ref()).ok()?);
        let iv: [u8; 12] = iv.as_ref().try_into().ok()?;
        Some(Self {
            key,
            iv,
            seq,
            version,
            explicit_nonce: gcm && version == Version::Tls12,
        })
    }

    /// The record length that `header` announces, checked against the limit.
    pub(crate) fn announced_length(header: &[u8; HEADER]) -> Result<usize, RecordError> {
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if length > MAX_CIPHERTEXT {
            return Err(RecordError::Unexpected("longer than TLS allows"));
        }
        if header[1] != 3 {
            return Err(RecordError::Unexpected("not a TLS record"));
        }
        Ok(length)
    }

    /// Opens the whole record in `record` (header included), in place. The content is
    /// `record[opened.start..opened.end]`.
    pub(crate) fn open(&mut self, record: &mut [u8]) -> Result<Opened, RecordError> {
        let outer_type = record[0];
        let body_len = record.len() - HEADER;
        let (start, nonce, aad) = match self.version {
            Version::Tls13 => {
                if outer_type != APPLICATION_DATA {
                    return Err(RecordError::Unexpected("clear text after the handshake"));
                }
                if body_len < TAG + 1 {
                    return Err(RecordError::Unexpected("too short"));
                }
                let mut aad = [0u8; 13];
                aad[..HEADER].copy_from_slice(&record[..HEADER]);
                (HEADER, self.xor_nonce(), (aad, HEADER))
            }
            Version::Tls12 => {
                if !matches!(outer_type, APPLICATION_DATA | ALERT) {
                    return Err(RecordError::Unexpected("a handshake after the handshake"));
                }
                let overhead = TAG
                    + if self.explicit_nonce {
                        EXPLICIT_NONCE
                    } else {
                        0
                    };
                if body_len < overhead {
                    return Err(RecordError::Unexpected("too short"));
                }
                let (start, nonce) = if self.explicit_nonce {
                    let mut nonce = [0u8; 12];
                    nonce[..4].copy_from_slice(&self.iv[..4]);
                    nonce[4..].copy_from_slice(&record[HEADER..HEADER + EXPLICIT_NONCE]);
                    (HEADER + EXPLICIT_NONCE, nonce)
                } else {
                    (HEADER, self.xor_nonce())
                };
                let plain_len = (body_len - overhead) as u16;
                (start, nonce, (self.tls12_aad(outer_type, plain_len), 13))
            }
        };
        let (aad_bytes, aad_len) = aad;
        let plain_len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad_bytes[..aad_len]),
                &mut record[start..],
            )
            .map_err(|_| RecordError::BadRecordMac)?
            .len();
        self.seq += 1;
        let end = start + plain_len;
        match self.version {
            Version::Tls12 => Ok(Opened {
                content_type: outer_type,
                start,
                end,
            }),
            // The real type is the last non-zero byte; zeros after it are padding.
            Version::Tls13 => {
                let last = record[start..end]
                    .iter()
                    .rposition(|&b| b != 0)
                    .ok_or(RecordError::Unexpected("no content type"))?;
                Ok(Opened {
                    content_type: record[start + last],
                    start,
                    end: start + last,
                })
            }
        }
    }

    /// One protected record of `content_type` holding `content`.
    pub(crate) fn seal(&mut self, content_type: u8, content: &[u8]) -> Vec<u8> {
        let mut record = Vec::with_capacity(HEADER + EXPLICIT_NONCE + content.len() + 1 + TAG);
        match self.version {
            Version::Tls13 => {
                let length = (content.len() + 1 + TAG) as u16;
                record.extend_from_slice(&[APPLICATION_DATA, 3, 3]);
                record.extend_from_slice(&length.to_be_bytes());
                let mut inner = content.to_vec();
                inner.push(content_type);
                let aad: [u8; HEADER] = record[..HEADER].try_into().unwrap_or_default();
                self.key
                    .seal_in_place_append_tag(
                        Nonce::assume_unique_for_key(self.xor_nonce()),
                        Aad::from(aad),
                        &mut inner,
                    )
                    .unwrap_or_default();
                record.extend_from_slice(&inner);
            }
            Version::Tls12 => {
                let explicit = if self.explicit_nonce {
                    EXPLICIT_NONCE
                } else {
                    0
                };
                let length = (explicit + content.len() + TAG) as u16;
                record.extend_from_slice(&[content_type, 3, 3]);
                record.extend_from_slice(&length.to_be_bytes());
                let nonce = if self.explicit_nonce {
                    // The sequence number is the explicit nonce, as OpenSSL and rustls do.
                    record.extend_from_slice(&self.seq.to_be_bytes());
                    let mut nonce = [0u8; 12];
                    nonce[..4].copy_from_slice(&self.iv[..4]);
                    nonce[4..].copy_from_slice(&self.seq.to_be_bytes());
                    nonce
                } else {
                    self.xor_nonce()
                };
                let aad = self.tls12_aad(content_type, content.len() as u16);
                let mut inner = content.to_vec();
                self.key
                    .seal_in_place_append_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad),
                        &mut inner,
                    )
                    .unwrap_or_default();
                record.extend_from_slice(&inner);
            }
        }
        self.seq += 1;
        record
    }

    /// RFC 8446 §5.3 (and RFC 7905 for TLS 1.2 ChaCha20): the IV XOR the sequence number.
    fn xor_nonce(&self) -> [u8; 12] {
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        nonce
    }

    /// TLS 1.2's additional data: sequence number, type, version, content length.
    fn tls12_aad(&self, content_type: u8, length: u16) -> [u8; 13] {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&self.seq.to_be_bytes());
        aad[8] = content_type;
        aad[9..11].copy_from_slice(&[3, 3]);
        aad[11..].copy_from_slice(&length.to_be_bytes());
        aad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::crypto::cipher::{AeadKey, Iv};

    /// 256-bit keys only: rustls offers no public way to make a shorter `AeadKey`
    /// (AES-128 is covered by the handshake tests in `tests.rs`).
    fn secrets(kind: u8) -> ConnectionTrafficSecrets {
        let key = AeadKey::from([7u8; 32]);
        let iv = Iv::from([9u8; 12]);
        match kind {
            0 => ConnectionTrafficSecrets::Aes256Gcm { key, iv },
            _ => ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv },
        }
    }

    fn pair(kind: u8, version: Version) -> (Protection, Protection) {
        let s = secrets(kind);
        (
            Protection::new(&s, 5, version).unwrap(),
            Protection::new(&s, 5, version).unwrap(),
        )
    }

    #[test]
    fn what_is_sealed_opens_in_sequence_for_every_suite_and_version() {
        for kind in 0..2 {
            for version in [Version::Tls12, Version::Tls13] {
                let (mut sender, mut receiver) = pair(kind, version);
                for (content_type, content) in [(APPLICATION_DATA, &b"hello"[..]), (ALERT, &[1, 0])]
                {
                    let mut record = sender.seal(content_type, content);
                    let header: [u8; HEADER] = record[..HEADER].try_into().unwrap();
                    assert_eq!(
                        Protection::announced_length(&header).unwrap(),
                        record.len() - HEADER
                    );
                    let opened = receiver.open(&mut record).unwrap();
                    assert_eq!(opened.content_type, content_type, "{kind} {version:?}");
                    assert_eq!(&record[opened.start..opened.end], content);
                }
            }
        }
    }

    #[test]
    fn tampered_replayed_or_misplaced_records_are_refused() {
        for version in [Version::Tls12, Version::Tls13] {
            let (mut sender, mut receiver) = pair(0, version);
            let mut record = sender.seal(APPLICATION_DATA, b"data");
            let last = record.len() - 1;
            record[last] ^= 1;
            assert_eq!(receiver.open(&mut record), Err(RecordError::BadRecordMac));
            // A record sealed for another sequence number.
            let (mut sender, mut receiver) = pair(0, version);
            let _skipped = sender.seal(APPLICATION_DATA, b"one");
            let mut second = sender.seal(APPLICATION_DATA, b"two");
            assert_eq!(receiver.open(&mut second), Err(RecordError::BadRecordMac));
        }
        let (_, mut receiver) = pair(0, Version::Tls13);
        let mut clear = vec![HANDSHAKE, 3, 3, 0, 20];
        clear.extend_from_slice(&[0; 20]);
        assert!(matches!(
            receiver.open(&mut clear),
            Err(RecordError::Unexpected(_))
        ));
        let too_long = [APPLICATION_DATA, 3, 3, 0xff, 0xff];
        assert!(Protection::announced_length(&too_long).is_err());
    }

    #[test]
    fn tls13_padding_is_removed() {
        let (sender, mut receiver) = pair(1, Version::Tls13);
        // Content "ab", type 23, then padding zeros, sealed by hand.
        let mut inner = b"ab".to_vec();
        inner.push(APPLICATION_DATA);
        inner.extend_from_slice(&[0; 10]);
        let mut record = vec![APPLICATION_DATA, 3, 3];
        record.extend_from_slice(&((inner.len() + TAG) as u16).to_be_bytes());
        let aad: [u8; HEADER] = record[..HEADER].try_into().unwrap();
        sender
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(sender.xor_nonce()),
                Aad::from(aad),
                &mut inner,
            )
            .unwrap();
        record.extend_from_slice(&inner);
        let opened = receiver.open(&mut record).unwrap();
        assert_eq!(&record[opened.start..opened.end], b"ab");
    }
}
