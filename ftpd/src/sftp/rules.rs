//! pure-ftpd's per-server rules, applied to SFTP requests as its FTP commands apply them
//! (`session/files.rs`): `-X` hides dot files from reading and writing, `-x` from
//! writing, `-K` keeps every file (no deletion), `-G` forbids renaming, `-R` forbids
//! changing permissions (root excepted); a name with a control character or a
//! backslash is never created. A refusal is `SSH_FX_PERMISSION_DENIED` with the reason.

use russh_sftp::protocol::StatusCode;
use russh_sftp::server::StatusReply;

use crate::config::Config;

/// The rules of one session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    dot_read: bool,
    dot_write: bool,
    delete: bool,
    rename: bool,
    chmod: bool,
}

fn denied(why: &str) -> StatusReply {
    StatusReply::new(StatusCode::PermissionDenied).with_message(why)
}

/// Whether a cleaned path has a component starting with a dot (`.` and `..` aside).
fn has_dot_component(path: &[u8]) -> bool {
    path.split(|&b| b == b'/')
        .any(|part| part.starts_with(b".") && part != b"." && part != b"..")
}

/// Pure-FTPd's `checknamesanity` for names that are made.
fn insane_name(path: &[u8]) -> bool {
    path.iter().any(|&b| b < 0x20 || b == 0x7f || b == b'\\')
}

impl Rules {
    pub(crate) fn new(config: &Config, uid: u32) -> Self {
        Self {
            dot_read: !config.prohibit_dot_read,
            dot_write: !config.prohibit_dot_write && !config.prohibit_dot_read,
            delete: !config.keep_all_files,
            rename: !config.no_rename,
            chmod: !config.no_chmod || uid == 0,
        }
    }

    /// Reading (or listing, or looking at) `path`.
    pub(crate) fn read(self, path: &[u8]) -> Result<(), StatusReply> {
        if !self.dot_read && has_dot_component(path) {
            return Err(denied("Prohibited file name (-X)"));
        }
        Ok(())
    }

    /// Creating or changing `path`.
    pub(crate) fn write(self, path: &[u8]) -> Result<(), StatusReply> {
        if !self.dot_write && has_dot_component(path) {
            return Err(denied("Prohibited file name (-x)"));
        }
        if insane_name(path) {
            return Err(denied("Prohibited file name"));
        }
        Ok(())
    }

    /// Deleting `path` (a file).
    pub(crate) fn delete(self, path: &[u8]) -> Result<(), StatusReply> {
        if !self.delete {
            return Err(denied("Files are kept on this server (-K)"));
        }
        self.write(path)
    }

    /// Renaming `from` to `to`.
    pub(crate) fn rename(self, from: &[u8], to: &[u8]) -> Result<(), StatusReply> {
        if !self.rename {
            return Err(denied("Renaming is not allowed on this server (-G)"));
        }
        self.write(from)?;
        self.write(to)
    }

    /// Changing `path`'s permissions.
    pub(crate) fn chmod(self, path: &[u8]) -> Result<(), StatusReply> {
        if !self.chmod {
            return Err(denied(
                "Changing permissions is not allowed on this server (-R)",
            ));
        }
        self.write(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_refuse_what_pure_ftpd_refuses() {
        let open = Rules::new(&Config::default(), 1000);
        assert!(open.read(b"/.hidden").is_ok() && open.write(b"/a/.b").is_ok());
        assert!(open.write(b"/bad\\name").is_err() && open.write(b"/new\nline").is_err());
        assert!(open.read(b"/new\nline").is_ok());
        let strict = Rules::new(
            &Config {
                prohibit_dot_read: true,
                keep_all_files: true,
                no_rename: true,
                no_chmod: true,
                ..Config::default()
            },
            1000,
        );
        assert!(strict.read(b"/sub/.x/y").is_err() && strict.write(b"/.x").is_err());
        assert!(strict.read(b"/./a/../b").is_ok());
        assert!(strict.delete(b"/a").is_err() && strict.rename(b"/a", b"/b").is_err());
        assert!(strict.chmod(b"/a").is_err());
        let write_only = Rules::new(
            &Config {
                prohibit_dot_write: true,
                no_chmod: true,
                ..Config::default()
            },
            0,
        );
        assert!(write_only.read(b"/.x").is_ok() && write_only.write(b"/.x").is_err());
        assert!(write_only.chmod(b"/a").is_ok(), "root may chmod under -R");
    }
}
