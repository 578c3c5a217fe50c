//! On a terminal, the password is read with echo off: run pure-pw on a pseudo-terminal
//! (Python's pty module drives it), type the password at each prompt, and check it never
//! shows up in what the terminal displays.

mod common;

use std::process::Command;

const DRIVER: &str = r#"
import os, pty, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b""
def read_until(marker):
    global seen
    deadline = time.time() + 20
    while marker not in seen and time.time() < deadline:
        try:
            seen += os.read(fd, 1024)
        except OSError:
            break
def wait_for_echo_off():
    # The prompt is printed before echo is switched off: typing at once would race.
    deadline = time.time() + 20
    while termios.tcgetattr(fd)[3] & termios.ECHO and time.time() < deadline:
        time.sleep(0.01)
read_until(b"Password: ")
wait_for_echo_off()
os.write(fd, b"typed-secret\n")
read_until(b"Enter it again: ")
wait_for_echo_off()
os.write(fd, b"typed-secret\n")
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

#[test]
fn a_terminal_password_is_not_echoed() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIP: python3 is needed to drive a pseudo-terminal");
        return;
    }
    let s = common::Scratch::new();
    let out = Command::new("python3")
        .args([
            "-c",
            DRIVER,
            common::OURS,
            "useradd",
            "tty",
            "-u",
            "5",
            "-g",
            "5",
            "-d",
            "/t",
        ])
        .env("PURE_PASSWDFILE", s.passwd())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{shown}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.contains("Password: ") && shown.contains("Enter it again: "),
        "{shown}"
    );
    assert!(
        !shown.contains("typed-secret"),
        "the password was echoed: {shown}"
    );
    let line = s.read("pureftpd.passwd");
    let hash = line.split(':').nth(1).unwrap();
    let typed = pureftpd_account::Password::from("typed-secret");
    assert_eq!(
        pureftpd_account::password::verify(&typed, hash.as_bytes()),
        Ok(true)
    );
}
