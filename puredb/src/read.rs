use std::borrow::Cow;

use crate::error::{Error, ErrorKind};
use crate::format::{
    self, BUCKETS, MAGIC, MAX_FILE_LEN, PLACEHOLDER_LEN, SLOT_LEN, SLOTS_OFFSET, TABLE_OFFSET, be32,
};
use crate::lookup::{self, Storage, check_range};

/// A PureDB database held in memory: a file read whole, a memory map, or bytes built by
/// [`crate::Builder`].
///
/// [`Reader::new`] checks the header; every lookup bounds-checks what it reads, so a
/// damaged file yields an [`Error`], never a panic. [`Reader::verify`] checks the whole
/// file.
#[derive(Debug, Clone)]
pub struct Reader<D> {
    data: D,
}

/// What [`Reader::verify`] found in a sound database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Number of records.
    pub records: usize,
}

impl<D: AsRef<[u8]>> Reader<D> {
    /// Wraps a database's bytes after checking its size and magic.
    ///
    /// # Errors
    /// [`ErrorKind::Truncated`], [`ErrorKind::TooLarge`] or [`ErrorKind::BadMagic`] when
    /// the bytes cannot be a PureDB file.
    pub fn new(data: D) -> Result<Self, Error> {
        let bytes = data.as_ref();
        check_header(
            bytes.len() as u64,
            bytes.get(..MAGIC.len()).unwrap_or(bytes),
        )?;
        Ok(Self { data })
    }

    /// The value stored under `key`; the first one in the file if the key was added
    /// more than once.
    ///
    /// # Errors
    /// A damaged file ([`ErrorKind::Corrupt`], [`ErrorKind::Truncated`]).
    pub fn get(&self, key: &[u8]) -> Result<Option<&[u8]>, Error> {
        let bytes = self.data.as_ref();
        Ok(lookup::find(self, key)?.map(|range| &bytes[range.start as usize..range.end as usize]))
    }

    /// The records in file order (the order they were added in).
    pub fn records(&self) -> Records<'_> {
        let bytes = self.data.as_ref();
        let start = be32(&bytes[TABLE_OFFSET + BUCKETS * 4..]) as usize;
        Records {
            bytes,
            offset: start,
        }
    }

    /// Checks the whole file: the bucket table, every slot, every record, and that each
    /// record is reached by exactly one slot whose hash is its key's.
    ///
    /// # Errors
    /// The first inconsistency found.
    pub fn verify(&self) -> Result<Stats, Error> {
        let bytes = self.data.as_ref();
        let table: Vec<u32> = (0..=BUCKETS)
            .map(|i| be32(&bytes[TABLE_OFFSET + i * 4..]))
            .collect();
        if table[0] as usize != SLOTS_OFFSET {
            return Err(Error::corrupt(format!(
                "bucket 0 starts at {}, not {SLOTS_OFFSET}",
                table[0]
            )));
        }
        let data_start = table[BUCKETS] as usize;
        if data_start > bytes.len() {
            return Err(Error::truncated(format!(
                "records start at {data_start}, past the end of the {}-byte file",
                bytes.len()
            )));
        }
        let slots = collect_slots(bytes, &table)?;
        let mut record_offsets = Vec::with_capacity(slots.len());
        for record in self.records() {
            let (offset, key, _) = record?;
            record_offsets.push((offset, format::hash(key)));
        }
        if record_offsets.len() != slots.len() {
            return Err(Error::corrupt(format!(
                "{} slots for {} records",
                slots.len(),
                record_offsets.len()
            )));
        }
        for (hash, offset) in &slots {
            match record_offsets.binary_search_by_key(&(*offset as usize), |r| r.0) {
                Ok(i) if record_offsets[i].1 == *hash => {}
                Ok(_) => {
                    return Err(Error::corrupt(format!(
                        "the record at offset {offset} does not hash to its slot"
                    )));
                }
                Err(_) => {
                    return Err(Error::corrupt(format!(
                        "a slot points to offset {offset}, which is not the start of a record"
                    )));
                }
            }
        }
        Ok(Stats {
            records: slots.len(),
        })
    }

    /// The underlying bytes.
    pub fn into_inner(self) -> D {
        self.data
    }
}

