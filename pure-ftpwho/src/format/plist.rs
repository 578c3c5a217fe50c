//! `-p`: an Apple/GNUstep property list, a `user-info` array of dictionaries; idle
//! sessions get empty transfer values.

use super::markup_escaped;
use crate::Entry;

pub(super) fn render(out: &mut Vec<u8>, entries: &[Entry]) {
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n\
<!DOCTYPE plist PUBLIC \"-//Apple Computer//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
<plist version=\"1.0\">\n<dict>\n\t<key>user-info</key>\n\t<array>\n",
    );
    for entry in entries {
        out.extend_from_slice(b"\t\t<dict>\n");
        let mut pair = |key: &str, value: &[u8]| {
            out.extend_from_slice(format!("\t\t\t<key>{key}</key>\n\t\t\t<string>").as_bytes());
            out.extend_from_slice(&markup_escaped(value));
            out.extend_from_slice(b"</string>\n");
        };
        let number = |n: u64| n.to_string().into_bytes();
        pair("pid", &number(entry.pid.into()));
        pair("account", &entry.account);
        pair("time", &number(entry.since));
        pair("state", entry.state.as_bytes());
        pair("file", &entry.file);
        pair("host", entry.host.as_bytes());
        pair("localhost", entry.local_host.as_bytes());
        pair("localport", entry.local_port.as_bytes());
        if entry.current > 0 {
            pair("resume", &number(entry.restart));
            pair("current_size", &number(entry.current));
            if let Some(percent) = entry.percent() {
                pair("total_size", &number(entry.total));
                pair("percentage", &number(percent));
            }
            pair("bandwidth", &number(entry.bandwidth()));
        } else {
            for key in [
                "resume",
                "current_size",
                "total_size",
                "percentage",
                "bandwidth",
            ] {
                pair(key, b"");
            }
        }
        out.extend_from_slice(b"\t\t</dict>\n");
    }
    out.extend_from_slice(b"\t</array>\n</dict>\n</plist>\n");
}
