use std::fmt;
use std::path::Path;

use puredb::FileReader;

use crate::account::Account;
use crate::fields::{LineError, shown};
use crate::record::Record;

/// Why an account could not be read from a `.pdb` file.
#[derive(Debug)]
pub enum LookupError {
    /// The database is missing, unreadable or damaged.
    Database(puredb::Error),
    /// The login's record is malformed; the login must be refused.
    Record {
        /// The login looked up.
        login: Vec<u8>,
        /// What is wrong with its record.
        error: LineError,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(e) => e.fmt(f),
            Self::Record { login, error } => write!(
                f,
                "the record of [{}] is malformed: {error}; fix it with pure-pw usermod and run pure-pw mkdb",
                shown(login)
            ),
        }
    }
}

impl std::error::Error for LookupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Database(e) => Some(e),
            Self::Record { error, .. } => Some(error),
        }
    }
}

/// Looks `login` up in the PureDB file at `pdb`, opened afresh so that a database
/// replaced by `pure-pw mkdb` takes effect at once. `Ok(None)`: no such login.
///
/// # Errors
/// A missing or damaged database, or a malformed record.
pub fn find_account(pdb: &Path, login: &[u8]) -> Result<Option<Account>, LookupError> {
    let reader = FileReader::open(pdb).map_err(LookupError::Database)?;
    let Some(value) = reader.get(login).map_err(LookupError::Database)? else {
        return Ok(None);
    };
    let malformed = |error| LookupError::Record {
        login: login.to_vec(),
        error,
    };
    let record = Record::parse_value(login, &value).map_err(malformed)?;
    Account::from_record(record).map(Some).map_err(malformed)
}
