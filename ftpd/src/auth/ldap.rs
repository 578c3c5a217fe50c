//! `-l ldap:FILE`: an LDAP directory, through the `ldap3` crate, as Pure-FTPd 1.0.50's
//! `log_ldap.c`: the keys of `pureftpd-ldap.conf`, the `posixAccount` and `PureFTPdUser`
//! (`pureftpd.schema`) attributes, and its verdicts.
//!
//! Per login: bind as `LDAPBindDN` (anonymously without it), search `LDAPBaseDN`'s
//! subtree with `LDAPFilter` (`\L` the login), then check the password by binding as the
//! entry (`LDAPAuthMethod BIND`, the default without a bind DN) or against
//! `userPassword` (`PASSWORD`: `{argon2}`, `{scrypt}` and `{crypt}` prefixes, anything
//! else compared as cleartext, an empty password never). Uid and gid: `LDAPForceDefault…`
//! with `LDAPDefault…`, else `FTPuid`/`FTPgid`, else `uidNumber`/`gidNumber`, else the
//! default; root is refused. The home is `LDAPHomeDir`'s attribute (`homeDirectory`),
//! else `LDAPDefaultHomeDirectory`. `FTPStatus` other than `enabled` or `TRUE`, no
//! entry, a login outside `[A-Za-z0-9 -@_'.]`, or a directory that cannot be reached
//! pass the login to the next backend; a wrong password or a root id refuses it.
//!
//! Deliberate differences: the login is also escaped for the filter (RFC 4515), though
//! the characters allowed never need it; a search that finds several entries finds none
//! (Pure-FTPd 1.0.50 takes the first; later versions refuse too); a search that finds no
//! entry passes the login on even with `LDAPDefaultHomeDirectory` (1.0.50 then refuses
//! it); `ldapi://` takes the socket path as `LDAPServer` (1.0.50 appends a port to it);
//! TLS (`ldaps` or `LDAPUseTLS True`) is rustls, verifying the server against the
//! authorities OpenLDAP's library would use (`LDAPTLS_CACERT`, else `TLS_CACERT` in
//! `/etc/ldap/ldap.conf`, else the system's store); an invalid `LDAPPort` stops the start instead of meaning 389;
//! `LDAPVersion` other than 3 stops it (only version 3 is spoken).

use std::path::Path;
use std::time::Duration;

use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
use pureftpd_account::password::{self, Scheme};
use pureftpd_account::{Home, Password};

use super::conf_file;
use super::{DirectoryField, Endpoints, LoggedUser, Proof, Verdict};

/// How long connecting, and each operation, may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The keys, in Pure-FTPd's table order.
const KEYWORDS: &[&str] = &[
    "LDAPScheme",
    "LDAPServer",
    "LDAPPort",
    "LDAPBindDN",
    "LDAPBindPW",
    "LDAPBaseDN",
    "LDAPFilter",
    "LDAPHomeDir",
    "LDAPVersion",
    "LDAPDefaultUID",
    "LDAPForceDefaultUID",
    "LDAPDefaultGID",
    "LDAPForceDefaultGID",
    "LDAPUseTLS",
    "LDAPAuthMethod",
    "LDAPDefaultHomeDirectory",
];

/// The attributes read from the account's entry.
const ATTRIBUTES: &[&str] = &[
    "uidNumber",
    "FTPuid",
    "gidNumber",
    "FTPgid",
    "userPassword",
    "loginShell",
    "FTPStatus",
    "FTPQuotaFiles",
    "FTPQuotaMBytes",
    "FTPDownloadRatio",
    "FTPUploadRatio",
    "FTPDownloadBandwidth",
    "FTPUploadBandwidth",
];

/// One `-l ldap:` configuration file, read at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapConfig {
    url: String,
    starttls: bool,
    bind_dn: Option<String>,
    bind_password: Option<Password>,
    base: String,
    /// The filter, split at its `\L`.
    filter: (String, Option<String>),
    home_attribute: String,
    default_home: Option<String>,
    default_uid: u32,
    force_default_uid: bool,
    default_gid: u32,
    force_default_gid: bool,
    bind_method: bool,
    /// The authorities TLS trusts, found at start (see [`openldap_ca_file`]).
    ca_file: Option<String>,
}

