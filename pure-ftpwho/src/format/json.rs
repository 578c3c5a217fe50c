//! `--json` (ours): an array with one object per session; sizes in bytes, bandwidth in
//! bytes per second, names as UTF-8 (invalid bytes replaced).

use serde_json::{Value, json};

use crate::Entry;

pub(super) fn render(out: &mut Vec<u8>, entries: &[Entry]) {
    let sessions: Vec<Value> = entries
        .iter()
        .map(|entry| {
            json!({
                "pid": entry.pid,
                "account": String::from_utf8_lossy(&entry.account),
                "time": entry.since,
                "state": match entry.state {
                    " DL " => "download",
                    " UL " => "upload",
                    _ => "idle",
                },
                "file": String::from_utf8_lossy(&entry.file),
                "host": entry.host,
                "localhost": entry.local_host,
                "localport": entry.local_port.parse::<u16>().unwrap_or(0),
                "resume": entry.restart,
                "current_size": entry.current,
                "total_size": entry.total,
                "percentage": entry.percent(),
                "bandwidth": entry.bandwidth(),
                "encrypted": entry.encrypted,
                "protocol": entry.protocol,
            })
        })
        .collect();
    // Serialising plain values into memory cannot fail.
    let _ = serde_json::to_writer_pretty(&mut *out, &sessions);
    out.push(b'\n');
}
