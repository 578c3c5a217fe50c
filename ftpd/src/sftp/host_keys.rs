//! Host keys: read from `--hostkeydir` (default `/etc/pure-ftpd/ssh`), made there on the
//! first start. Files and names are OpenSSH's (`ssh_host_ed25519_key`, `ssh_host_rsa_key`,
//! OpenSSH's private key format, the public halves beside them as `.pub`), so that
//! `ssh-keygen -lf` shows the fingerprints an admin publishes, and keys can be moved
//! from or to an OpenSSH server.
//!
//! As sshd does, a private key that others may read, or that someone else owns, stops
//! the start: it must be presumed stolen. The directory is made 0700, the keys 0600,
//! written to a temporary name and renamed, so that a start interrupted mid-write leaves
//! no half key. Randomness comes straight from the kernel (`getrandom`), never from a
//! user-space generator the master would hand down to every session it forks.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{LineEnding, private::RsaKeypair};
use russh::keys::{Algorithm, PrivateKey};

/// RSA keys made here: OpenSSH's `ssh-keygen` default.
const RSA_BITS: usize = 3072;

/// The key files, in the order the server offers them.
const KINDS: [(&str, Kind); 2] = [
    ("ssh_host_ed25519_key", Kind::Ed25519),
    ("ssh_host_rsa_key", Kind::Rsa),
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Ed25519,
    Rsa,
}

/// The server's host keys, read or made in `dir`.
///
/// # Errors
/// A message that names the file and says what to do.
pub fn load_or_create(dir: &Path) -> Result<Vec<PrivateKey>, String> {
    prepare_directory(dir)?;
    KINDS
        .iter()
        .map(|(name, kind)| {
            let path = dir.join(name);
            match fs::symlink_metadata(&path) {
                Ok(_) => read_key(&path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => create_key(&path, *kind),
                Err(e) => Err(format!("{}: {e}", path.display())),
            }
        })
        .collect()
}

fn prepare_directory(dir: &Path) -> Result<(), String> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "--hostkeydir {}: not a directory (a symbolic link is refused too)",
            dir.display()
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("--hostkeydir {}: cannot create it: {e}", dir.display())),
        Err(e) => Err(format!("--hostkeydir {}: {e}", dir.display())),
    }
}

fn read_key(path: &Path) -> Result<PrivateKey, String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(format!(
            "{}: owned by uid {}, not by the server's user: a key someone else controls is not a secret",
            path.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{}: permissions {:04o} let others read it; chmod 600 it (and consider it stolen)",
            path.display(),
            meta.mode() & 0o7777
        ));
    }
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    let key = PrivateKey::from_openssh(text.as_bytes()).map_err(|e| {
        format!(
            "{}: not an OpenSSH private key ({e}); make one with ssh-keygen -t ed25519 -N ''",
            path.display()
        )
    })?;
    if key.is_encrypted() {
        return Err(format!(
            "{}: the key has a passphrase, which a server cannot type; remove it with ssh-keygen -p",
            path.display()
        ));
    }
    Ok(key)
}

fn create_key(path: &Path, kind: Kind) -> Result<PrivateKey, String> {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let key = match kind {
        Kind::Ed25519 => PrivateKey::random(&mut rng, Algorithm::Ed25519),
        Kind::Rsa => {
            RsaKeypair::random(&mut rng, RSA_BITS).and_then(|pair| PrivateKey::new(pair.into(), ""))
        }
    }
    .map_err(|e| format!("{}: cannot make a key: {e}", path.display()))?;
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    write_new(path, text.as_bytes(), 0o600)
        .map_err(|e| format!("{}: cannot write it: {e}", path.display()))?;
    if let Ok(public) = key.public_key().to_openssh() {
        let mut public_path = path.as_os_str().to_owned();
        public_path.push(".pub");
        let _ = write_new(
            &PathBuf::from(public_path),
            format!("{public}\n").as_bytes(),
            0o644,
        );
    }
    Ok(key)
}

/// Writes `bytes` to a fresh temporary file beside `path`, then renames it there.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let _ = fs::remove_file(&temporary);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("ssh");
        let made = load_or_create(&keys_dir).unwrap();
        assert_eq!(made.len(), 2);
        assert_eq!(made[0].algorithm(), Algorithm::Ed25519);
        assert!(made[1].algorithm().is_rsa());
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&keys_dir), 0o700);
        assert_eq!(mode(&keys_dir.join("ssh_host_ed25519_key")), 0o600);
        assert_eq!(mode(&keys_dir.join("ssh_host_rsa_key.pub")), 0o644);
        let again = load_or_create(&keys_dir).unwrap();
        assert_eq!(
            again[0].public_key().key_data(),
            made[0].public_key().key_data()
        );
        // Readable by others: refused, with what to do.
        let key = keys_dir.join("ssh_host_ed25519_key");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let e = load_or_create(&keys_dir).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        // Not a key: refused, naming the file.
        fs::write(&key, "nonsense").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        let e = load_or_create(&keys_dir).unwrap_err();
        assert!(
            e.contains("ssh_host_ed25519_key") && e.contains("ssh-keygen"),
            "{e}"
        );
    }
}
