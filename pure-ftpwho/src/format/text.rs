//! The default table, and `-v`, laid out byte for byte as Pure-FTPd's.

use super::is_control;
use crate::Entry;

const RULE: &[u8] =
    b"+------+---------+-------+------+-------------------------------------------+\n";

pub(super) fn render(out: &mut Vec<u8>, entries: &[Entry], verbose: bool) {
    out.push(b'\n');
    out.extend_from_slice(RULE);
    out.extend_from_slice(if verbose {
        b"| PID  |  Login  |For/Spd| What |     File/Remote IP/Size(Kb)/Local IP      |\n"
    } else {
        b"| PID  |  Login  |For/Spd| What |                 File/IP                   |\n"
    });
    out.extend_from_slice(RULE);
    for entry in entries {
        line(out, entry, verbose);
    }
    out.push(b'\n');
}

/// Control characters as `_`: a name must not break the table (Pure-FTPd prints them
/// raw here).
fn cleaned(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .map(|&b| if is_control(b) { b'_' } else { b })
        .collect()
}

/// `value` left-aligned in `width` bytes (longer values overflow, as with printf).
fn left(out: &mut Vec<u8>, value: &[u8], width: usize) {
    out.extend_from_slice(value);
    out.resize(out.len() + width.saturating_sub(value.len()), b' ');
}

/// `%W.Ws`: at most `width` bytes, right-aligned.
fn right_cut(out: &mut Vec<u8>, value: &[u8], width: usize) {
    let value = &value[..value.len().min(width)];
    out.resize(out.len() + width - value.len(), b' ');
    out.extend_from_slice(value);
}

fn line(out: &mut Vec<u8>, entry: &Entry, verbose: bool) {
    out.extend_from_slice(format!("|{:5} | ", entry.pid).as_bytes());
    left(out, &cleaned(&entry.account), 8);
    out.extend_from_slice(format!("| {} | {} | ", entry.hours_minutes(), entry.state).as_bytes());
    left(out, &cleaned(&entry.file), 42);
    out.extend_from_slice(b"|\n|  ''  |    ''   |");
    out.extend_from_slice(speed(entry.bandwidth()).as_bytes());
    let percent = entry
        .percent()
        .filter(|&p| p > 0 && entry.current > entry.restart);
    match percent {
        Some(p) => out.extend_from_slice(format!(" {p:3}% |").as_bytes()),
        None => out.extend_from_slice(b"  ''  |"),
    }
    out.extend_from_slice(b" ->");
    right_cut(out, entry.host.as_bytes(), 39);
    out.extend_from_slice(b" |\n");
    if verbose {
        if entry.current > 0 {
            let line = if entry.total > 0 {
                format!(
                    "|  ''  |    ''   |       |      | Total size:{:9} Transferred:{:9} |\n",
                    entry.total / 1024,
                    entry.current / 1024
                )
            } else {
                format!(
                    "|  ''  |    ''   |       |      | Transferred: {:<29} |\n",
                    entry.current / 1024
                )
            };
            out.extend_from_slice(line.as_bytes());
        }
        out.extend_from_slice(b"|  ''  |    ''   |       |      | <-");
        right_cut(out, entry.local_host.as_bytes(), 33);
        out.push(b':');
        let port = &entry.local_port.as_bytes()[..entry.local_port.len().min(5)];
        left(out, port, 5);
        out.extend_from_slice(b" |\n");
    }
    out.extend_from_slice(RULE);
}

/// The speed cell: 1024-based units, or `''` when unknown or enormous.
fn speed(bytes_per_second: u64) -> String {
    let mut value = bytes_per_second;
    if value == 0 {
        return "   ''  |".into();
    }
    for unit in ["b", "K", "M", "G"] {
        if value < 1024 {
            return format!("{value:4}{unit}/s|");
        }
        value /= 1024;
    }
    "   ''  |".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_use_pure_ftpds_units() {
        assert_eq!(speed(0), "   ''  |");
        assert_eq!(speed(1000), "1000b/s|");
        assert_eq!(speed(1024 * 1024), "   1M/s|");
        assert_eq!(speed(5 * 1024 * 1024 * 1024), "   5G/s|");
    }
}
