//! `-x`: `<status>` with one `<client ... />` per session, attributes in Pure-FTPd's
//! order; transfer attributes only while bytes are moving.

use super::{markup_escaped, named_fields};
use crate::Entry;

pub(super) fn render(out: &mut Vec<u8>, entries: &[Entry]) {
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<status>\n");
    for entry in entries {
        out.extend_from_slice(b"  <client");
        for (name, value) in named_fields(entry) {
            let Some(value) = value else { continue };
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"=\"");
            out.extend_from_slice(&markup_escaped(&value));
            out.push(b'"');
        }
        out.extend_from_slice(b" />\n");
    }
    out.extend_from_slice(b"</status>\n");
}
