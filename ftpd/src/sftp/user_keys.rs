//! Public keys for key logins, from a directory the admin controls: `--userkeydir DIR`
//! (default `/etc/pure-ftpd/ssh/users`), one file per login, `DIR/<login>`, in OpenSSH's
//! `authorized_keys` format. Never from the account's home: a virtual user's home is
//! writable by the user (and, for many accounts, by the same system uid), so a key
//! there would let anyone who can upload a file become that account for good.
//!
//! The monitor (root) reads these files; it compares the key the pre-login process
//! names, as the bytes of its SSH wire encoding, with the keys parsed from the admin's
//! file, so that nothing the client sent is parsed here.
//!
//! Checks, as OpenSSH's `StrictModes`: the directory and the file must belong to root
//! (or to the server's own user when it was not started as root) and be writable by
//! no one else, and the file must be a regular file, not a symbolic link; otherwise
//! no key of it is used and the log says why. A login that cannot be a file name
//! (empty, with `/`, starting with `.`) has no keys.
//!
//! Options: `restrict`, `no-pty`, `no-port-forwarding`, `no-agent-forwarding`,
//! `no-X11-forwarding` and `no-user-rc` are what an SFTP-only server does anyway and
//! are accepted. Any other option (`from=`, `command=`, `expiry-time=`,
//! `cert-authority`, `principals=`, ...) is not implemented, and its line is skipped
//! with a warning: a restriction is never dropped silently.
//!
//! Lines are split here, as OpenSSH's `sshkey_advance_past_options` does, rather than by
//! ssh-key's `AuthorizedKeys`: that one reads `restrict ssh-ed25519 AAAA...` (options,
//! no comment) as a damaged key, and cuts `command="a b"` at its space. The key itself
//! is parsed by ssh-key.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

use russh::keys::{HashAlg, PublicKey};

/// Where the keys live unless `--userkeydir` says otherwise.
pub const DEFAULT_USER_KEY_DIR: &str = "/etc/pure-ftpd/ssh/users";

/// Largest key file read (OpenSSH's are a few KiB; this bounds a mistake, not an attack:
/// only the admin writes here).
const MAX_FILE: u64 = 1024 * 1024;

/// Options that only forbid what pure-sftpd never allows.
const HARMLESS_OPTIONS: &[&str] = &[
    "restrict",
    "no-pty",
    "no-port-forwarding",
    "no-agent-forwarding",
    "no-x11-forwarding",
    "no-user-rc",
];

/// The admin's key directory.
#[derive(Debug, Clone)]
pub struct UserKeys {
    dir: PathBuf,
}

/// What the directory says of a login's key.
#[derive(Debug, PartialEq, Eq)]
pub enum Listed {
    /// The key is listed for the login; its SHA-256 fingerprint, for the log.
    Yes { fingerprint: String },
    /// Not listed (or the login has no file).
    No,
}

impl UserKeys {
    /// Keys under `dir`.
    #[must_use]
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Whether `key` (an SSH public key blob) is listed for `login`. `warnings` gets
    /// what the admin should fix (a file others may write, a skipped line).
    #[must_use]
    pub fn lists(&self, login: &[u8], key: &[u8], warnings: &mut Vec<String>) -> Listed {
        let Some(text) = self.file_of(login, warnings) else {
            return Listed::No;
        };
        let mut found = Listed::No;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let where_ = || format!("{}, line {}", self.path_of(login).display(), number + 1);
            let Some((options, public)) = parse_line(line) else {
                warnings.push(format!("{}: not a public key: skipped", where_()));
                continue;
            };
            if let Some(option) = unsupported_option(&options) {
                warnings.push(format!(
                    "{}: the option {option} is not supported by pure-sftpd: that key is \
                     not used",
                    where_()
                ));
                continue;
            }
            if matches!(found, Listed::No) && public.to_bytes().is_ok_and(|blob| blob == key) {
                found = Listed::Yes {
                    fingerprint: public.fingerprint(HashAlg::Sha256).to_string(),
                };
            }
        }
        found
    }

    fn path_of(&self, login: &[u8]) -> PathBuf {
        self.dir
            .join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(login))
    }

    /// The login's file, if it may be used.
    fn file_of(&self, login: &[u8], warnings: &mut Vec<String>) -> Option<String> {
        if login.is_empty() || login[0] == b'.' || login.contains(&b'/') || login.contains(&0) {
            return None;
        }
        let server = nix::unistd::geteuid().as_raw();
        let trusted = |meta: &std::fs::Metadata| {
            (meta.uid() == 0 || meta.uid() == server) && meta.mode() & 0o022 == 0
        };
        let dir = std::fs::metadata(&self.dir).ok()?;
        if !trusted(&dir) {
            warnings.push(format!(
                "{}: the key directory must belong to root and be writable by no one \
                 else (chown root {0}; chmod go-w {0}): no key is used",
                self.dir.display()
            ));
            return None;
        }
        let path = self.path_of(login);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(&path)
            .ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || !trusted(&meta) {
            warnings.push(format!(
                "{}: a key file must be a regular file of root's that no one else may \
                 write (chown root; chmod 644): its keys are not used",
                path.display()
            ));
            return None;
        }
        let mut text = String::new();
        if file.take(MAX_FILE).read_to_string(&mut text).is_err() {
            warnings.push(format!("{}: not readable as text", path.display()));
            return None;
        }
        Some(text)
    }
}

