//! The server's settings: Pure-FTPd's command line ([`args`]), turned into a typed
//! [`Config`] with its defaults.

pub mod args;
pub mod file;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// An authentication backend of the `-l` chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// `-l unix`: system accounts (`/etc/passwd`, `/etc/shadow`).
    Unix,
    /// `-l pam`: the PAM service `pure-ftpd`.
    Pam,
    /// `-l puredb:/path/file.pdb`.
    PureDb(PathBuf),
    /// `-l extauth:/path/socket`.
    ExtAuth(PathBuf),
    /// `-l mysql:/path/file.conf`, read at start.
    MySql(std::sync::Arc<crate::auth::sql::SqlConfig>),
    /// `-l ldap:/path/file.conf`, read at start.
    Ldap(std::sync::Arc<crate::auth::ldap::LdapConfig>),
    /// `-l pgsql:/path/file.conf`, read at start.
    PgSql(std::sync::Arc<crate::auth::sql::SqlConfig>),
}

/// An upload:download pair, either side optional (`-t 100`, `-t 100:`, `-t :200`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpDown {
    /// Upload side.
    pub up: Option<u64>,
    /// Download side.
    pub down: Option<u64>,
}

/// Everything the command line can set.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)]
pub struct Config {
    /// `-0`: uploads go to a temporary file renamed when complete.
    pub no_truncate: bool,
    /// `-1`: add the PID to syslog lines.
    pub log_pid: bool,
    /// `-2`: TLS certificate (and key).
    pub cert_file: Option<String>,
    /// `-3`: pure-certd socket.
    pub ext_cert: Option<PathBuf>,
    /// `-4`.
    pub ipv4_only: bool,
    /// `-6`.
    pub ipv6_only: bool,
    /// `-a`: members of this group are not chrooted.
    pub trusted_gid: Option<u32>,
    /// `-A`: chroot everyone but root.
    pub chroot_everyone: bool,
    /// `-b`.
    pub broken_clients: bool,
    /// `-B`.
    pub daemonize: bool,
    /// `-c`: sessions at once.
    pub max_clients: u32,
    /// `-C`: sessions at once from one address.
    pub max_clients_per_ip: Option<u32>,
    /// `-d`, counted.
    pub verbose: u8,
    /// `-D`: LIST always shows dot files.
    pub display_dot_files: bool,
    /// `-e`.
    pub anonymous_only: bool,
    /// `-E`.
    pub no_anonymous: bool,
    /// `-f`: syslog facility (`None` for `-f none`).
    pub syslog_facility: Option<u8>,
    /// `-F`.
    pub fortunes_file: Option<PathBuf>,
    /// `-g`.
    pub pid_file: Option<PathBuf>,
    /// `-G`.
    pub no_rename: bool,
    /// `-H`.
    pub dont_resolve: bool,
    /// `-i`.
    pub anonymous_cant_upload: bool,
    /// `-I`.
    pub max_idle: Duration,
    /// `-j`.
    pub create_home: bool,
    /// `-J`.
    pub tls_ciphers: Option<String>,
    /// `-k`: refuse uploads above this disk usage (percent).
    pub max_disk_usage: Option<u8>,
    /// `-K`.
    pub keep_all_files: bool,
    /// `-l`, in order.
    pub auth: Vec<AuthMethod>,
    /// `-L`: most entries in one listing, deepest recursion.
    pub max_list_entries: u32,
    /// `-L`, second number.
    pub max_list_depth: u32,
    /// `-m`.
    pub max_load: Option<f64>,
    /// `-M`.
    pub anonymous_can_mkdir: bool,
    /// `-n`: default files and bytes quota.
    pub quota: Option<(u64, u64)>,
    /// `-N`: no passive mode.
    pub nat_mode: bool,
    /// `-o`.
    pub upload_script: bool,
    /// `-O`.
    pub alt_log: Option<crate::altlog::Spec>,
    /// `-p`.
    pub passive_ports: (u16, u16),
    /// `-P`.
    pub force_passive_ip: Option<String>,
    /// `-q`.
    pub anonymous_ratio: Option<(u32, u32)>,
    /// `-Q`.
    pub user_ratio: Option<(u32, u32)>,
    /// `-r`.
    pub auto_rename: bool,
    /// `-R`.
    pub no_chmod: bool,
    /// `-s`.
    pub anti_warez: bool,
    /// `-S`: address to listen on (`None`: all).
    pub bind_host: Option<String>,
    /// `-S`: port or service name.
    pub bind_port: String,
    /// `-t`, bytes per second.
    pub anonymous_bandwidth: Option<UpDown>,
    /// `-T`, bytes per second.
    pub user_bandwidth: Option<UpDown>,
    /// `-u`.
    pub min_uid: u32,
    /// `-U`: umask for files.
    pub file_umask: u32,
    /// `-U`: umask for directories.
    pub dir_umask: u32,
    /// `-V`.
    pub trusted_ip: Option<IpAddr>,
    /// `-w`.
    pub allow_user_fxp: bool,
    /// `-W`.
    pub allow_anonymous_fxp: bool,
    /// `-x`.
    pub prohibit_dot_write: bool,
    /// `-X`.
    pub prohibit_dot_read: bool,
    /// `-y`: sessions per login, and for anonymous (0: unlimited).
    pub per_user_limits: Option<(u32, u32)>,
    /// `-Y`.
    pub tls: u8,
    /// `-z`.
    pub allow_dot_files: bool,
    /// `-Z`.
    pub customer_proof: bool,
    /// `--implicittls`: TLS from the first byte (FTPS on port 990), a run-time option
    /// here where Pure-FTPd only has it at compile time.
    pub implicit_tls: bool,
    /// `--stopsessions`: SIGTERM ends the sessions too (each tells its client, 421),
    /// where by default, as Pure-FTPd, only the master stops and sessions finish.
    pub stop_sessions: bool,
    /// `--proxyprotocol=<addresses>`: the load balancers whose connections start with a
    /// PROXY protocol header (ours; see `proxy_protocol.rs`).
    pub proxy_from: Vec<IpAddr>,
    /// `--metrics ADDRESS:PORT`: where the Prometheus endpoint listens (ours; see
    /// `metrics/mod.rs`).
    pub metrics: Option<String>,
}

