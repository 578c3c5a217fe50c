use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What went wrong with a PureDB file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing the file failed.
    Io,
    /// The file is shorter than its header, or a record runs past its end.
    Truncated,
    /// The file does not start with `PDB2` (not a PureDB file, or an old format).
    BadMagic,
    /// The file is larger than the format can address (4 GiB − 1).
    TooLarge,
    /// The header or a slot points somewhere it cannot (an offset out of range, slots
    /// out of order, a record whose key does not hash to its slot).
    Corrupt,
}

/// An error reading or writing a PureDB file. Its message says what is wrong and, for a
/// damaged file, how to repair it.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
    path: Option<PathBuf>,
    source: Option<io::Error>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            path: None,
            source: None,
        }
    }

    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, detail)
    }

    pub(crate) fn truncated(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Truncated, detail)
    }

    pub(crate) fn io(detail: impl Into<String>, source: io::Error) -> Self {
        Self {
            source: Some(source),
            ..Self::new(ErrorKind::Io, detail)
        }
    }

    pub(crate) fn at(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file concerned, when known.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        match self.kind {
            ErrorKind::Io => {
                write!(f, "{}", self.detail)?;
                if let Some(source) = &self.source {
                    write!(f, ": {source}")?;
                }
                Ok(())
            }
            ErrorKind::BadMagic => write!(
                f,
                "not a PureDB file ({}); rebuild it with `pure-pw mkdb`",
                self.detail
            ),
            ErrorKind::TooLarge => write!(f, "{}", self.detail),
            ErrorKind::Truncated | ErrorKind::Corrupt => write!(
                f,
                "damaged PureDB file ({}); rebuild it with `pure-pw mkdb`",
                self.detail
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
