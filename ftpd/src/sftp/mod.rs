//! `pure-sftpd`: SFTP for exactly the accounts, homes, chroots and limits that `pure-ftpd`
//! serves over FTP and FTPS. Pure-FTPd has no SFTP; admins who want both protocols run
//! OpenSSH's `internal-sftp` beside it, which knows only system accounts. This serves
//! Pure-FTPd's virtual users (`.pdb`, SQL, LDAP, extauth, PAM: the same `-l` chain, the
//! same code) over SSH.
//!
//! Processes, as `pure-ftpd`'s (the same master, `listener`):
//!
//! ```text
//! master (root)  binds -S, accepts, -c/-C, forks one process per connection
//!   └─ connection = monitor (root)       checks logins with the -l chain, then enters the
//!      │                                 account (chroot, ids) and serves SFTP (files.rs)
//!      │                                 on a socket pair: it never reads the network
//!      └─ pre-login (nobody, empty root) SSH itself (russh): key exchange, packets,
//!                                        passwords and public keys forwarded to the
//!                                        monitor, key signatures checked; then relays
//!                                        the sftp channel's bytes
//! ```
//!
//! SSH only, SFTP only: no shell, no commands, no terminals, no forwarding of any kind
//! (`transport.rs`). Algorithms (see [`algorithms`]): hybrid post-quantum ML-KEM-768 +
//! X25519 and curve25519 key exchange, Ed25519 and RSA-SHA2 host keys, ChaCha20-Poly1305
//! and AES-GCM (AES-CTR with SHA-2 MACs for older libssh2 clients); nothing that
//! ssh-audit marks as failing. Host keys: `host_keys.rs`.
//!
//! Quotas: `quota.rs`; logs, `-O` and `-o`: `report.rs`; `-x -X -K -G -R`: `rules.rs`;
//! key logins: `user_keys.rs`; `-T`, `-Q`: `throttle.rs`. pure-ftpd's options that mean
//! nothing for SFTP are refused, not ignored (`options.rs`).

pub mod account;
mod attrs;
pub mod files;
pub mod host_keys;
pub mod monitor;
pub mod options;
pub mod protocol;
mod quota;
pub mod refusal;
mod report;
mod rules;
pub mod session;
mod throttle;
pub mod transport;
pub mod user_keys;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use pureftpd_cli::Exit;
use russh::keys::{Algorithm, HashAlg, PrivateKey};
use russh::{Preferred, cipher, compression, kex, mac};

/// What every connection of the server shares.
pub struct Server {
    /// russh's settings, host keys included.
    pub ssh: Arc<russh::server::Config>,
    /// `--userkeydir`: the public keys of key logins.
    pub user_keys: user_keys::UserKeys,
}

/// Exit status for a configuration error (as pure-ftpd's).
const CONFIG_ERROR: i32 = 252;

/// What the server offers, strongest first.
#[must_use]
pub fn algorithms() -> Preferred {
    Preferred {
        kex: Cow::Borrowed(&[
            kex::MLKEM768X25519_SHA256,
            kex::CURVE25519,
            kex::CURVE25519_PRE_RFC_8731,
            kex::EXTENSION_SUPPORT_AS_SERVER,
            kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
        ]),
        key: Cow::Borrowed(&[
            Algorithm::Ed25519,
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
        ]),
        host_key_certificates: Cow::Borrowed(&[]),
        // AES-CTR with SHA-2 MACs last, for libssh2 before 1.11 (curl and others on
        // Debian 12), which has neither ChaCha20-Poly1305 nor AES-GCM nor ETM MACs;
        // ssh-audit does not fail them.
        cipher: Cow::Borrowed(&[
            cipher::CHACHA20_POLY1305,
            cipher::AES_256_GCM,
            cipher::AES_128_GCM,
            cipher::AES_256_CTR,
            cipher::AES_128_CTR,
        ]),
        mac: Cow::Borrowed(&[
            mac::HMAC_SHA512_ETM,
            mac::HMAC_SHA256_ETM,
            mac::HMAC_SHA512,
            mac::HMAC_SHA256,
        ]),
        compression: Cow::Borrowed(&[compression::NONE]),
    }
}

/// russh's settings for every connection of this server.
#[must_use]
pub fn ssh_config(config: &crate::config::Config, keys: Vec<PrivateKey>) -> russh::server::Config {
    russh::server::Config {
        server_id: russh::SshId::Standard(Cow::Owned(format!(
            "SSH-2.0-pure-sftpd_{}",
            crate::VERSION
        ))),
        methods: russh::MethodSet::from(
            &[russh::MethodKind::PublicKey, russh::MethodKind::Password][..],
        ),
        // The monitor delays failures itself, as pure-ftpd's does.
        auth_rejection_time: Duration::ZERO,
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys,
        // The monitor ends a connection at its sixth failure (passwords and keys the
        // admin did not list), as OpenSSH's MaxAuthTries 6. russh counts the client's
        // opening `none` request as well, which OpenSSH does not: at 6 it would refuse
        // a listed key offered after five unknown ones, which sshd takes.
        max_auth_attempts: 7,
        inactivity_timeout: Some(config.max_idle),
        preferred: algorithms(),
        nodelay: true,
        ..Default::default()
    }
}

/// Runs `pure-sftpd`; returns the exit status.
pub fn main() -> i32 {
    let mut args = std::env::args_os();
    let program = args.next().map_or_else(
        || "pure-sftpd".to_string(),
        |p| p.to_string_lossy().into_owned(),
    );
    let (config, host_key_dir, user_key_dir) = match options::parse(&program, args.collect()) {
        Ok(options::Invocation::Serve {
            config,
            host_key_dir,
            user_key_dir,
        }) => (config, host_key_dir, user_key_dir),
        Ok(options::Invocation::Help) => return Exit::help(options::help_text()).report(),
        Err(e) => {
            let exit = Exit::error(
                format!("pure-sftpd: configuration error: {e}"),
                CONFIG_ERROR,
            );
            return match &e.getopt {
                Some(complaint) => exit.after(complaint),
                None => exit,
            }
            .report();
        }
    };
    let keys = match host_keys::load_or_create(&host_key_dir) {
        Ok(keys) => keys,
        Err(e) => return Exit::error(format!("pure-sftpd: host keys: {e}"), CONFIG_ERROR).report(),
    };
    let server = Arc::new(Server {
        ssh: Arc::new(ssh_config(&config, keys)),
        user_keys: user_keys::UserKeys::new(user_key_dir),
    });
    // Read once here, so that every connection forked later inherits them.
    let _ = crate::time_zone::local();
    pureftpd_account::password::detect_cpu_features();
    if crate::privsep::wanted()
        && let Err(e) = crate::privsep::prepare()
    {
        return Exit::error(format!("pure-sftpd: {e}"), 1).report();
    }
    if config.upload_script
        && let Err(e) = crate::upload_pipe::open()
    {
        return Exit::error(
            format!(
                "pure-sftpd: -o: unable to open the upload pipe {}: {e}",
                pureftpd_bridge::upload::pipe_path().display()
            ),
            1,
        )
        .report();
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    crate::listener::run_sftp(&config, server)
}
