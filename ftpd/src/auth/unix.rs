//! `-l unix`: system accounts. The hash comes from `/etc/shadow` when `/etc/passwd`
//! holds `x` (readable by root only); the shell must be listed in `/etc/shells` unless
//! it is `ftp`; an expired account is refused.

use pureftpd_account::{Home, password};

use super::{LoggedUser, Proof, Verdict};

pub(super) fn check(login: &[u8], proof: &Proof) -> Verdict {
    let Ok(name) = std::str::from_utf8(login) else {
        return Verdict::NotFound;
    };
    let Ok(Some(user)) = nix::unistd::User::from_name(name) else {
        return Verdict::NotFound;
    };
    let shadow = shadow_entry(name);
    let hash = match (&user.passwd, &shadow) {
        (p, Some(fields)) if p.as_bytes() == b"x" || p.as_bytes() == b"********" => {
            fields[1].clone()
        }
        (p, _) => p.as_bytes().to_vec(),
    };
    if let Some(fields) = &shadow
        && expired(fields)
    {
        return Verdict::Rejected("account expired".to_string());
    }
    let shell = user.shell.as_os_str().as_encoded_bytes();
    if !shell.eq_ignore_ascii_case(b"ftp") && !shell_allowed(shell) {
        return Verdict::Rejected("shell not in /etc/shells".to_string());
    }
    match proof {
        Proof::Password(pw) => match password::verify(pw, &hash) {
            Ok(true) => {}
            Ok(false) => return Verdict::Rejected("wrong password".to_string()),
            Err(e) => return Verdict::Rejected(e.to_string()),
        },
        // A locked account (`passwd -l`, `usermod -L`: a `!` before the hash) is
        // locked for keys too, as OpenSSH's sshd has it.
        Proof::Key if hash.starts_with(b"!") => {
            return Verdict::Rejected("account locked".to_string());
        }
        Proof::Key => {}
    }
    let home = Home::parse(user.dir.as_os_str().as_encoded_bytes());
    let mut account = LoggedUser::new(login, user.uid.as_raw(), user.gid.as_raw(), home);
    account.system_account = true;
    Verdict::Accepted(Box::new(account))
}

/// The `/etc/shadow` fields of `name`, if readable.
fn shadow_entry(name: &str) -> Option<Vec<Vec<u8>>> {
    let text = std::fs::read("/etc/shadow").ok()?;
    text.split(|&b| b == b'\n')
        .map(|line| {
            line.split(|&b| b == b':')
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        })
        .find(|fields| fields.len() >= 8 && fields[0] == name.as_bytes())
}

/// Field 8: the day (since 1970) the account expires.
fn expired(fields: &[Vec<u8>]) -> bool {
    let expire = std::str::from_utf8(&fields[7])
        .ok()
        .and_then(|d| d.parse::<i64>().ok());
    let today = jiff::Timestamp::now().as_second() / 86_400;
    expire.is_some_and(|day| day > 0 && day <= today)
}

fn shell_allowed(shell: &[u8]) -> bool {
    let Ok(text) = std::fs::read("/etc/shells") else {
        return shell == b"/bin/sh" || shell == b"/bin/csh";
    };
    text.split(|&b| b == b'\n')
        .any(|line| line.trim_ascii() == shell)
}
