//! A PAM transaction for a server that knows the login and the password up front, over
//! the raw `libpam-sys` bindings (no libclang needed to build, unlike `pam-client`).
//!
//! Why here and not a crate: the PAM clients on crates.io either need libclang at build
//! time (`pam`, `pam-client`) or lack `pam_setcred` and the session calls (`nonstick`
//! 0.1), and Pure-FTPd makes all of them. The unsafe surface is the conversation
//! callback and the calls themselves; each block says why it holds.

use std::ffi::{CStr, CString, c_int, c_void};
use std::ptr;

use libpam_sys::{pam_conv, pam_handle, pam_message, pam_response};

pub use libpam_sys::{PAM_ESTABLISH_CRED, PAM_RHOST, PAM_RUSER, PAM_SILENT, PAM_SUCCESS, PAM_TTY};

/// What the conversation answers: the login to echoed prompts, the password to the
/// others. Informational messages are ignored; an error message ends the
/// conversation with `PAM_CONV_ERR`, as in Pure-FTPd.
struct Answers {
    login: CString,
    password: CString,
}

impl Drop for Answers {
    fn drop(&mut self) {
        // Wipe the password's bytes (CString has no zeroizing form).
        let bytes = std::mem::take(&mut self.password).into_bytes_with_nul();
        let mut bytes = bytes;
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// A started transaction; `pam_end` runs on drop.
pub struct Transaction {
    handle: *mut pam_handle,
    /// Where PAM's copy of the conversation points: kept alive, and at one place,
    /// for the whole transaction.
    _conversation: Box<pam_conv>,
    _answers: Box<Answers>,
    last: c_int,
}

/// A PAM error code, with PAM's text for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamError {
    /// The `PAM_*` code.
    pub code: c_int,
    /// `pam_strerror`'s text.
    pub text: String,
}

impl std::fmt::Display for PamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.text, self.code)
    }
}

impl std::error::Error for PamError {}

unsafe extern "C" fn conversation(
    count: c_int,
    messages: *const *const pam_message,
    responses: *mut *mut pam_response,
    data: *mut c_void,
) -> c_int {
    let Ok(count) = usize::try_from(count) else {
        return libpam_sys::PAM_CONV_ERR;
    };
    if count == 0 || messages.is_null() || responses.is_null() || data.is_null() {
        return libpam_sys::PAM_CONV_ERR;
    }
    // SAFETY: `data` is the `Answers` box given to pam_start, alive as long as the
    // transaction (Transaction owns it), and only read here.
    let answers = unsafe { &*data.cast::<Answers>() };
    // SAFETY: calloc returns zeroed memory for `count` responses or null; PAM frees
    // the array and each `resp` with free(), so they must come from malloc.
    let array =
        unsafe { nix::libc::calloc(count, size_of::<pam_response>()) }.cast::<pam_response>();
    if array.is_null() {
        return libpam_sys::PAM_BUF_ERR;
    }
    for i in 0..count {
        // SAFETY: Linux-PAM passes an array of `count` pointers to messages, each
        // valid for the duration of the call.
        let style = unsafe { (**messages.add(i)).msg_style };
        let answer = match style {
            libpam_sys::PAM_PROMPT_ECHO_ON => Some(&answers.login),
            libpam_sys::PAM_PROMPT_ECHO_OFF => Some(&answers.password),
            libpam_sys::PAM_TEXT_INFO => None,
            _ => {
                free_responses(array, i);
                return libpam_sys::PAM_CONV_ERR;
            }
        };
        if let Some(answer) = answer {
            // SAFETY: `answer` is a valid C string; strdup copies it into malloc'd
            // memory that PAM will free.
            let copy = unsafe { nix::libc::strdup(answer.as_ptr()) };
            if copy.is_null() {
                free_responses(array, i);
                return libpam_sys::PAM_BUF_ERR;
            }
            // SAFETY: `i < count`, inside the calloc'd array.
            unsafe { (*array.add(i)).resp = copy };
        }
    }
    // SAFETY: `responses` is PAM's out-pointer, checked non-null above.
    unsafe { *responses = array };
    PAM_SUCCESS
}

/// Frees the first `filled` answers and the array (a failed conversation).
fn free_responses(array: *mut pam_response, filled: usize) {
    for i in 0..filled {
        // SAFETY: `i < filled <= count`: an element of the calloc'd array, whose
        // `resp` is null or strdup'd.
        unsafe {
            let resp = (*array.add(i)).resp;
            if !resp.is_null() {
                // Wipe what may be the password before giving the memory back.
                ptr::write_bytes(resp, 0, nix::libc::strlen(resp));
                nix::libc::free(resp.cast());
            }
        }
    }
    // SAFETY: the array came from calloc and is freed once.
    unsafe { nix::libc::free(array.cast()) };
}

