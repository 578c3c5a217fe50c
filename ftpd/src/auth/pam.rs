//! `-l pam`: a PAM conversation with the service `pure-ftpd` (`/etc/pam.d/pure-ftpd`),
//! through the `nonstick` crate, as Pure-FTPd's `log_pam.c`: the items `PAM_TTY`
//! (`pure-ftpd`), `PAM_RUSER` (the login) and `PAM_RHOST` (the server's host name, as
//! Pure-FTPd sets it), the conversation answering prompts with the login (echoed) and
//! the password (not echoed), then `pam_authenticate` and `pam_acct_mgmt`. The account
//! must exist in the system's user database (`getpwnam`), whose uid, gid and home the
//! session takes.
//!
//! Pure-FTPd's verdicts, kept: PAM does not tell an unknown user from a wrong password,
//! so a refusal passes the login to the next backend of the chain; an account PAM
//! accepts but the user database does not know does too.
//!
//! Deliberate differences: `nonstick` has no `pam_setcred`, `pam_open_session` nor
//! `pam_close_session` yet, so modules that act there (`pam_mkhomedir`, `pam_limits`,
//! `pam_group`) are not run; Pure-FTPd opens and at once closes the session, and ignores
//! its result. A login that is not UTF-8 or holds a NUL is never handed to PAM.

use std::ffi::{OsStr, OsString};

use nonstick::items::ItemsMut;
use nonstick::{
    AuthnFlags, ConversationAdapter, ErrorCode, PamShared, Result as PamResult, Transaction,
    TransactionBuilder,
};
use pureftpd_account::{Home, Password};

use super::{LoggedUser, Verdict};

/// Pure-FTPd's service name.
const SERVICE: &str = "pure-ftpd";

/// Answers PAM's prompts: the login when echoed, the password when not; messages
/// are ignored, as Pure-FTPd's conversation ignores information lines.
struct Answers {
    login: String,
    password: Password,
}

impl ConversationAdapter for Answers {
    fn prompt(&self, _request: impl AsRef<OsStr>) -> PamResult<OsString> {
        Ok(OsString::from(&self.login))
    }

    fn masked_prompt(&self, _request: impl AsRef<OsStr>) -> PamResult<OsString> {
        let text = std::str::from_utf8(self.password.expose())
            .map_err(|_| ErrorCode::ConversationError)?;
        Ok(OsString::from(text))
    }

    fn error_msg(&self, _message: impl AsRef<OsStr>) {}

    fn info_msg(&self, _message: impl AsRef<OsStr>) {}
}

pub(super) fn check(login: &[u8], password: &Password, notes: &mut Vec<String>) -> Verdict {
    let Ok(name) = std::str::from_utf8(login) else {
        return Verdict::NotFound;
    };
    if name.is_empty() || name.contains('\0') || password.expose().contains(&0) {
        return Verdict::NotFound;
    }
    let answers = Answers {
        login: name.to_string(),
        password: password.clone(),
    };
    let started = TransactionBuilder::new_with_service(SERVICE)
        .username(name)
        .build(answers.into_conversation());
    let mut pam = match started {
        Ok(pam) => pam,
        Err(e) => {
            notes.push(format!("PAM cannot start the service {SERVICE}: {e}"));
            return Verdict::NotFound;
        }
    };
    {
        let mut items = pam.items_mut();
        let _ = items.set_tty_name(Some(OsStr::new("pure-ftpd")));
        let _ = items.set_remote_user(Some(OsStr::new(name)));
        if let Ok(host) = nix::unistd::gethostname() {
            let _ = items.set_remote_host(Some(&host));
        }
    }
    if let Err(e) = pam
        .authenticate(AuthnFlags::empty())
        .and_then(|()| pam.account_management(AuthnFlags::empty()))
    {
        notes.push(format!("PAM refused [{name}]: {e}"));
        return Verdict::NotFound;
    }
    let Ok(Some(account)) = nix::unistd::User::from_name(name) else {
        return Verdict::NotFound;
    };
    let home = Home::parse(account.dir.as_os_str().as_encoded_bytes());
    let mut user = LoggedUser::new(login, account.uid.as_raw(), account.gid.as_raw(), home);
    user.system_account = true;
    Verdict::Accepted(Box::new(user))
}
