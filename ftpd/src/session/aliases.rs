//! Directory aliases (`/etc/pure-ftpd/pureftpd-dir-aliases`; `PURE_FTPD_DIR_ALIASES`
//! names another file): alternating lines of an alias and a directory, `#` comments
//! and blank lines skipped. `SITE ALIAS` lists them; `CWD <alias>` goes to the
//! directory when no directory of that name exists. The directories are paths in the
//! session's own file system (inside its chroot).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pureftpd_proto::Reply;

use super::{Outcome, Session};

/// Pure-FTPd's file.
const DEFAULT_FILE: &str = "/etc/pure-ftpd/pureftpd-dir-aliases";
/// Most aliases read (and most bytes of the file).
const MAX_ALIASES: usize = 1000;
const MAX_FILE: u64 = 1 << 20;

static FILE: OnceLock<PathBuf> = OnceLock::new();

/// Where the aliases are. The master asks first, before it forks any session: reading
/// the environment takes std's lock on it, a write that would copy the lock's page of
/// static data into every session for good.
pub(crate) fn file() -> &'static Path {
    FILE.get_or_init(|| {
        std::env::var_os("PURE_FTPD_DIR_ALIASES")
            .filter(|p| !p.is_empty())
            .map_or_else(|| PathBuf::from(DEFAULT_FILE), PathBuf::from)
    })
}

/// The aliases, read at login (before any chroot hides the file);
/// `None` when there is no file.
#[must_use]
pub(crate) fn load() -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    super::magic::read_at_most(file(), MAX_FILE).map(|text| parse(&text))
}

/// The alias/directory pairs of the file's text.
fn parse(text: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).trim_ascii())
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .filter(|l| !l.iter().any(|&b| b < 0x20 || b == 0x7f))
        .collect();
    lines
        .chunks_exact(2)
        .take(MAX_ALIASES)
        .map(|pair| (pair[0].to_vec(), pair[1].to_vec()))
        .collect()
}

impl Session<'_> {
    /// SITE ALIAS: the list, as Pure-FTPd prints it.
    pub(super) fn site_alias(&self) -> Outcome {
        let Some(aliases) = &self.aliases else {
            return Reply::new(502, "Configuration error").into();
        };
        let mut reply = Reply::empty(214);
        reply.push("The following aliases are available :");
        for (alias, dir) in aliases {
            reply.push([&b" "[..], alias, b" ", dir].concat());
        }
        reply.push(" ");
        reply.into()
    }

    /// The directory `name` stands for, if it is an alias.
    pub(super) fn alias_target(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.aliases
            .as_ref()?
            .iter()
            .find(|(alias, _)| alias == name)
            .map(|(_, dir)| dir.clone())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pairs_skip_comments_and_blank_lines() {
        let aliases = super::parse(b"# header\ndocs\n/sub\n\n# between\nroot\r\n/\nodd\n");
        assert_eq!(
            aliases,
            [
                (b"docs".to_vec(), b"/sub".to_vec()),
                (b"root".to_vec(), b"/".to_vec())
            ]
        );
    }
}
