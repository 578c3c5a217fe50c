//! `pure-pwconvert`: prints a `pureftpd.passwd` line for each system account that could
//! log in by FTP, so that system users can become virtual users.
//!
//! As Pure-FTPd's: accounts with uid and gid above 0, an existing home directory and a
//! shell listed in `/etc/shells` (or the shell `ftp`); the password from `/etc/shadow`
//! when `/etc/passwd` holds `x` (`*` if that is locked); the gecos cut at its first comma; the home chrooted
//! (`/./` appended). Lines have six fields, as Pure-FTPd's tool writes them.
//!
//! This reads the `files` databases (`/etc/passwd`, `/etc/shadow`) rather than going
//! through NSS, so LDAP or NIS accounts are not listed.

use std::io::Write;
use std::path::Path;

/// Runs the tool; returns the exit status.
pub fn main() -> i32 {
    let read = |path: &str| std::fs::read(path).ok();
    let Some(passwd) = read("/etc/passwd") else {
        eprintln!("pure-pwconvert: cannot read /etc/passwd");
        return 1;
    };
    let lines = convert(
        &passwd,
        read("/etc/shadow").as_deref(),
        read("/etc/shells").as_deref(),
        &|dir| Path::new(dir).is_dir(),
    );
    let mut out = std::io::stdout().lock();
    match out.write_all(&lines).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The conversion, from the contents of `/etc/passwd`, `/etc/shadow` (if readable) and
/// `/etc/shells` (if present; otherwise only `/bin/sh` and `/bin/csh`, as getusershell).
pub fn convert(
    passwd: &[u8],
    shadow: Option<&[u8]>,
    shells: Option<&[u8]>,
    is_dir: &dyn Fn(&std::ffi::OsStr) -> bool,
) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let shells: Vec<&[u8]> = match shells {
        Some(text) => text
            .split(|&b| b == b'\n')
            .map(trim)
            .filter(|s| !s.is_empty() && !s.starts_with(b"#"))
            .collect(),
        None => vec![b"/bin/sh", b"/bin/csh"],
    };
    let shadow_password = |name: &[u8]| -> Option<&[u8]> {
        shadow?
            .split(|&b| b == b'\n')
            .map(|line| line.split(|&b| b == b':').collect::<Vec<_>>())
            .find(|fields| fields.len() >= 2 && fields[0] == name)
            .map(|fields| fields[1])
    };
    let mut out = Vec::new();
    for line in passwd.split(|&b| b == b'\n') {
        let fields: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        let [name, password, uid, gid, gecos, home, shell] = fields[..] else {
            continue;
        };
        let id = |text: &[u8]| std::str::from_utf8(text).ok()?.parse::<u32>().ok();
        let (Some(uid), Some(gid)) = (id(uid), id(gid)) else {
            continue;
        };
        if name.is_empty() || uid == 0 || gid == 0 || !is_dir(std::ffi::OsStr::from_bytes(home)) {
            continue;
        }
        if !shell.eq_ignore_ascii_case(b"ftp") && !shells.contains(&shell) {
            continue;
        }
        let shadowed = password == b"x"
            || password == b"********"
            || (password.starts_with(b"##") && &password[2..] == name);
        let mut password = password;
        if shadowed && let Some(hidden) = shadow_password(name) {
            // Locked (`!`), disabled (`*`) and `@` entries cannot log in: Debian's
            // tool prints them as `*`.
            let locked = matches!(hidden.first(), Some(b'!' | b'*' | b'@'));
            password = if locked { b"*" } else { hidden };
        }
        if password.is_empty() {
            password = b"*";
        }
        let gecos = gecos.split(|&b| b == b',').next().unwrap_or_default();
        for part in [
            name,
            b":",
            password,
            b":",
            uid.to_string().as_bytes(),
            b":",
            gid.to_string().as_bytes(),
            b":",
            gecos,
            b":",
            home,
            b"/./\n",
        ] {
            out.extend_from_slice(part);
        }
    }
    out
}

fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_as_pure_ftpd_does() {
        let passwd = b"root:x:0:0:root:/root:/bin/bash\n\
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
            alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n\
            bob:$1$abc$def:1001:1001::/home/bob:ftp\n\
            carol:x:1002:1002::/nonexistent:/bin/sh\n\
            dave::1003:1003::/home/dave:/bin/sh\n\
            erin:x:1004:1004::/home/erin:/bin/sh\n";
        let shadow = b"alice:$y$j9T$salt$hash:19000:0:99999:7:::\nerin:!$y$j9T$x$y:1\n";
        let shells = b"# /etc/shells\n/bin/sh\n/bin/bash\n";
        let dirs = |d: &std::ffi::OsStr| d != "/nonexistent";
        let out = convert(passwd, Some(shadow), Some(shells), &dirs);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "alice:$y$j9T$salt$hash:1000:1000:Alice Liddell:/home/alice/./\n\
             bob:$1$abc$def:1001:1001::/home/bob/./\n\
             dave:*:1003:1003::/home/dave/./\n\
             erin:*:1004:1004::/home/erin/./\n"
        );
    }
}
