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
