//! What /proc says about the processes of a server under test: who is whose child, with
//! which ids and capabilities, holding which descriptors.

/// Processes whose parent is `parent`.
#[must_use]
pub fn children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                        // pid (comm) state ppid ...: the comm may hold spaces, so after
                        // the last ')'.
                        stat.rsplit(')')
                            .next()
                            .and_then(|rest| rest.split_whitespace().nth(1))
                            .is_some_and(|ppid| ppid == parent.to_string())
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A field of `/proc/<pid>/status` (`Uid`, `CapEff`, ...), trimmed; empty if absent.
#[must_use]
pub fn status(pid: u32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{key}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default()
}

/// Real, effective, saved and file-system user ids.
#[must_use]
pub fn uids(pid: u32) -> Vec<u32> {
    status(pid, "Uid")
        .split_whitespace()
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// Where the descriptors above stderr of `pid` point.
#[must_use]
pub fn descriptors(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| {
                let e = e.ok()?;
                let fd: u32 = e.file_name().to_str()?.parse().ok()?;
                (fd > 2).then(|| std::fs::read_link(e.path()).ok())?
            })
            .map(|target| target.display().to_string())
            .collect()
        })
        .unwrap_or_default()
}

/// A field (`Rss`, `Private_Dirty`, ...) of one mapping (`[stack]`, `[heap]`) in
/// `/proc/<pid>/smaps`, in KiB; `None` if the process, the mapping or the field is not
/// there.
#[must_use]
pub fn smaps_kib(pid: u32, mapping: &str, field: &str) -> Option<u64> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let mut lines = smaps.lines().skip_while(|line| !line.ends_with(mapping));
    lines.next()?;
    // Every mapping lists every field, so the first one found is the mapping's own.
    kib(lines.find_map(|line| line.strip_prefix(&format!("{field}:")))?)
}

/// The number of a smaps value, `   12 kB`.
fn kib(value: &str) -> Option<u64> {
    value.trim().trim_end_matches("kB").trim().parse().ok()
}

/// `Private_Dirty` of the program's own static data in KiB: its writable mappings of the
/// executable (`.data`, `.got`) and the anonymous one that follows them (the rest of
/// `.bss`); `None` if the process is gone. A page of it counts once written by this
/// process after its fork (or by the parent, which leaves the old page to the child).
#[must_use]
pub fn program_data_private_kib(pid: u32) -> Option<u64> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let exe = exe.to_str()?;
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let (mut total, mut counting, mut after_program_data) = (0, false, false);
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // A mapping's header: `start-end perms offset dev inode [path]`.
        if fields.len() >= 5 && fields[0].contains('-') && !fields[0].ends_with(':') {
            let path = fields
                .get(5..)
                .map(|rest| rest.join(" "))
                .unwrap_or_default();
            let writable = fields[1].contains('w');
            counting = writable && (path == exe || (path.is_empty() && after_program_data));
            after_program_data = writable && path == exe;
        } else if counting && let Some(value) = line.strip_prefix("Private_Dirty:") {
            total += kib(value)?;
        }
    }
    Some(total)
}

/// Whether `pid` has ended: gone, or a zombie its parent has not reaped yet.
#[must_use]
pub fn has_exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_none_or(|state| state == "Z" || state == "X")
    })
}

/// Panics unless `pid` is confined as a pre-login process must be: no id of root, no
/// supplementary groups, empty capability sets, `no_new_privs`, and a removed
/// directory (made by the server, `/tmp/pure-ftpd-prelogin.*`) as its root.
pub fn assert_unprivileged(pid: u32) {
    assert!(uids(pid).iter().all(|&id| id != 0), "uids {:?}", uids(pid));
    assert!(
        status(pid, "Gid").split_whitespace().all(|id| id != "0"),
        "gids {}",
        status(pid, "Gid")
    );
    assert_eq!(status(pid, "Groups"), "");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(status(pid, set), "0000000000000000", "{set}");
    }
    assert_eq!(status(pid, "NoNewPrivs"), "1");
    let root = std::fs::read_link(format!("/proc/{pid}/root"))
        .map(|r| r.display().to_string())
        .unwrap_or_default();
    assert!(
        root.starts_with("/tmp/pure-ftpd-prelogin.") && root.ends_with(" (deleted)"),
        "its root is a removed directory: {root}"
    );
}