impl Config {
    /// `-c`, capped as Pure-FTPd caps it: at most one session per two passive ports,
    /// so that they do not run out (the greeting's "of N allowed" says so too).
    #[must_use]
    pub fn max_sessions(&self) -> u32 {
        let (first, last) = self.passive_ports;
        let by_ports = u32::from(last - first).div_ceil(2);
        self.max_clients.min(by_ports.max(1))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            no_truncate: false,
            log_pid: false,
            cert_file: None,
            ext_cert: None,
            ipv4_only: false,
            ipv6_only: false,
            trusted_gid: None,
            chroot_everyone: false,
            broken_clients: false,
            daemonize: false,
            max_clients: 50,
            max_clients_per_ip: None,
            verbose: 0,
            display_dot_files: false,
            anonymous_only: false,
            no_anonymous: false,
            syslog_facility: Some(args::FACILITY_FTP),
            fortunes_file: None,
            pid_file: None,
            no_rename: false,
            dont_resolve: false,
            anonymous_cant_upload: false,
            max_idle: Duration::from_secs(15 * 60),
            create_home: false,
            tls_ciphers: None,
            max_disk_usage: None,
            keep_all_files: false,
            auth: Vec::new(),
            max_list_entries: 10_000,
            max_list_depth: 5,
            max_load: None,
            anonymous_can_mkdir: false,
            quota: None,
            nat_mode: false,
            upload_script: false,
            alt_log: None,
            passive_ports: (1024, 65535),
            force_passive_ip: None,
            anonymous_ratio: None,
            user_ratio: None,
            auto_rename: false,
            no_chmod: false,
            anti_warez: false,
            bind_host: None,
            bind_port: "21".to_string(),
            anonymous_bandwidth: None,
            user_bandwidth: None,
            min_uid: 0,
            file_umask: 0o133,
            dir_umask: 0o022,
            trusted_ip: None,
            allow_user_fxp: false,
            allow_anonymous_fxp: false,
            prohibit_dot_write: false,
            prohibit_dot_read: false,
            per_user_limits: None,
            tls: 0,
            allow_dot_files: false,
            customer_proof: false,
            implicit_tls: false,
            stop_sessions: false,
            proxy_from: Vec::new(),
            metrics: None,
        }
    }
}

impl Config {
    /// The authentication chain, defaulting to PAM as Debian's Pure-FTPd.
    #[must_use]
    pub fn auth_chain(&self) -> Vec<AuthMethod> {
        if self.auth.is_empty() {
            // Debian's pure-ftpd (built with PAM) defaults to PAM.
            vec![AuthMethod::Pam]
        } else {
            self.auth.clone()
        }
    }

    /// Whether anonymous logins are possible.
    #[must_use]
    pub fn anonymous_allowed(&self) -> bool {
        !self.no_anonymous
    }
}
