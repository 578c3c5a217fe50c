//! Every text a client sees, worded as Pure-FTPd 1.0.50 words it, so that compatibility
//! is reviewed in one place. Functions take the variable parts.

use std::fmt::Display;

pub(crate) const NOT_LOGGED_IN: &str = "You aren't logged in";
pub(crate) const UNKNOWN_COMMAND: &str = "Unknown command";
/// `--proxyprotocol`: a client sent a PROXY header itself.
pub(crate) const PROXY_HEADER_REFUSED: &str =
    "PROXY header refused: this address is not a listed load balancer";
pub(crate) const LINE_TOO_LONG: &str = "Line too long";
pub(crate) const TIMEOUT: &str = "Timeout - try typing a little faster next time";
pub(crate) const NOOP: &str = "Zzz...";
pub(crate) const SYST: &str = "UNIX Type: L8";
pub(crate) const WHO_ARE_YOU: &str = "Please tell me who you are";
pub(crate) const ALREADY_LOGGED_IN: &str = "You're already logged in";
pub(crate) const SAME_SESSION: &str = "We can't do that in the current session";
pub(crate) const AUTH_FAILED: &str = "Login authentication failed";
pub(crate) const CANT_TRUST: &str = "Sorry, but I can't trust you";
pub(crate) const ANONYMOUS_LOGGED_IN: &str = "Anonymous user logged in";
pub(crate) const ANY_PASSWORD: &str = "Any password will work";
pub(crate) const NO_ANONYMOUS: &str = "This is a private system - No anonymous login";
pub(crate) const ANONYMOUS_ONLY: &str = "Only anonymous FTP is allowed here";
pub(crate) const HOME_NOT_AVAILABLE: &str = "Home directory not available - aborting";
/// A session that could not separate its privileges (see `privsep`).
pub(crate) const SEPARATION_FAILED: &str = "Unable to start a session, please try again later";
pub(crate) const MISSING_ARGUMENT: &str = "Missing argument";
pub(crate) const NO_FILE_NAME: &str = "No file name";
pub(crate) const NO_DIRECTORY_NAME: &str = "No directory name";
pub(crate) const NO_DATA_CONNECTION: &str = "No data connection";
pub(crate) const ACCEPTED_DATA: &str = "Accepted data connection";
pub(crate) const TRANSFER_OK: &str = "File successfully transferred";
pub(crate) const TRANSFER_ABORTED: &str = "Transfer aborted";
pub(crate) const QUOTA_ABORTED: &str = "Transfer aborted (quota)";
pub(crate) const WAREZ_1: &str = "This file has been uploaded by an anonymous user. It has not";
pub(crate) const WAREZ_2: &str = "yet been approved for downloading by the site administrators.";
pub(crate) const ABOR_OK: &str = "Since you see this ABOR must've succeeded";
pub(crate) const ABORT: &str = "ABORT";
pub(crate) const ASCII_WARNING: &str =
    "Warning: client is in ASCII mode - Assuming data is plain text";
pub(crate) const ASCII_RESUME: &str = "ASCII resume is unsafe, please delete the file first";
pub(crate) const NOTHING_LEFT: &str = "Nothing left to download";
pub(crate) const ONLY_REGULAR: &str = "I can only retrieve regular files";
pub(crate) const NO_SUCH_FILE: &str = "Can't check for file existence";
pub(crate) const RNFR_OK: &str = "RNFR accepted - file exists, ready for destination";
pub(crate) const RNFR_AGAIN: &str = "Aborting previous rename operation";
pub(crate) const RNFR_MISSING: &str = "Sorry, but that file doesn't exist";
pub(crate) const RNTO_NEEDS_RNFR: &str = "Need RNFR before RNTO";
pub(crate) const RENAME_OK: &str = "File successfully renamed or moved";
pub(crate) const RENAME_FAILURE: &str = "Rename/move failure";
pub(crate) const RMD_OK: &str = "The directory was successfully removed";
pub(crate) const PORT_OK: &str = "PORT command successful";
pub(crate) const BAD_ADDRESS: &str = "Syntax error in IP address";
pub(crate) const LOW_PORT: &str = "Sorry, but I won't connect to ports < 1024";
pub(crate) const ACTIVE_DISABLED: &str = "Active mode is disabled";
pub(crate) const PORTS_BUSY: &str = "All reserved TCP ports are busy";
pub(crate) const PASV_ON_IPV6: &str = "You cannot use PASV on IPv6 connections. Use EPSV instead.";
pub(crate) const ONLY_IPV4: &str = "Only IPv4 is supported (1)";
pub(crate) const EPRT_PROTOCOLS: &str = "Only IPv4 and IPv6 are supported (1,2)";
pub(crate) const PRET_OK: &str = "Ready to proceed";
pub(crate) const ALLO_OK: &str = "A L'HUILE";
pub(crate) const DISK_FULL: &str = "Disk full - please upload later";
pub(crate) const CANT_FIND_SIZE: &str = "Can't find file size";
pub(crate) const NO_RESTART_POINT: &str = "No restart point";
pub(crate) const RESTART_RESET: &str = "Restart offset reset to 0";
pub(crate) const BAD_TIMESTAMP: &str = "Can't get a time stamp";
pub(crate) const UTIME_OK: &str = "UTIME OK";
pub(crate) const BAD_PERMISSIONS: &str = "Invalid permissions";
pub(crate) const STAT_URL: &str = "https://www.pureftpd.org/";
pub(crate) const MODE_REFUSED: &str = "Please use S(tream) mode";
pub(crate) const STRU_REFUSED: &str = "Only F(ile) is supported";
pub(crate) const TYPE_LOCAL_REFUSED: &str =
    "Only 8-bit bytes are supported, we're not 10 years ago";
