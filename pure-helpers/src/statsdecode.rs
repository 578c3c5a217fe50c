//! `pure-statsdecode <file|->`: each line's leading Unix time becomes local
//! `YYYY/MM/DD HH:MM:SS`; the character after it (the separator) is replaced by one
//! space, and control characters other than the newline are dropped, as Debian's
//! build does. Unlike Pure-FTPd's, an empty line stays a line (Pure-FTPd eats its
//! newline and joins it to the next).

use std::io::{self, BufRead, Write};

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Decodes `input` into `output`.
///
/// # Errors
/// Reading or writing failed.
pub fn decode(input: impl BufRead, output: &mut impl Write, tz: &TimeZone) -> io::Result<()> {
    for line in input.split(b'\n') {
        let line = line?;
        let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
        let seconds = std::str::from_utf8(&line[..digits])
            .ok()
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(0);
        let date = Timestamp::from_second(seconds)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(tz.clone());
        output.write_all(date.strftime("%Y/%m/%d %H:%M:%S ").to_string().as_bytes())?;
        let rest = line.get(digits + 1..).unwrap_or_default();
        let kept: Vec<u8> = rest
            .iter()
            .copied()
            .filter(|&b| b >= 0x20 && b != 0x7f)
            .collect();
        output.write_all(&kept)?;
        output.write_all(b"\n")?;
    }
    Ok(())
}

/// The program: returns the exit status.
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let [file] = args else {
        println!("Usage: pure-statsdecode [stats log file] [-]");
        return 1;
    };
    let tz = TimeZone::system();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = if file == "-" {
        decode(io::stdin().lock(), &mut out, &tz)
    } else {
        match std::fs::File::open(file) {
            Ok(f) => decode(io::BufReader::new(f), &mut out, &tz),
            Err(e) => {
                eprintln!("Can't open file: {}: {e}", file.to_string_lossy());
                return 255;
            }
        }
    };
    match result.and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pure-statsdecode: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_become_dates_and_controls_go() {
        let input = b"1795324366 6b0279cd.896 alice 127.0.0.1 U 1234 0 /srv/a\x01b.bin\n\nx\n";
        let mut out = Vec::new();
        decode(&input[..], &mut out, &TimeZone::UTC).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026/11/22 05:12:46 6b0279cd.896 alice 127.0.0.1 U 1234 0 /srv/ab.bin\n\
             1970/01/01 00:00:00 \n1970/01/01 00:00:00 \n"
        );
    }
}
