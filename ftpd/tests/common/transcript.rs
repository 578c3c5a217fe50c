//! One Python ftplib session, for comparing servers: each call's reply on one line
//! (`name first-argument reply|lines`), rates masked, lists sorted.

use std::process::Command;

/// The script's start: `t(name, *args)` calls an ftplib method and prints its reply
/// (or the error); `storbinary` reads the reply even when the server stopped reading
/// (a refused upload), where ftplib's own would fail on the broken connection.
const PREAMBLE: &str = r#"
import ftplib, io, sys
f = ftplib.FTP(encoding="latin-1"); f.connect("127.0.0.1", int(sys.argv[1]), timeout=30)
def put(cmd, fp):
    f.voidcmd("TYPE I")
    conn = f.transfercmd(cmd)
    try:
        conn.sendall(fp.read())
    except OSError:
        pass
    conn.close()
    return f.voidresp()
f.storbinary = put
def t(name, *args):
    try:
        r = getattr(f, name)(*args)
    except ftplib.all_errors as e:
        r = "ERR " + str(e)
    if isinstance(r, list):
        r = ",".join(sorted(r))
    lines = (r or "").split("\n")
    lines = ["<rate>" if " seconds (measured here)" in l else l for l in lines]
    print(name, args[0] if args and isinstance(args[0], str) else "", "|".join(lines))
t("login", sys.argv[2], sys.argv[3])
"#;

/// Logs in as `user` on 127.0.0.1:`port`, runs `body` (lines of `t(...)` calls), quits.
///
/// # Panics
/// If Python fails.
pub fn transcript(port: u16, user: &str, password: &str, body: &str) -> Vec<String> {
    let script = format!("{PREAMBLE}{body}\nf.quit()\n");
    python(&script, &[&port.to_string(), user, password])
        .lines()
        .map(str::to_string)
        .collect()
}

/// What `python3 -c <script> <args>` prints.
///
/// # Panics
/// If Python fails.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