impl LdapConfig {
    /// Reads `file` as Pure-FTPd does at start.
    ///
    /// # Errors
    /// A message naming the file (and the line) for an unreadable file, an unknown key,
    /// a key without value, a bad port, version or method, a filter with `%` or a `\`
    /// other than `\L`, no base DN.
    pub fn read(file: &Path) -> Result<Self, String> {
        let settings = conf_file::read(file, KEYWORDS)?;
        let shown = file.display();
        let get = |key: &str| settings.get(key).map(str::to_string);
        let is_true = |key: &str| get(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let scheme = get("LDAPScheme").unwrap_or_else(|| "ldap".to_string());
        let host = get("LDAPServer").unwrap_or_else(|| "localhost".to_string());
        let port = match get("LDAPPort") {
            None => 389,
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                format!("{shown}: LDAPPort {p} is not a port number (1 to 65535)")
            })?,
        };
        let url = if scheme.eq_ignore_ascii_case("ldapi") {
            format!("ldapi://{}", host.replace('/', "%2F"))
        } else {
            format!("{scheme}://{host}:{port}")
        };
        if let Some(version) = get("LDAPVersion")
            && version.trim() != "3"
        {
            return Err(format!(
                "{shown}: LDAPVersion {version}: only LDAP version 3 is spoken"
            ));
        }
        let filter_text = get("LDAPFilter")
            .unwrap_or_else(|| "(&(objectClass=posixAccount)(uid=\\L))".to_string());
        if filter_text.contains('%') {
            return Err(format!("{shown}: LDAPFilter may not hold %"));
        }
        let filter = match filter_text.split_once('\\') {
            None => (filter_text.clone(), None),
            Some((before, after)) if after.starts_with('L') => {
                (before.to_string(), Some(after[1..].to_string()))
            }
            Some(_) => {
                return Err(format!(
                    "{shown}: LDAPFilter: a backslash must start \\L (the login)"
                ));
            }
        };
        let bind_dn = get("LDAPBindDN");
        let bind_method = match get("LDAPAuthMethod") {
            None => bind_dn.is_none(),
            Some(m) if m.eq_ignore_ascii_case("bind") => true,
            Some(m) if m.eq_ignore_ascii_case("password") => false,
            Some(m) => {
                return Err(format!("{shown}: LDAPAuthMethod {m}: say BIND or PASSWORD"));
            }
        };
        let base = get("LDAPBaseDN").ok_or_else(|| format!("{shown}: no LDAPBaseDN given"))?;
        #[allow(clippy::cast_possible_truncation)] // uid_t, as Pure-FTPd's strtoul cast
        let id = |key: &str| {
            get(key).map_or(0, |v| {
                pureftpd_proto::c_scan::strtoul(v.as_bytes(), 10) as u32
            })
        };
        Ok(Self {
            url,
            starttls: is_true("LDAPUseTLS"),
            bind_password: bind_dn
                .as_ref()
                .and(get("LDAPBindPW"))
                .map(|p| Password::from(p.as_str())),
            bind_dn,
            base,
            filter,
            home_attribute: get("LDAPHomeDir").unwrap_or_else(|| "homeDirectory".to_string()),
            default_home: get("LDAPDefaultHomeDirectory"),
            default_uid: id("LDAPDefaultUID"),
            force_default_uid: is_true("LDAPForceDefaultUID"),
            default_gid: id("LDAPDefaultGID"),
            force_default_gid: is_true("LDAPForceDefaultGID"),
            bind_method,
            ca_file: openldap_ca_file(),
        })
    }

    fn connect(&self) -> Result<LdapConn, String> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(TIMEOUT)
            .set_starttls(self.starttls);
        if let Some(ca) = &self.ca_file {
            let config = super::tls_client::config(Some(ca))?;
            settings = settings.set_config(std::sync::Arc::new(config));
        }
        let mut conn = LdapConn::with_settings(settings, &self.url).map_err(|e| e.to_string())?;
        conn.with_timeout(TIMEOUT);
        Ok(conn)
    }

    /// Binds as `dn` (anonymously when `None`).
    fn bound(&self, dn: Option<&str>, password: &[u8]) -> Result<LdapConn, String> {
        let mut conn = self.connect()?;
        let password = String::from_utf8_lossy(password);
        conn.with_timeout(TIMEOUT)
            .simple_bind(dn.unwrap_or(""), &password)
            .and_then(ldap3::LdapResult::success)
            .map_err(|e| e.to_string())?;
        Ok(conn)
    }

    fn filter_for(&self, login: &str) -> String {
        match &self.filter {
            (whole, None) => whole.clone(),
            (before, Some(after)) => format!("{before}{}{after}", ldap3::ldap_escape(login)),
        }
    }
}

