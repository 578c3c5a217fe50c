//! The output formats. Each one escapes what it prints so that no account or file
//! name (which the client chose) can forge a line, a field or markup.

mod html;
mod json;
mod plist;
mod shell;
mod text;
mod xml;

use crate::{Entry, Format, Options};

/// The whole output.
pub(crate) fn render(options: &Options, entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + entries.len() * 256);
    match options.format {
        Format::Text => text::render(&mut out, entries, options.verbose),
        Format::Shell => shell::render(&mut out, entries),
        Format::Xml => xml::render(&mut out, entries),
        Format::Html => html::render(&mut out, entries, options.cgi, options.html_raw),
        Format::Plist => plist::render(&mut out, entries),
        Format::Json => json::render(&mut out, entries),
    }
    out
}

/// The named fields of the XML and plist forms, in Pure-FTPd's order. The transfer
/// fields are `None` for a session moving no bytes (XML leaves them out, the plist shows
/// them empty); total size and percentage are left out while the total is unknown.
fn named_fields(entry: &Entry) -> Vec<(&'static str, Option<Vec<u8>>)> {
    let number = |n: u64| Some(n.to_string().into_bytes());
    let mut fields = vec![
        ("pid", number(entry.pid.into())),
        ("account", Some(entry.account.clone())),
        ("time", number(entry.since)),
        ("state", Some(entry.state.as_bytes().to_vec())),
        ("file", Some(entry.file.clone())),
        ("host", Some(entry.host.as_bytes().to_vec())),
        ("localhost", Some(entry.local_host.as_bytes().to_vec())),
        ("localport", Some(entry.local_port.as_bytes().to_vec())),
    ];
    if entry.current > 0 {
        fields.push(("resume", number(entry.restart)));
        fields.push(("current_size", number(entry.current)));
        if let Some(percent) = entry.percent() {
            fields.push(("total_size", number(entry.total)));
            fields.push(("percentage", number(percent)));
        }
        fields.push(("bandwidth", number(entry.bandwidth())));
    } else {
        for key in [
            "resume",
            "current_size",
            "total_size",
            "percentage",
            "bandwidth",
        ] {
            fields.push((key, None));
        }
    }
    fields
}

/// Pure-FTPd's control characters: below space, and DEL.
fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// XML and HTML text and attribute values: `<`, `>`, `&` and `"` as entities, control
/// characters as `?`. (Pure-FTPd leaves `"` as is, which breaks its attributes.)
fn markup_escaped(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        match b {
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b if is_control(b) => out.push(b'?'),
            b => out.push(b),
        }
    }
    out
}
