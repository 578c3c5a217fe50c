//! The PureDB ("PDB2") file format.
//!
//! All integers are unsigned 32-bit big-endian; all offsets are absolute, from the start
//! of the file, so a file is at most 4 GiB − 1 bytes.
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 4 | magic `PDB2` |
//! | 4 | 257 × 4 | bucket table `T[0..=256]`: `T[i]` is the offset of bucket *i*'s slots, `T[256]` the offset of the first record |
//! | 1032 | … | slots of buckets 0..=255, in order |
//! | `T[256]` | … | records, in the order they were added |
//!
//! A bucket holding *n* keys has *n* slots of 8 bytes (`hash`, `record offset`), sorted
//! by hash and then by offset. An empty bucket holds one 4-byte placeholder whose value
//! is its index plus one, so `T[i+1] − T[i] == 4`. A record is `key_len`, key bytes,
//! `value_len`, value bytes, with no padding.
//!
//! A key's bucket is the low byte of [`hash`].

/// The four bytes every PureDB file starts with.
pub const MAGIC: &[u8; 4] = b"PDB2";
/// Number of buckets (the low byte of the hash picks one).
pub const BUCKETS: usize = 256;
/// Offset of the bucket table.
pub const TABLE_OFFSET: usize = MAGIC.len();
/// Size of the bucket table: one offset per bucket plus the end of the slot area.
pub const TABLE_LEN: usize = (BUCKETS + 1) * 4;
/// Offset of the slot area, which is also `T[0]` in every valid file.
pub const SLOTS_OFFSET: usize = TABLE_OFFSET + TABLE_LEN;
/// Size of one slot: the key's hash and its record's offset.
pub const SLOT_LEN: usize = 8;
/// Size of an empty bucket's placeholder.
pub const PLACEHOLDER_LEN: usize = 4;
/// Largest file the format can address.
pub const MAX_FILE_LEN: u64 = u32::MAX as u64;

/// PureDB's key hash: DJB's "times 33, xor", fed the key from its **last** byte to its
/// first, starting from 5381. Bytes are unsigned.
#[must_use]
pub fn hash(key: &[u8]) -> u32 {
    key.iter()
        .rev()
        .fold(5381u32, |h, &b| h.wrapping_mul(33) ^ u32::from(b))
}

/// The bucket a hash falls in.
#[must_use]
pub fn bucket(hash: u32) -> usize {
    (hash & 0xff) as usize
}

pub(crate) fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors checked against files written by Debian's pure-pw (spec §1.2).
    #[test]
    fn hash_matches_pure_ftpd() {
        let vectors: [(&[u8], u32, usize); 7] = [
            (b"", 0x0000_1505, 0x05),
            (b"a", 0x0002_B5C4, 0xC4),
            (b"alice", 0x09D9_68E7, 231),
            (b"bob", 0x0B87_47AA, 170),
            (b"carol", 0x0A53_E016, 22),
            (b"u90", 0x0B86_69F9, 249),
            (b"u18", 0x0B86_8AF9, 249),
        ];
        for (key, h, b) in vectors {
            assert_eq!(hash(key), h, "hash of {key:?}");
            assert_eq!(bucket(h), b, "bucket of {key:?}");
        }
    }

    #[test]
    fn high_bytes_are_unsigned() {
        // 5381 * 33 ^ 0xE9: a signed char would have xor-ed 0xFFFFFFE9 instead.
        assert_eq!(hash(&[0xE9]), 5381u32.wrapping_mul(33) ^ 0xE9);
    }
}
