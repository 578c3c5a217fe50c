//! The lookup algorithm, shared by the in-memory and the file reader: it only asks
//! its storage for small byte ranges, each bounds-checked by the storage.

use std::borrow::Cow;
use std::ops::Range;

use crate::error::Error;
use crate::format::{self, PLACEHOLDER_LEN, SLOT_LEN, SLOTS_OFFSET, TABLE_OFFSET, be32};

/// Random access to a database's bytes.
pub(crate) trait Storage {
    /// The database's size in bytes (at most [`format::MAX_FILE_LEN`]).
    fn len(&self) -> u64;

    /// `len` bytes at `offset`; an error if the range is not inside the file.
    fn bytes(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>, Error>;
}

pub(crate) fn read_u32<S: Storage + ?Sized>(storage: &S, offset: u64) -> Result<u32, Error> {
    Ok(be32(&storage.bytes(offset, 4)?))
}

/// The byte range of `key`'s value, if the key is present.
pub(crate) fn find<S: Storage + ?Sized>(
    storage: &S,
    key: &[u8],
) -> Result<Option<Range<u64>>, Error> {
    let hash = format::hash(key);
    let bucket = format::bucket(hash);
    let bounds = storage.bytes((TABLE_OFFSET + bucket * 4) as u64, 8)?;
    let (start, end) = (u64::from(be32(&bounds[..4])), u64::from(be32(&bounds[4..])));
    if start < SLOTS_OFFSET as u64 || end <= start {
        return Err(Error::corrupt(format!(
            "bucket {bucket} spans {start}..{end}"
        )));
    }
    let span = end - start;
    if span == PLACEHOLDER_LEN as u64 {
        return Ok(None);
    }
    if span % SLOT_LEN as u64 != 0 {
        return Err(Error::corrupt(format!(
            "bucket {bucket} is {span} bytes, not a whole number of slots"
        )));
    }
    let slots = storage.bytes(start, usize::try_from(span).map_err(|_| too_big())?)?;
    let slot_hash = |i: usize| be32(&slots[i * SLOT_LEN..]);
    let count = slots.len() / SLOT_LEN;
    // Slots are sorted by hash: find the first one with ours, then try each in turn.
    let mut i = partition_point(count, |i| slot_hash(i) < hash);
    while i < count && slot_hash(i) == hash {
        let record = u64::from(be32(&slots[i * SLOT_LEN + 4..]));
        if let Some(value) = match_record(storage, record, key)? {
            return Ok(Some(value));
        }
        i += 1;
    }
    Ok(None)
}

/// If the record at `offset` has key `key`, the range of its value.
fn match_record<S: Storage + ?Sized>(
    storage: &S,
    offset: u64,
    key: &[u8],
) -> Result<Option<Range<u64>>, Error> {
    let key_len = u64::from(read_u32(storage, offset)?);
    if key_len != key.len() as u64 {
        return Ok(None);
    }
    let key_and_len = storage.bytes(offset + 4, key.len() + 4)?;
    if &key_and_len[..key.len()] != key {
        return Ok(None);
    }
    let value_start = offset + 8 + key_len;
    let value_len = u64::from(be32(&key_and_len[key.len()..]));
    let value_end = value_start + value_len;
    if value_end > storage.len() {
        return Err(Error::truncated(format!(
            "the value of the record at offset {offset} ends past the end of the file"
        )));
    }
    Ok(Some(value_start..value_end))
}

fn partition_point(count: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn too_big() -> Error {
    Error::corrupt("a range does not fit in memory")
}

/// Checks a range against a storage length, for storages to call.
pub(crate) fn check_range(total: u64, offset: u64, len: usize) -> Result<Range<u64>, Error> {
    let end = offset.checked_add(len as u64).filter(|&end| end <= total);
    match end {
        Some(end) => Ok(offset..end),
        None => Err(Error::truncated(format!(
            "{len} bytes at offset {offset} lie past the end of the {total}-byte file"
        ))),
    }
}
