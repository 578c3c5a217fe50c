//! pure-ftpwho: the sessions in the scoreboard, in Pure-FTPd's formats (text table,
//! verbose table, `-s` shell lines, `-x` XML, `-w`/`-W`/`-c` HTML, `-p` plist) and as
//! JSON (`--json`). Records of sessions whose process is gone are removed; a record that
//! cannot be read is skipped with a warning on stderr.

mod entry;
mod format;
mod options;

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

pub use entry::Entry;
pub use options::{Format, Options};

/// Runs pure-ftpwho with its arguments (without the program name); returns the exit
/// status.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cgi_environment = std::env::var_os("GATEWAY_INTERFACE").is_some();
    let options = match options::parse(args, cgi_environment) {
        Ok(options) => options,
        Err(exit) => return exit.report(),
    };
    let dir = pureftpd_scoreboard::directory();
    let scan = match pureftpd_scoreboard::read_all(&dir) {
        Ok(scan) => scan,
        Err(e) => {
            eprintln!(
                "Unable to open the ftpwho scoreboard ({e}).\n\
                 Make sure that the [{}/] directory exists,\n\
                 Or wait until a client connects, so that it gets\n\
                 automatically created. This message doesn't mean that your\n\
                 server didn't start properly. It probably just means that\n\
                 you are running it with ftpwho for the first time.",
                dir.display()
            );
            return 255;
        }
    };
    for (path, reason) in &scan.skipped {
        eprintln!("pure-ftpwho: skipping {}: {reason}", path.display());
    }
    // Left by a server that died: nobody else would remove them.
    for path in &scan.stale {
        let _ = std::fs::remove_file(path);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut resolver = entry::Resolver::new(options.numeric);
    let entries: Vec<Entry> = scan
        .records
        .iter()
        .map(|record| Entry::new(record, now, &mut resolver))
        .collect();
    let output = format::render(&options, &entries);
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(&output)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return 1;
    }
    0
}
