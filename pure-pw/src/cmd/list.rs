//! `pure-pw list`: login, home and gecos of each account, tab-separated (or in columns
//! on a terminal); `--json`: see `json.rs`.

use super::strerror;
use crate::passwd_file::Contents;
use crate::{Session, exit};

pub(crate) fn run(session: &mut Session<'_, '_>, json: bool) -> i32 {
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
    let path = session.passwd_file.clone();
    let io = &mut *session.io;
    let mut warnings = Vec::new();
    let records: Vec<_> = contents
        .records_lenient(&path, &mut |bad| warnings.push(bad))
        .collect();
    for bad in warnings {
        io.error(format!("Warning: invalid line: {bad}"));
    }
    if json {
        if io.out.write_all(&super::json::list(&records)).is_err() {
            return exit::UNEXPECTED;
        }
        return exit::OK;
    }
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    for record in records {
        let (login, home, gecos) = (text(&record.login), text(&record.home), text(&record.gecos));
        let line = if io.stdout_is_terminal {
            format!("{login:<19} {home:<39} {gecos:<19}\n")
        } else {
            format!("{login}\t{home}\t{gecos}\n")
        };
        if io.out.write_all(line.as_bytes()).is_err() {
            return exit::UNEXPECTED;
        }
    }
    exit::OK
}
