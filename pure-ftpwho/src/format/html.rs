//! `-w` (a whole XHTML page), `-W` (the table alone), `-c` (CGI: a `Content-Type`
//! header, then the table alone; with `GATEWAY_INTERFACE` set, the whole page).

use super::markup_escaped;
use crate::Entry;

const PAGE_HEAD: &str = r#"<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN"
          "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en">
<head>
 <meta http-equiv="Content-Type"
       content="text/html; charset=ISO-8859-15" />
 <title>Pure-FTPd server status</title>
 <style type="text/css">
html {
 background-color: #369;
}
body {
 background-color: #fff;
 color: #000;
 margin: 12px;
 padding: 8px;
 border: 2px solid #000;
 font-family: "Trebuchet MS",Verdana,Geneva,Arial,Helvetica,sans-serif;
 font-size: 0.8em;
}
h1 {
 text-align: center;
 border-bottom: 1px solid #666;
 margin: 0.5em 1em;
}
#ftp-status {
 text-align: center;
}
table {
 margin: 0 auto;
}
thead th {
 background-color: #369;
 color: #fff;
}
th,td {
 padding: 0.1em 0.5em;
}
tr:hover {
 background-color: #def;
}
 </style>
</head>
<body>
<h1>Pure-FTPd server status</h1>
"#;

const TABLE_HEAD: &str = r#"<div id="ftp-status">
 <table summary="Pure-FTPd server status">
  <thead>
   <tr>
    <th scope="col">PID</th>
    <th scope="col">Account</th>
    <th scope="col">Time</th>
    <th scope="col">State</th>
    <th scope="col" abbr="File">File name</th>
    <th scope="col" abbr="Peer">Remote host</th>
    <th scope="col" abbr="Kb">Kbytes</th>
    <th scope="col" abbr="Local">Local host</th>
   </tr>
  </thead>
  <tbody>
"#;

pub(super) fn render(out: &mut Vec<u8>, entries: &[Entry], cgi: bool, raw: bool) {
    if cgi {
        out.extend_from_slice(b"Content-Type: text/html\n\n");
    }
    if !raw {
        out.extend_from_slice(PAGE_HEAD.as_bytes());
    }
    out.extend_from_slice(TABLE_HEAD.as_bytes());
    for entry in entries {
        row(out, entry);
    }
    out.extend_from_slice(b"  </tbody>\n </table>\n</div>\n");
    if !raw {
        out.extend_from_slice(b"</body>\n</html>\n");
    }
}

fn cell(out: &mut Vec<u8>, value: &[u8]) {
    out.extend_from_slice(b"    <td>");
    if value.is_empty() {
        out.extend_from_slice(b"&nbsp;");
    } else {
        out.extend_from_slice(&markup_escaped(value));
    }
    out.extend_from_slice(b"</td>\n");
}

fn row(out: &mut Vec<u8>, entry: &Entry) {
    out.extend_from_slice(
        format!("   <tr>\n    <th scope=\"row\">{}</th>\n", entry.pid).as_bytes(),
    );
    cell(out, &entry.account);
    cell(out, entry.hours_minutes().as_bytes());
    cell(out, entry.state.as_bytes());
    cell(out, &entry.file);
    cell(out, entry.host.as_bytes());
    let kbytes = if entry.current == 0 {
        String::new()
    } else {
        let rate = entry.bandwidth() / 1024;
        match entry.percent() {
            Some(percent) => format!(
                "{}/{} ({percent}% - {rate} KB/s)",
                entry.current / 1024,
                entry.total / 1024
            ),
            None => format!("{} ({rate} KB/s)", entry.current / 1024),
        }
    };
    cell(out, kbytes.as_bytes());
    cell(
        out,
        format!("{}:{}", entry.local_host, entry.local_port).as_bytes(),
    );
    out.extend_from_slice(b"   </tr>\n");
}
