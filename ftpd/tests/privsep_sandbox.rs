//! A process confined by `Sandbox::enter` (the pre-login process of privilege
//! separation) has a non-zero uid and gid in all three slots, no supplementary group,
//! empty capability sets, `NoNewPrivs: 1`, cannot see or create anything in its root,
//! and cannot get root back. The confinement
//! runs in a fresh copy of this test binary (re-executed with an environment variable),
//! never in the multi-threaded test harness itself.

use std::process::Command;

use ftpd::privsep::preauth::Sandbox;

const CHILD: &str = "PUREFTPD_SANDBOX_CHILD";

#[test]
fn a_confined_process_holds_nothing() {
    if std::env::var_os(CHILD).is_some() {
        // The child: confine, then report.
        let sandbox = Sandbox::nobody().expect("sandbox");
        // /proc is out of reach once confined: the file is opened before, read after
        // (procfs shows the task's state at the time of the read). This thread's own:
        // no_new_privs belongs to a thread, and the harness runs tests in threads of
        // their own (the pre-login process will be single-threaded).
        let mut proc_status = std::fs::File::open("/proc/thread-self/status").unwrap();
        let root = ftpd::privsep::preauth::take_root().expect("a removed directory");
        sandbox.enter(root).expect("enter");
        let mut status = String::new();
        std::io::Read::read_to_string(&mut proc_status, &mut status).unwrap();
        let listed = std::fs::read_dir("/").map(|d| d.count()).unwrap_or(0);
        let created = std::fs::write("/planted", b"x").is_ok();
        let made_dir = std::fs::create_dir("/planted.d").is_ok();
        println!(
            "{status}root entries: {listed}, created: {created}, made a directory: {made_dir}"
        );
        return;
    }
    if !pureftpd_tests::require_root("confining a process") {
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_confined_process_holds_nothing", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .to_string()
    };
    let ids: Vec<String> = field("Uid")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert!(ids.iter().all(|id| id != "0"), "Uid: {ids:?}");
    let gids: Vec<String> = field("Gid")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert!(gids.iter().all(|id| id != "0"), "Gid: {gids:?}");
    assert_eq!(field("Groups"), "");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(field(set), "0000000000000000", "{set}");
    }
    assert_eq!(field("NoNewPrivs"), "1", "{text}");
    assert!(
        text.contains("root entries: 0, created: false, made a directory: false"),
        "{text}"
    );
}
