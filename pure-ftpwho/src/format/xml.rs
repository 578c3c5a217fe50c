//! `-x`: `<status>` with one `<client ... />` per session, attributes in Pure-FTPd's
//! order; transfer attributes only while bytes are moving.

use super::markup_escaped;
use crate::Entry;

pub(super) fn render(out: &mut Vec<u8>, entries: &[Entry]) {
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<status>\n");
    for entry in entries {
        out.extend_from_slice(b"  <client");
        let mut attribute = |name: &str, value: &[u8]| {
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"=\"");
            out.extend_from_slice(&markup_escaped(value));
            out.push(b'"');
        };
        let number = |n: u64| n.to_string().into_bytes();
        attribute("pid", &number(entry.pid.into()));
        attribute("account", &entry.account);
        attribute("time", &number(entry.since));
        attribute("state", entry.state.as_bytes());
        attribute("file", &entry.file);
        attribute("host", entry.host.as_bytes());
        attribute("localhost", entry.local_host.as_bytes());
        attribute("localport", entry.local_port.as_bytes());
        if entry.current > 0 {
            attribute("resume", &number(entry.restart));
            attribute("current_size", &number(entry.current));
            if let Some(percent) = entry.percent() {
                attribute("total_size", &number(entry.total));
                attribute("percentage", &number(percent));
            }
            attribute("bandwidth", &number(entry.bandwidth()));
        }
        // `out` is borrowed by `attribute` until here.
        out.extend_from_slice(b" />\n");
    }
    out.extend_from_slice(b"</status>\n");
}