/// The certificate authorities OpenLDAP's library would trust, as Pure-FTPd's libldap
/// finds them: `LDAPTLS_CACERT` in the environment, else `TLS_CACERT` in
/// `/etc/ldap/ldap.conf`; `None` leaves the system's store (ldap3's default).
fn openldap_ca_file() -> Option<String> {
    if let Some(file) = std::env::var_os("LDAPTLS_CACERT") {
        return Some(file.to_string_lossy().into_owned());
    }
    let text = std::fs::read_to_string("/etc/ldap/ldap.conf").ok()?;
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let key = words.next()?;
        key.eq_ignore_ascii_case("TLS_CACERT")
            .then(|| words.next().map(str::to_string))
            .flatten()
    })
}

/// Pure-FTPd's `pw_ldap_validate_name`: letters, digits and ` -@_'.`.
fn is_valid_login(login: &[u8]) -> bool {
    !login.is_empty()
        && login.len() <= 256
        && login
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b" -@_'.".contains(&b))
}

/// The first value of `attribute` (names compare without regard to case, as LDAP's).
fn value(entry: &SearchEntry, attribute: &str) -> Option<String> {
    let text = entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
        .and_then(|(_, values)| values.first().cloned());
    text.or_else(|| {
        entry
            .bin_attrs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
            .and_then(|(_, values)| values.first())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    })
}

/// The id from `own` (FTPuid), else `posix` (uidNumber), else `default`; `forced`
/// takes the default when it is set.
fn account_id(entry: &SearchEntry, own: &str, posix: &str, default: u32, forced: bool) -> u32 {
    if forced && default > 0 {
        return default;
    }
    #[allow(clippy::cast_possible_truncation)] // uid_t, as Pure-FTPd's strtoul cast
    let read = |attribute: &str| {
        value(entry, attribute)
            .map(|v| pureftpd_proto::c_scan::strtoul(v.as_bytes(), 10) as u32)
            .filter(|&n| n > 0)
    };
    read(own).or_else(|| read(posix)).unwrap_or(default)
}

/// `userPassword` against the typed password, by its prefix.
fn stored_password_matches(stored: &str, typed: &Password) -> bool {
    let prefixed = |prefix: &str| {
        stored
            .get(..prefix.len())
            .filter(|p| p.eq_ignore_ascii_case(prefix))
            .map(|_| &stored[prefix.len()..])
    };
    let hashed = |hash: &str, allowed: fn(Scheme) -> bool| {
        Scheme::detect(hash).is_some_and(allowed)
            && password::verify(typed, hash.as_bytes()).unwrap_or(false)
    };
    if let Some(hash) = prefixed("{argon2}") {
        return hashed(hash, |s| s == Scheme::Argon2);
    }
    if let Some(hash) = prefixed("{scrypt}") {
        return hashed(hash, |s| s == Scheme::Scrypt);
    }
    if let Some(hash) = prefixed("{crypt}") {
        return hashed(hash, |s| s != Scheme::Argon2);
    }
    let typed = typed.expose();
    !typed.is_empty() && super::sql::constant_time_eq(typed, stored.as_bytes())
}

