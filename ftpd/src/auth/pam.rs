//! `-l pam`: a PAM conversation with the service `pure-ftpd` (`/etc/pam.d/pure-ftpd`),
//! as Pure-FTPd's `log_pam.c` (the transaction itself is `pureftpd_os::pam`): the items
//! `PAM_TTY` (`pure-ftpd`), `PAM_RUSER` (the login) and `PAM_RHOST` (the server's host
//! name, as Pure-FTPd sets it), prompts answered with the login (echoed) and the
//! password (not echoed), `pam_authenticate`, `pam_acct_mgmt`, then for an account the
//! user database knows (its uid, gid and home are the session's) `pam_setcred`
//! (`PAM_ESTABLISH_CRED`) and a session opened and at once closed (`PAM_SILENT`, the
//! results ignored), so that `pam_unix`, `pam_mkhomedir`, `pam_limits` and the rest run
//! where Pure-FTPd runs them.
//!
//! Pure-FTPd's verdicts, kept: PAM does not tell an unknown user from a wrong password,
//! so a refusal by `pam_authenticate` or `pam_acct_mgmt` passes the login to the next
//! backend of the chain, as does an account PAM accepts but the user database does not
//! know; a `pam_setcred` failure refuses it. A login that is not UTF-8 or holds a NUL
//! is never handed to PAM.

use std::ffi::CString;

use pureftpd_account::{Home, Password};
use pureftpd_os::pam::{
    PAM_ESTABLISH_CRED, PAM_RHOST, PAM_RUSER, PAM_SILENT, PAM_TTY, Transaction,
};

use super::{LoggedUser, Verdict};

/// Pure-FTPd's service name.
const SERVICE: &str = "pure-ftpd";

pub(super) fn check(login: &[u8], password: &Password, notes: &mut Vec<String>) -> Verdict {
    let Ok(name) = std::str::from_utf8(login) else {
        return Verdict::NotFound;
    };
    if name.is_empty() || name.contains('\0') || password.expose().contains(&0) {
        return Verdict::NotFound;
    }
    let mut pam = match Transaction::start(SERVICE, name, password.expose()) {
        Ok(pam) => pam,
        Err(e) => {
            notes.push(format!("PAM cannot start the service {SERVICE}: {e}"));
            return Verdict::NotFound;
        }
    };
    let _ = pam.set_item(PAM_TTY, c"pure-ftpd");
    if let Ok(user) = CString::new(name) {
        let _ = pam.set_item(PAM_RUSER, &user);
    }
    if let Some(host) = nix::unistd::gethostname()
        .ok()
        .and_then(|h| CString::new(h.into_encoded_bytes()).ok())
    {
        let _ = pam.set_item(PAM_RHOST, &host);
    }
    if let Err(e) = pam.authenticate(0).and_then(|()| pam.account_management(0)) {
        notes.push(format!("PAM refused [{name}]: {e}"));
        return Verdict::NotFound;
    }
    let Ok(Some(account)) = nix::unistd::User::from_name(name) else {
        return Verdict::NotFound;
    };
    if let Err(e) = pam.set_credentials(PAM_ESTABLISH_CRED) {
        return Verdict::Rejected(format!("PAM could not establish the credentials: {e}"));
    }
    let _ = pam.open_session(PAM_SILENT);
    let _ = pam.close_session(PAM_SILENT);
    let home = Home::parse(account.dir.as_os_str().as_encoded_bytes());
    let mut user = LoggedUser::new(login, account.uid.as_raw(), account.gid.as_raw(), home);
    user.system_account = true;
    Verdict::Accepted(Box::new(user))
}