/// A line's options (empty if none) and its key: the line is a key, or options up to
/// the first blank outside quotes, then a key.
fn parse_line(line: &str) -> Option<(Vec<&str>, PublicKey)> {
    if let Ok(key) = PublicKey::from_openssh(line) {
        return Some((Vec::new(), key));
    }
    let mut quoted = false;
    let mut options = Vec::new();
    let mut start = 0;
    for (at, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                options.push(&line[start..at]);
                start = at + 1;
            }
            ' ' | '\t' if !quoted => {
                options.push(&line[start..at]);
                let key = PublicKey::from_openssh(line[at..].trim_start()).ok()?;
                return Some((options, key));
            }
            _ => {}
        }
    }
    None
}

/// The first of `options` that pure-sftpd does not enforce.
fn unsupported_option(options: &[&str]) -> Option<String> {
    options.iter().find_map(|option| {
        let name = option.split('=').next().unwrap_or(option);
        (!HARMLESS_OPTIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(name)))
        .then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEWodnSqBYdbiDIA5Dcnqsn0SMtZX7NFXjZlINIX5QME";
    const OTHER: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBIt4Ut+qwvBPUvhwCiQqxVc3XlilqVuck7TWz+L6oXk";

    fn blob(line: &str) -> Vec<u8> {
        PublicKey::from_openssh(line).unwrap().to_bytes().unwrap()
    }

    fn dir_with(login: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.path().join(login);
        std::fs::write(&file, text).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        dir
    }

    #[test]
    fn a_listed_key_is_found_and_others_are_not() {
        let dir = dir_with("bob", &format!("# bob's laptop\n\n{ED25519} bob@laptop\n"));
        let keys = UserKeys::new(dir.path().to_path_buf());
        let mut warnings = Vec::new();
        assert!(matches!(
            keys.lists(b"bob", &blob(ED25519), &mut warnings),
            Listed::Yes { fingerprint } if fingerprint.starts_with("SHA256:")
        ));
        assert_eq!(keys.lists(b"bob", &blob(OTHER), &mut warnings), Listed::No);
        assert_eq!(
            keys.lists(b"alice", &blob(ED25519), &mut warnings),
            Listed::No
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn logins_that_are_not_file_names_have_no_keys() {
        let dir = dir_with("bob", ED25519);
        std::fs::write(dir.path().join(".hidden"), ED25519).unwrap();
        let keys = UserKeys::new(dir.path().join("sub"));
        let mut warnings = Vec::new();
        for login in [
            &b""[..],
            b".",
            b"..",
            b".hidden",
            b"../bob",
            b"x/../../bob",
            b"bob\0",
        ] {
            assert_eq!(keys.lists(login, &blob(ED25519), &mut warnings), Listed::No);
        }
        let keys = UserKeys::new(dir.path().to_path_buf());
        assert_eq!(
            keys.lists(b".hidden", &blob(ED25519), &mut warnings),
            Listed::No
        );
    }

    #[test]
    fn options_that_restrict_more_than_sftp_skip_their_line() {
        let text = format!(
            "restrict,no-pty {OTHER}\nfrom=\"10.0.0.0/8\" {ED25519}\n\
             no-pty,command=\"/bin/x -y\" {ED25519} bob\nnot a key\n"
        );
        let dir = dir_with("bob", &text);
        let keys = UserKeys::new(dir.path().to_path_buf());
        let mut warnings = Vec::new();
        assert_eq!(
            keys.lists(b"bob", &blob(ED25519), &mut warnings),
            Listed::No
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("from") && warnings[1].contains("command"));
        assert!(warnings[2].contains("line 4: not a public key"));
        assert!(matches!(
            keys.lists(b"bob", &blob(OTHER), &mut Vec::new()),
            Listed::Yes { .. }
        ));
    }

    #[test]
    fn files_and_directories_others_may_write_are_not_used() {
        let dir = dir_with("bob", ED25519);
        let keys = UserKeys::new(dir.path().to_path_buf());
        let file = dir.path().join("bob");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let mut warnings = Vec::new();
        assert_eq!(
            keys.lists(b"bob", &blob(ED25519), &mut warnings),
            Listed::No
        );
        assert!(
            warnings[0].contains("no one else may write"),
            "{warnings:?}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let mut warnings = Vec::new();
        assert_eq!(
            keys.lists(b"bob", &blob(ED25519), &mut warnings),
            Listed::No
        );
        assert!(warnings[0].contains("key directory"), "{warnings:?}");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &file).unwrap();
        assert_eq!(
            keys.lists(b"bob", &blob(ED25519), &mut Vec::new()),
            Listed::No
        );
    }
}