impl Transaction {
    /// `pam_start(service, login)` with a conversation that answers `login` and
    /// `password`.
    ///
    /// # Errors
    /// PAM refuses to start (no such service configuration, no memory), or a string
    /// holds a NUL.
    pub fn start(service: &str, login: &str, password: &[u8]) -> Result<Self, PamError> {
        let nul = |_| PamError {
            code: libpam_sys::PAM_BUF_ERR,
            text: "a NUL byte in the service, login or password".to_string(),
        };
        let service = CString::new(service).map_err(nul)?;
        let answers = Box::new(Answers {
            login: CString::new(login).map_err(nul)?,
            password: CString::new(password).map_err(nul)?,
        });
        let mut conversation = Box::new(pam_conv {
            conv: conversation,
            appdata_ptr: ptr::from_ref::<Answers>(&answers).cast_mut().cast(),
        });
        let mut handle: *mut pam_handle = ptr::null_mut();
        // SAFETY: the strings are valid C strings for the call; the conversation and
        // its data are boxed and owned by the returned Transaction, so they outlive
        // the handle (Linux-PAM copies the struct, OpenPAM keeps the pointer: both
        // fine); `handle` is a valid out-pointer.
        let code = unsafe {
            libpam_sys::pam_start(
                service.as_ptr(),
                answers.login.as_ptr(),
                &raw mut *conversation,
                &raw mut handle,
            )
        };
        if code != PAM_SUCCESS || handle.is_null() {
            return Err(PamError {
                code,
                text: "pam_start failed".to_string(),
            });
        }
        Ok(Self {
            handle,
            _conversation: conversation,
            _answers: answers,
            last: PAM_SUCCESS,
        })
    }

    fn check(&mut self, code: c_int) -> Result<(), PamError> {
        self.last = code;
        if code == PAM_SUCCESS {
            return Ok(());
        }
        // SAFETY: the handle is live; pam_strerror returns a static or handle-owned
        // string, copied at once.
        let text = unsafe {
            let text = libpam_sys::pam_strerror(self.handle, code);
            if text.is_null() {
                String::new()
            } else {
                CStr::from_ptr(text).to_string_lossy().into_owned()
            }
        };
        Err(PamError { code, text })
    }

    /// `pam_set_item` for a string item (`PAM_TTY`, `PAM_RUSER`, `PAM_RHOST`).
    ///
    /// # Errors
    /// PAM refuses the item.
    pub fn set_item(&mut self, item: c_int, value: &CStr) -> Result<(), PamError> {
        // SAFETY: the handle is live; PAM copies string items.
        let code = unsafe { libpam_sys::pam_set_item(self.handle, item, value.as_ptr().cast()) };
        self.check(code)
    }

    /// `pam_authenticate(flags)`.
    ///
    /// # Errors
    /// PAM's verdict.
    pub fn authenticate(&mut self, flags: c_int) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let code = unsafe { libpam_sys::pam_authenticate(self.handle, flags) };
        self.check(code)
    }

    /// `pam_acct_mgmt(flags)`.
    ///
    /// # Errors
    /// PAM's verdict.
    pub fn account_management(&mut self, flags: c_int) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let code = unsafe { libpam_sys::pam_acct_mgmt(self.handle, flags) };
        self.check(code)
    }

    /// `pam_setcred(flags)`.
    ///
    /// # Errors
    /// PAM's verdict.
    pub fn set_credentials(&mut self, flags: c_int) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let code = unsafe { libpam_sys::pam_setcred(self.handle, flags) };
        self.check(code)
    }

    /// `pam_open_session(flags)`.
    ///
    /// # Errors
    /// PAM's verdict.
    pub fn open_session(&mut self, flags: c_int) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let code = unsafe { libpam_sys::pam_open_session(self.handle, flags) };
        self.check(code)
    }

    /// `pam_close_session(flags)`.
    ///
    /// # Errors
    /// PAM's verdict.
    pub fn close_session(&mut self, flags: c_int) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let code = unsafe { libpam_sys::pam_close_session(self.handle, flags) };
        self.check(code)
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // SAFETY: the handle is live and ended once; the conversation data it may
        // still use is dropped after this (fields drop after `drop`).
        unsafe { libpam_sys::pam_end(self.handle, self.last) };
    }
}