pub(crate) const TYPE_CHOICES: &str = "A(scii) I(mage) L(ocal)";
pub(crate) const AUTH_UNIMPLEMENTED: &str = "This security scheme is not implemented";
pub(crate) const PROT_BEFORE_PBSZ: &str = "PROT must be preceded by a successful PBSZ command";
pub(crate) const CCC_REFUSED: &str = "CCC not allowed at this point";
pub(crate) const PBSZ: &str = "PBSZ=0";
pub(crate) const MLST_OPTS: &str =
    " MLST OPTS type;size;sizd;modify;UNIX.mode;UNIX.uid;UNIX.gid;unique;";
pub(crate) const SITE_HELP: &str =
    "The following SITE commands are recognized\r\n ALIAS\r\n CHMOD\r\n IDLE\r\n UTIME";
pub(crate) const SITE_HELP_END: &str = "Pure-FTPd - http://pureftpd.org/";
pub(crate) const SITE_MISSING: &str = "SITE: Missing argument";
pub(crate) const VALUE_TOO_LARGE: &str = "Value too large";
pub(crate) const IDLE_MISSING: &str = "SITE IDLE: Missing argument";
pub(crate) const ANON_NO_DELETE: &str = "Anonymous users can not delete files";
pub(crate) const ANON_NO_RMD: &str = "Sorry, anonymous users are not allowed to remove directories";
pub(crate) const ANON_NO_MKD: &str = "Sorry, anonymous users are not allowed to create directories";
pub(crate) const ANON_NO_RENAME: &str = "Anonymous users are not allowed to move/rename files";
pub(crate) const ANON_NO_CHMOD: &str = "Anonymous users can not change perms";
pub(crate) const ANON_NO_OVERWRITE: &str = "Anonymous users may not overwrite existing files";
pub(crate) const FXP_SUPPORTED: &str = "This server supports FXP transfers";
pub(crate) const TIMEOUT_DATA: &str = "Timeout";
/// What each session says when `--stopsessions` ends it (a whole reply, for a signal
/// handler that can only write bytes).
pub(crate) const GOING_DOWN: &[u8] =
    b"421 The server is shutting down - please reconnect later\r\n";
pub(crate) const READ_ERROR: &str = "Error during read from data connection";
pub(crate) const WRITE_ERROR: &str = "Error during write to file";
pub(crate) const LOGOUT: &str = "Logout.";
pub(crate) const TLS_DATA_FAILED: &str = "TLS handshake failed on the data connection";
pub(crate) const AUTH_TLS_OK: &str = "AUTH TLS OK.";
pub(crate) const AUTH_SSL_OK: &str = "AUTH SSL OK.";
pub(crate) const TLS_NEEDED: &str = "Sorry, cleartext sessions and weak ciphers are not accepted on this server.\nPlease reconnect using TLS security mechanisms.";
pub(crate) const PROT_PRIVATE_NEEDED: &str =
    "Data connection cannot be opened with this PROT setting.";
pub(crate) const CCC_OK: &str = "Control connection unencrypted";
pub(crate) const PROT_FALLBACK: &str = "Fallback to [C]";

