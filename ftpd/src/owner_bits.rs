//! The owner's bits a change of mode keeps, whatever mode is asked.
//!
//! Pure-FTPd's `SITE CHMOD` adds them to the mode (and answers 200) so that no chmod
//! locks the owner out of what a session needs: the session's root keeps `u+rwx`; under
//! a quota every directory keeps `u+rx`, because the usage is counted by walking the
//! tree as the account, and a directory it cannot enter would hide its files from the
//! count; with `-Z` (customer proof) every file keeps `u+rw` and every directory
//! `u+rwx`. Ours applies the same to SFTP's `SETSTAT` (pure-sftpd has no `-Z`).

use nix::sys::stat::FileStat;

use crate::vfs::Vfs;

/// What applies to the session besides the target itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keep {
    /// A quota applies to the account.
    pub(crate) under_quota: bool,
    /// `-Z`.
    pub(crate) customer_proof: bool,
}

impl Keep {
    /// The bits to add to the mode asked for `target`, a path of `vfs` already stat'ed
    /// (following links, as chmod does).
    pub(crate) fn bits(self, vfs: &Vfs, target: &FileStat) -> u32 {
        let is_dir = target.st_mode & 0o170_000 == 0o040_000;
        let is_root = vfs
            .stat(b"/")
            .is_ok_and(|root| (root.st_dev, root.st_ino) == (target.st_dev, target.st_ino));
        let mut keep = 0;
        if self.under_quota && is_dir {
            keep |= 0o500;
        }
        if is_root {
            keep |= 0o700;
        } else if self.customer_proof {
            keep |= if is_dir { 0o700 } else { 0o600 };
        }
        keep
    }
}
