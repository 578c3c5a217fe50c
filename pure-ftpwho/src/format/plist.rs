//! `-p`: an Apple/GNUstep property list, a `user-info` array of dictionaries; idle
//! sessions get empty transfer values.

use super::{markup_escaped, named_fields};
use crate::Entry;

pub(super) fn render(out: &mut Vec<u8>, entries: &[Entry]) {
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n\
<!DOCTYPE plist PUBLIC \"-//Apple Computer//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
<plist version=\"1.0\">\n<dict>\n\t<key>user-info</key>\n\t<array>\n",
    );
    for entry in entries {
        out.extend_from_slice(b"\t\t<dict>\n");
        for (key, value) in named_fields(entry) {
            out.extend_from_slice(format!("\t\t\t<key>{key}</key>\n\t\t\t<string>").as_bytes());
            out.extend_from_slice(&markup_escaped(&value.unwrap_or_default()));
            out.extend_from_slice(b"</string>\n");
        }
        out.extend_from_slice(b"\t\t</dict>\n");
    }
    out.extend_from_slice(b"\t</array>\n</dict>\n</plist>\n");
}