/// Pure-FTPd tags its banner with what it was built with, not with what is enabled:
/// Debian's says `[TLS]` even under `-Y 0`, and so does ours (TLS is always built in).
pub(crate) const WELCOME: &str = "--------- Welcome to Pure-FTPd [privsep] [TLS] ----------";

pub(crate) fn user_number(n: usize, max: u32) -> String {
    format!("You are user number {n} of {max} allowed.")
}

pub(crate) fn local_time(hh_mm: &str, port: u16) -> String {
    format!("Local time is now {hh_mm}. Server port: {port}.")
}

pub(crate) const IPV6_WELCOME: &str = "IPv6 connections are also welcome on this server.";

pub(crate) fn idle_notice(idle_secs: u64) -> String {
    if idle_secs >= 120 {
        format!(
            "You will be disconnected after {} minutes of inactivity.",
            idle_secs / 60
        )
    } else {
        format!("You will be disconnected after {idle_secs} seconds of inactivity.")
    }
}

pub(crate) fn too_many_users(max: u32) -> String {
    format!("{max} users (the maximum) are already logged in, sorry")
}

pub(crate) fn too_many_from_ip(max: u32) -> String {
    format!("Too many connections ({max}) from this IP")
}

pub(crate) fn load_too_high(load: f64) -> String {
    format!(
        "The load was {load:3.2} when you connected. We do not allow downloads\nby anonymous users when the load is that high. Uploads are always\nallowed."
    )
}

pub(crate) fn user_ok(name: &[u8]) -> Vec<u8> {
    [&b"User "[..], name, b" OK. Password required"].concat()
}

pub(crate) fn per_user_limit(max: u32) -> String {
    format!("I can't accept more than {max} connections as the same user")
}

pub(crate) fn logged_in(dir: &[u8], restricted: bool) -> Vec<u8> {
    let what: &[u8] = if restricted {
        b"OK. Current restricted directory is "
    } else {
        b"OK. Current directory is "
    };
    [what, dir].concat()
}

pub(crate) fn goodbye(uploaded: u64, downloaded: u64) -> String {
    format!(
        "Goodbye. You uploaded {} and downloaded {} kbytes.",
        uploaded.div_ceil(1024),
        downloaded.div_ceil(1024)
    )
}

pub(crate) fn type_now(binary: bool) -> String {
    format!(
        "TYPE is now {}",
        if binary { "8-bit binary" } else { "ASCII" }
    )
}

pub(crate) fn unknown_type(arg: &[u8]) -> Vec<u8> {
    [&b"Unknown TYPE: "[..], arg].concat()
}

pub(crate) fn current_location(dir: &[u8]) -> Vec<u8> {
    [&b"\""[..], dir, b"\" is your current location"].concat()
}

pub(crate) fn cwd_ok(dir: &[u8]) -> Vec<u8> {
    [&b"OK. Current directory is "[..], dir].concat()
}

pub(crate) fn cwd_failed(arg: &[u8], error: impl Display) -> Vec<u8> {
    [
        &b"Can't change directory to "[..],
        arg,
        b": ",
        error.to_string().as_bytes(),
    ]
    .concat()
}

pub(crate) fn mkd_ok(arg: &[u8]) -> Vec<u8> {
    [
        &b"\""[..],
        arg,
        b"\" : The directory was successfully created",
    ]
    .concat()
}

pub(crate) fn mkd_failed(error: impl Display) -> String {
    format!("Can't create directory: {error}")
}

pub(crate) fn rmd_failed(error: impl Display) -> String {
    format!("Can't remove directory: {error}")
}

pub(crate) fn deleted(arg: &[u8]) -> Vec<u8> {
    [&b"Deleted "[..], arg].concat()
}

pub(crate) fn delete_failed(arg: &[u8], error: impl Display) -> Vec<u8> {
    [
        &b"Could not delete "[..],
        arg,
        b": ",
        error.to_string().as_bytes(),
    ]
    .concat()
}

pub(crate) fn rename_failed(error: impl Display) -> String {
    format!("Rename/move failure: {error}")
}

pub(crate) fn cant_open(name: &[u8], error: impl Display) -> Vec<u8> {
    [
        &b"Can't open "[..],
        name,
        b": ",
        error.to_string().as_bytes(),
    ]
    .concat()
}

pub(crate) fn cant_create(error: impl Display) -> String {
    format!("Can't open that file: {error}")
}

pub(crate) fn restarting(offset: u64, ascii: bool) -> String {
    if ascii {
        format!("Restarting at {offset}. But we're in ASCII mode")
    } else {
        format!("Restarting at {offset}")
    }
}

