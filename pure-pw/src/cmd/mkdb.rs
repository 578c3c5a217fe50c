//! `pure-pw mkdb [<file.pdb>]`: compiles the passwd file into a PureDB database.
//!
//! Each account becomes a record whose key is the login and whose value is the rest of
//! its line, verbatim, in file order: the output is byte-identical to Pure-FTPd's. But
//! where the C tool silently drops a line it cannot read (and with it a user), this
//! refuses the whole file, naming the line, and leaves the existing database alone.
//! Fields after the 18th are kept in the record, as Pure-FTPd's mkdb keeps them, and
//! ignored by every reader; mkdb says which lines have them.

use std::path::Path;

use puredb::Builder;

use super::strerror;
use pureftpd_account::Record;

use crate::passwd_file::{BadLine, Contents};
use crate::{Session, exit};

pub(crate) fn run(session: &mut Session<'_, '_>, target: &Path) -> i32 {
    let contents = match Contents::read(&session.passwd_file) {
        Ok(Some(contents)) => contents,
        Ok(None) => {
            session
                .io
                .error("Unable to open the passwd file: No such file or directory");
            return exit::PASSWD_FILE;
        }
        Err(e) => {
            session
                .io
                .error(format!("Unable to open the passwd file: {}", strerror(&e)));
            return exit::PASSWD_FILE;
        }
    };
    let mut builder = Builder::new();
    for line in contents.accounts() {
        let text = line.text();
        if let Err(error) = Record::check(text) {
            let bad = BadLine {
                path: session.passwd_file.clone(),
                number: line.number,
                error,
            };
            session.io.error(format!(
                "{bad}\nFix or remove that line and run mkdb again; [{}] was left as it was.",
                target.display()
            ));
            return exit::PASSWD_FILE;
        }
        let extra = pureftpd_account::extra_fields(text);
        if extra > 0 {
            session.io.error(format!(
                "Warning: line {} of [{}] has {extra} field(s) after the 18th; they are ignored",
                line.number,
                session.passwd_file.display()
            ));
        }
        // A checked line has a login before its first colon.
        let Some(colon) = text.iter().position(|&b| b == b':') else {
            continue;
        };
        if let Err(e) = builder.add(&text[..colon], &text[colon + 1..]) {
            session
                .io
                .error(format!("Error while indexing a new entry: {e}"));
            return exit::UNEXPECTED;
        }
    }
    match builder.write_file(target) {
        Ok(()) => exit::OK,
        Err(e) => {
            session
                .io
                .error(format!("Unable to create the database: {e}"));
            exit::UNEXPECTED
        }
    }
}