/// Looks `login` up and checks `password`, as Pure-FTPd's `pw_ldap_check`.
pub(super) fn check(
    config: &LdapConfig,
    login: &[u8],
    proof: &Proof,
    _at: &Endpoints,
    notes: &mut Vec<String>,
) -> Verdict {
    if !is_valid_login(login) {
        return Verdict::NotFound;
    }
    let login = String::from_utf8_lossy(login).into_owned();
    let bind_password = config
        .bind_password
        .as_ref()
        .map_or(&[][..], Password::expose);
    let mut conn = match config.bound(config.bind_dn.as_deref(), bind_password) {
        Ok(conn) => conn,
        Err(e) => {
            notes.push(format!(
                "The LDAP directory {} cannot be used: {e}",
                config.url
            ));
            return Verdict::NotFound;
        }
    };
    let mut attributes: Vec<&str> = vec![&config.home_attribute];
    attributes.extend_from_slice(ATTRIBUTES);
    let found = conn
        .with_timeout(TIMEOUT)
        .search(
            &config.base,
            Scope::Subtree,
            &config.filter_for(&login),
            attributes,
        )
        .and_then(ldap3::SearchResult::success);
    let _ = conn.unbind();
    let mut entries = match found {
        Ok((entries, _)) => entries,
        Err(e) => {
            notes.push(format!("LDAP search for [{login}] failed: {e}"));
            return Verdict::NotFound;
        }
    };
    if entries.len() != 1 {
        if entries.len() > 1 {
            notes.push(format!(
                "ldap: search for [{login}] returned {} entries; refusing ambiguous result",
                entries.len()
            ));
        }
        return Verdict::NotFound;
    }
    let entry = SearchEntry::construct(entries.remove(0));
    if let Some(status) = value(&entry, "FTPStatus")
        && !status.eq_ignore_ascii_case("enabled")
        && !status.eq_ignore_ascii_case("true")
    {
        return Verdict::NotFound;
    }
    let stored = if config.bind_method {
        None
    } else {
        let Some(stored) = value(&entry, "userPassword") else {
            notes.push(
                "ldap: userPassword is empty (does the bind DN have the right to read it?)"
                    .to_string(),
            );
            return Verdict::NotFound;
        };
        Some(stored)
    };
    let uid = account_id(
        &entry,
        "FTPuid",
        "uidNumber",
        config.default_uid,
        config.force_default_uid,
    );
    let gid = account_id(
        &entry,
        "FTPgid",
        "gidNumber",
        config.default_gid,
        config.force_default_gid,
    );
    let Some(dir) = value(&entry, &config.home_attribute)
        .filter(|d| !d.is_empty())
        .or_else(|| config.default_home.clone().filter(|d| !d.is_empty()))
    else {
        return Verdict::NotFound;
    };
    let password_ok = match (proof, &stored) {
        (Proof::Key, _) => true,
        (Proof::Password(password), Some(stored)) => stored_password_matches(stored, password),
        (Proof::Password(password), None) => {
            !password.expose().is_empty()
                && config
                    .bound(Some(&entry.dn), password.expose())
                    .map(|mut c| c.unbind())
                    .is_ok()
        }
    };
    if !password_ok {
        return Verdict::Rejected("wrong password".to_string());
    }
    if uid == 0 || gid == 0 {
        return Verdict::Rejected(format!("uid {uid} or gid {gid} is root"));
    }
    let mut user = LoggedUser::new(login.as_bytes(), uid, gid, Home::parse(dir.as_bytes()));
    user.set_directory_limits(|field| {
        value(
            &entry,
            match field {
                DirectoryField::QuotaFiles => "FTPQuotaFiles",
                DirectoryField::QuotaMegabytes => "FTPQuotaMBytes",
                DirectoryField::UploadRatio => "FTPUploadRatio",
                DirectoryField::DownloadRatio => "FTPDownloadRatio",
                DirectoryField::UploadKilobytesPerSecond => "FTPUploadBandwidth",
                DirectoryField::DownloadKilobytesPerSecond => "FTPDownloadBandwidth",
            },
        )
    });
    Verdict::Accepted(Box::new(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_outside_pure_ftpds_characters_are_not_looked_up() {
        assert!(is_valid_login(b"o'brien.x-y_z@w v"));
        for bad in [&b"*)(uid=*"[..], b"a:b", b"a+b", b"a\\", b"", b"a\0"] {
            assert!(!is_valid_login(bad), "{bad:?}");
        }
    }

    #[test]
    fn stored_passwords_by_prefix() {
        let pw = Password::from("pw");
        assert!(stored_password_matches("pw", &pw));
        assert!(!stored_password_matches("", &Password::from("")));
        let md5 = "$1$saltsalt$vcBfxHdYwsoCjXjHLKIIg1";
        assert!(!stored_password_matches("{SSHA}abc", &pw));
        assert!(!stored_password_matches(&format!("{{argon2}}{md5}"), &pw));
        assert!(!stored_password_matches(md5, &pw));
    }
}