pub(crate) fn restart_too_large(offset: u64, size: u64) -> String {
    format!("Restart offset {offset} is too large for file size {size}.")
}

pub(crate) const REST_NOT_NUMERIC: &str = "REST needs a numeric parameter";

pub(crate) fn kbytes_to_download(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let kb = bytes as f64 / 1024.0;
    format!("{kb:.1} kbytes to download")
}

pub(crate) fn connecting_to_port(port: u16) -> String {
    format!("Connecting to port {port}")
}

pub(crate) fn no_fxp(target: impl Display, peer: impl Display) -> String {
    format!("I won't open a connection to {target} (only to {peer})")
}

pub(crate) fn fxp_transfer(peer: impl Display, target: impl Display) -> String {
    format!("FXP transfer: from {peer} to {target}")
}

pub(crate) fn cant_open_data(port: u16, error: impl Display) -> String {
    format!("Could not open data connection to port {port}: {error}")
}

pub(crate) fn passive_timeout(secs: u64) -> String {
    format!("Timeout (no new data for {secs} seconds)")
}

pub(crate) fn noop_timeout(secs: u64) -> String {
    format!("Timeout (no operation for {secs} seconds)")
}

pub(crate) fn http_command(verb: &[u8]) -> Vec<u8> {
    [&b"HTTP command: ["[..], verb, b"]"].concat()
}

pub(crate) fn site_unknown(word: &[u8]) -> Vec<u8> {
    [&b"SITE "[..], word, b" is an unknown extension"].concat()
}

pub(crate) fn idle_set(secs: u64) -> String {
    format!("Idle time set to {secs} seconds")
}

pub(crate) fn garbage(junk: &[u8]) -> Vec<u8> {
    [&b"Garbage found after value : "[..], junk].concat()
}

pub(crate) fn chmod_ok(path: &[u8]) -> Vec<u8> {
    [&b"Permissions changed on "[..], path].concat()
}

pub(crate) fn chmod_failed(path: &[u8], error: Option<&dyn Display>) -> Vec<u8> {
    let mut text = [&b"Could not change perms on "[..], path].concat();
    if let Some(error) = error {
        text.extend_from_slice(format!(": {error}").as_bytes());
    }
    text
}

pub(crate) fn utime_failed(path: &[u8], error: impl Display) -> Vec<u8> {
    [&b"utime("[..], path, b"): ", error.to_string().as_bytes()].concat()
}

pub(crate) fn matches_total(n: usize) -> String {
    format!("{n} matches total")
}

pub(crate) fn output_truncated(n: usize) -> String {
    format!("Output truncated to {n} matches")
}

pub(crate) fn stou_file(name: &str) -> String {
    format!("FILE: {name}")
}

/// `0.000 seconds (measured here), 6.30 Kbytes per second`, or nothing when too slow to
/// mean anything.
pub(crate) fn rate(bytes: u64, seconds: f64) -> Option<String> {
    let seconds = seconds.max(0.000_001);
    #[allow(clippy::cast_precision_loss)]
    let speed = bytes as f64 / seconds;
    let (value, unit) = if speed > 524_288.0 {
        (speed / 1_048_576.0, "Mbytes")
    } else if speed > 512.0 {
        (speed / 1024.0, "Kbytes")
    } else if speed > 0.1 {
        (speed, "bytes")
    } else {
        return None;
    };
    Some(format!(
        "{seconds:.3} seconds (measured here), {value:.2} {unit} per second"
    ))
}

/// A pattern over the globbing limits: Pure-FTPd's two lines (control characters of
/// the pattern shown as `_`).
pub(crate) fn glob_no_memory(pattern: &[u8]) -> [Vec<u8>; 2] {
    let mut first = b"Out of memory during globbing of ".to_vec();
    first.extend(pattern.iter().map(|&b| if b < 0x20 { b'_' } else { b }));
    [
        first,
        b"(This probably means \"Permission denied\")".to_vec(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_pick_their_unit() {
        assert_eq!(
            rate(6, 0.000_93).unwrap(),
            "0.001 seconds (measured here), 6.30 Kbytes per second"
        );
        assert_eq!(
            rate(100 << 20, 1.0).unwrap(),
            "1.000 seconds (measured here), 100.00 Mbytes per second"
        );
        assert_eq!(rate(0, 1.0), None);
    }

    #[test]
    fn goodbye_rounds_up_to_kilobytes() {
        assert_eq!(
            goodbye(1, 2048),
            "Goodbye. You uploaded 1 and downloaded 2 kbytes."
        );
    }
}