/// Every slot as (hash, record offset), after checking the bucket table and slot order.
fn collect_slots(bytes: &[u8], table: &[u32]) -> Result<Vec<(u32, u32)>, Error> {
    let mut slots = Vec::new();
    for bucket in 0..BUCKETS {
        let (start, end) = (table[bucket] as usize, table[bucket + 1] as usize);
        if end <= start || end > bytes.len() {
            return Err(Error::corrupt(format!(
                "bucket {bucket} spans {start}..{end}"
            )));
        }
        let span = end - start;
        if span == PLACEHOLDER_LEN {
            let placeholder = be32(&bytes[start..]);
            if placeholder as usize != bucket + 1 {
                return Err(Error::corrupt(format!(
                    "empty bucket {bucket} holds {placeholder}, not {}",
                    bucket + 1
                )));
            }
            continue;
        }
        if span % SLOT_LEN != 0 {
            return Err(Error::corrupt(format!(
                "bucket {bucket} is {span} bytes, not a whole number of slots"
            )));
        }
        let mut previous: Option<(u32, u32)> = None;
        for slot in bytes[start..end].chunks_exact(SLOT_LEN) {
            let current = (be32(slot), be32(&slot[4..]));
            if format::bucket(current.0) != bucket {
                return Err(Error::corrupt(format!(
                    "hash {:#010x} is filed in bucket {bucket}",
                    current.0
                )));
            }
            if previous.is_some_and(|p| p >= current) {
                return Err(Error::corrupt(format!(
                    "the slots of bucket {bucket} are not sorted"
                )));
            }
            previous = Some(current);
            slots.push(current);
        }
    }
    Ok(slots)
}

/// Iterator over a database's records: `(offset, key, value)`.
#[derive(Debug)]
pub struct Records<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<(usize, &'a [u8], &'a [u8]), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.offset >= self.bytes.len() {
            return None;
        }
        let start = self.offset;
        let field = |at: usize| -> Result<(&'a [u8], usize), Error> {
            let len = self
                .bytes
                .get(at..at + 4)
                .map(be32)
                .ok_or_else(|| truncated_record(start))? as usize;
            let body = self
                .bytes
                .get(at + 4..at + 4 + len)
                .ok_or_else(|| truncated_record(start))?;
            Ok((body, at + 4 + len))
        };
        let result = field(start).and_then(|(key, next)| {
            let (value, end) = field(next)?;
            Ok((key, value, end))
        });
        match result {
            Ok((key, value, end)) => {
                self.offset = end;
                Some(Ok((start, key, value)))
            }
            Err(e) => {
                self.offset = self.bytes.len();
                Some(Err(e))
            }
        }
    }
}

fn truncated_record(offset: usize) -> Error {
    Error::truncated(format!(
        "the record at offset {offset} runs past the end of the file"
    ))
}

impl<D: AsRef<[u8]>> Storage for Reader<D> {
    fn len(&self) -> u64 {
        self.data.as_ref().len() as u64
    }

    fn bytes(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>, Error> {
        let range = check_range(Storage::len(self), offset, len)?;
        Ok(Cow::Borrowed(
            &self.data.as_ref()[range.start as usize..range.end as usize],
        ))
    }
}

/// Checks what can be known from a file's size and first bytes.
pub(crate) fn check_header(len: u64, head: &[u8]) -> Result<(), Error> {
    if len > MAX_FILE_LEN {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!("{len} bytes is more than a PureDB file can address"),
        ));
    }
    if head.len() < MAGIC.len() || &head[..MAGIC.len()] != MAGIC {
        return Err(Error::new(
            ErrorKind::BadMagic,
            "it does not start with PDB2".to_string(),
        ));
    }
    if len < SLOTS_OFFSET as u64 {
        return Err(Error::truncated(format!(
            "{len} bytes, shorter than the {SLOTS_OFFSET}-byte header"
        )));
    }
    Ok(())
}
