//! `-s`: one line per session, `pid|acct|time|state|file|peer|local|port|current|total|%|bandwidth`
//! (sizes in KB, bandwidth in KB/s); `|` and `\` escaped with `\`, control characters
//! as `_`, so a line is always one session.

use super::is_control;
use crate::Entry;

fn escaped(out: &mut Vec<u8>, value: &[u8]) {
    for &b in value {
        match b {
            b'|' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            b if is_control(b) => out.push(b'_'),
            b => out.push(b),
        }
    }
    out.push(b'|');
}

pub(super) fn render(out: &mut Vec<u8>, entries: &[Entry]) {
    for entry in entries {
        out.extend_from_slice(format!("{}|", entry.pid).as_bytes());
        escaped(out, &entry.account);
        out.extend_from_slice(format!("{}|", entry.since).as_bytes());
        escaped(out, entry.state.as_bytes());
        escaped(out, &entry.file);
        escaped(out, entry.host.as_bytes());
        escaped(out, entry.local_host.as_bytes());
        escaped(out, entry.local_port.as_bytes());
        out.extend_from_slice(
            format!(
                "{}|{}|{}|{}\n",
                entry.current / 1024,
                entry.total / 1024,
                entry.percent().unwrap_or(0),
                entry.bandwidth() / 1024
            )
            .as_bytes(),
        );
    }
}
