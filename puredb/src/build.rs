use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::error::{Error, ErrorKind};
use crate::format::{self, BUCKETS, MAGIC, MAX_FILE_LEN, PLACEHOLDER_LEN, SLOT_LEN, SLOTS_OFFSET};

/// Collects records and writes a PureDB file.
///
/// For the same records added in the same order, the bytes are those Pure-FTPd's
/// `pure-pw mkdb` writes: records in insertion order, each bucket's slots sorted by
/// hash then by offset, `i + 1` placeholders for empty buckets.
#[derive(Debug, Default)]
pub struct Builder {
    /// Records, encoded, in insertion order.
    data: Vec<u8>,
    /// Per bucket: (hash, offset of the record within `data`).
    buckets: Vec<Vec<(u32, u32)>>,
    records: usize,
}

impl Builder {
    /// An empty database.
    #[must_use]
    pub fn new() -> Self {
        Self {
            data: Vec::new(),
            buckets: vec![Vec::new(); BUCKETS],
            records: 0,
        }
    }

    /// Adds a record. Adding a key twice keeps both; lookups find the first.
    ///
    /// # Errors
    /// [`ErrorKind::TooLarge`] when the file would exceed 4 GiB − 1.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        let record_len = 8 + key.len() as u64 + value.len() as u64;
        if self.file_len() + record_len + SLOT_LEN as u64 > MAX_FILE_LEN {
            return Err(Error::new(
                ErrorKind::TooLarge,
                "the database would exceed the 4 GiB PureDB limit",
            ));
        }
        let hash = format::hash(key);
        // Fits: the whole file is below 4 GiB.
        let offset = self.data.len() as u32;
        self.buckets[format::bucket(hash)].push((hash, offset));
        for field in [key, value] {
            self.data
                .extend_from_slice(&(field.len() as u32).to_be_bytes());
            self.data.extend_from_slice(field);
        }
        self.records += 1;
        Ok(())
    }

    /// Number of records added.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records
    }

    /// Whether no record was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    fn index_len(&self) -> u64 {
        let slots: u64 = self
            .buckets
            .iter()
            .map(|b| match b.len() {
                0 => PLACEHOLDER_LEN as u64,
                n => (n * SLOT_LEN) as u64,
            })
            .sum();
        SLOTS_OFFSET as u64 + slots
    }

    fn file_len(&self) -> u64 {
        self.index_len() + self.data.len() as u64
    }

    /// The header, bucket table and slots: everything before the records.
    fn index(&self) -> Vec<u8> {
        // Fits: `add` keeps the whole file below 4 GiB.
        let data_start = self.index_len() as u32;
        let mut index = Vec::with_capacity(data_start as usize);
        index.extend_from_slice(MAGIC);
        let mut offset = SLOTS_OFFSET as u32;
        for bucket in &self.buckets {
            index.extend_from_slice(&offset.to_be_bytes());
            offset += match bucket.len() {
                0 => PLACEHOLDER_LEN as u32,
                n => (n * SLOT_LEN) as u32,
            };
        }
        index.extend_from_slice(&offset.to_be_bytes());
        for (i, bucket) in self.buckets.iter().enumerate() {
            if bucket.is_empty() {
                index.extend_from_slice(&(i as u32 + 1).to_be_bytes());
                continue;
            }
            let mut slots = bucket.clone();
            slots.sort_unstable();
            for (hash, record) in slots {
                index.extend_from_slice(&hash.to_be_bytes());
                index.extend_from_slice(&(data_start + record).to_be_bytes());
            }
        }
        index
    }

    /// The complete file.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.index();
        bytes.extend_from_slice(&self.data);
        bytes
    }

    /// Writes the complete file to `out`.
    ///
    /// # Errors
    /// Any write error.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.index())?;
        out.write_all(&self.data)
    }

    /// Replaces the file at `path` atomically: the database is written to a temporary
    /// file in the same directory (mode 0600), flushed to disk, then renamed over
    /// `path`. Readers see the old file or the new one, never a torn one, and a writer
    /// killed half-way leaves `path` untouched.
    ///
    /// # Errors
    /// Any I/O error; `path` is then unchanged.
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let (dir, prefix) = temporary_place(path);
        let mut tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(TEMPORARY_SUFFIX)
            .rand_bytes(TEMPORARY_RANDOM)
            .tempfile_in(dir)
            .map_err(|e| {
                Error::io("cannot create a temporary file beside the database", e).at(path)
            })?;
        let written = {
            let mut out = io::BufWriter::new(tmp.as_file_mut());
            self.write_to(&mut out).and_then(|()| out.flush())
        }
        .and_then(|()| tmp.as_file().sync_all());
        written.map_err(|e| Error::io("cannot write the new database", e).at(path))?;
        tmp.persist(path).map_err(|e| {
            Error::io("cannot rename the new database into place", e.error).at(path)
        })?;
        // Make the rename itself durable.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("cannot sync the database's directory", e).at(path))
    }
}

/// `.tmp`: the end of the temporary file's name.
const TEMPORARY_SUFFIX: &str = ".tmp";
/// Random characters in the temporary file's name.
const TEMPORARY_RANDOM: usize = 6;

/// Where [`Builder::write_file`] writes before renaming: the database's directory, and
/// the name's start, `.<name>.`.
fn temporary_place(path: &Path) -> (&Path, std::ffi::OsString) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or(std::ffi::OsStr::new("pdb")));
    prefix.push(".");
    (dir, prefix)
}

/// Removes the temporary files that writers of `path` killed half-way left behind
/// (`.<name>.XXXXXX.tmp`, see [`Builder::write_file`]). Only for a caller that knows no
/// other writer of `path` is at work (pure-pw holds its lock), or it would remove a
/// file being written.
pub fn remove_stale_temporaries(path: &Path) {
    let (dir, prefix) = temporary_place(path);
    let prefix = prefix.as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        let bytes = file_name.as_encoded_bytes();
        let random = bytes
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(TEMPORARY_SUFFIX.as_bytes()));
        let stale = random.is_some_and(|r| {
            r.len() == TEMPORARY_RANDOM && r.iter().all(u8::is_ascii_alphanumeric)
        });
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
