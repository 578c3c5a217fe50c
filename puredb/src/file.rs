use std::borrow::Cow;
use std::fs::File;
use std::io::ErrorKind as IoKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::format::MAGIC;
use crate::lookup::{self, Storage, check_range};
use crate::read::{Reader, Stats, check_header};

/// A PureDB file looked up in place: each lookup costs a few positioned reads (bucket
/// bounds, the bucket's slots, the matching record), whatever the file's size.
///
/// The file is opened once; a database replaced by rename (as `pure-pw mkdb` does) is
/// seen by opening it again, which is cheap.
#[derive(Debug)]
pub struct FileReader {
    file: File,
    len: u64,
    path: PathBuf,
}

impl FileReader {
    /// Opens a database and checks its header.
    ///
    /// # Errors
    /// The file cannot be opened, or is not a PureDB file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file =
            File::open(path).map_err(|e| Error::io("cannot open the PureDB file", e).at(path))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot stat the PureDB file", e).at(path))?
            .len();
        let mut head = [0u8; MAGIC.len()];
        let got =
            read_prefix(&file, &mut head).map_err(|e| Error::io("cannot read", e).at(path))?;
        check_header(len, &head[..got]).map_err(|e| e.at(path))?;
        Ok(Self {
            file,
            len,
            path: path.to_path_buf(),
        })
    }

    /// The value stored under `key`.
    ///
    /// # Errors
    /// An I/O error or a damaged file.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let found = lookup::find(self, key).map_err(|e| e.at(&self.path))?;
        found
            .map(|range| {
                let len = usize::try_from(range.end - range.start)
                    .map_err(|_| Error::corrupt("value too large").at(&self.path))?;
                Ok(self.bytes(range.start, len)?.into_owned())
            })
            .transpose()
    }

    /// Reads the whole file and checks it ([`Reader::verify`]).
    ///
    /// # Errors
    /// An I/O error or the first inconsistency found.
    pub fn verify(&self) -> Result<Stats, Error> {
        let len = usize::try_from(self.len).map_err(|_| Error::corrupt("file too large"))?;
        let bytes = self.bytes(0, len)?.into_owned();
        Reader::new(bytes)
            .and_then(|reader| reader.verify())
            .map_err(|e| e.at(&self.path))
    }
}

impl Storage for FileReader {
    fn len(&self) -> u64 {
        self.len
    }

    fn bytes(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>, Error> {
        check_range(self.len, offset, len).map_err(|e| e.at(&self.path))?;
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset).map_err(|e| {
            if e.kind() == IoKind::UnexpectedEof {
                Error::truncated("the file shrank while being read").at(&self.path)
            } else {
                Error::io("cannot read the PureDB file", e).at(&self.path)
            }
        })?;
        Ok(Cow::Owned(buf))
    }
}

fn read_prefix(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == IoKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
