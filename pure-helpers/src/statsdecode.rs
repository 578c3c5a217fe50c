//! `pure-statsdecode <file|->`: each line's leading Unix time becomes local
//! `YYYY/MM/DD HH:MM:SS`; the character after it (the separator) is replaced by one
//! space, and control characters other than the newline are dropped, as Debian's
//! build does.
//!
//! The time is read as Pure-FTPd reads it: at most 41 digits (more are skipped),
//! `strtoul` into a `time_t`, so an overflow is the second before 1970 (`-1`); a time
//! past year 9999 is shown as glibc shows it (the zone's yearly rule, found 400 years
//! at a time), and one whose year does not fit a C `int` as `- -`, as glibc's
//! `localtime` fails there. A last line
//! without a newline gets none.
//!
//! Deliberate differences: a line with nothing after its time (an empty line, or only
//! digits) stays a line, where Pure-FTPd takes its newline for the separator and joins
//! it to the next; a file that cannot be opened is named.

use std::io::{self, BufRead, Write};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use pureftpd_proto::c_scan;

/// Digits Pure-FTPd keeps of a time (its buffer of 42 bytes).
const MAX_DIGITS: usize = 41;

/// Decodes `input` into `output`.
///
/// # Errors
/// Reading or writing failed.
pub fn decode(mut input: impl BufRead, output: &mut impl Write, tz: &TimeZone) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        // Only the last line can lack its newline.
        let ended = line.ends_with(b"\n");
        if ended {
            line.pop();
        }
        let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
        output.write_all(date(&line[..digits.min(MAX_DIGITS)], tz).as_bytes())?;
        let rest = line.get(digits + 1..).unwrap_or_default();
        let kept: Vec<u8> = rest
            .iter()
            .copied()
            .filter(|&b| b >= 0x20 && b != 0x7f)
            .collect();
        output.write_all(&kept)?;
        if ended {
            output.write_all(b"\n")?;
        }
    }
}

/// Seconds in 400 Gregorian years: the calendar, weekdays included, repeats after them,
/// and so does a time zone's yearly rule.
const CYCLE: i64 = 146_097 * 86_400;

/// `YYYY/MM/DD HH:MM:SS ` for the time in `digits`, or `- - `.
fn date(digits: &[u8], tz: &TimeZone) -> String {
    // strtoul, then the cast to a signed time_t (wrapping, as C's).
    #[allow(clippy::cast_possible_wrap)]
    let seconds = c_scan::strtoul(digits, 10) as i64;
    let (year, month, day, time) = if let Ok(instant) = Timestamp::from_second(seconds) {
        return instant
            .to_zoned(tz.clone())
            .strftime("%Y/%m/%d %H:%M:%S ")
            .to_string();
    } else if seconds > 0 {
        // Past year 9999: moved back by whole 400-year cycles, where the zone's yearly
        // rule gives the same local time, then the years put back.
        let cycles = seconds.div_euclid(CYCLE) - 10;
        let local = Timestamp::from_second(seconds - cycles * CYCLE)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(tz.clone());
        let time = i64::from(local.hour()) * 3600
            + i64::from(local.minute()) * 60
            + i64::from(local.second());
        (
            i64::from(local.year()) + 400 * cycles,
            i64::from(local.month()),
            i64::from(local.day()),
            time,
        )
    } else {
        // Before year -9999: the zone's earliest offset, as glibc uses before the first
        // transition.
        let offset = tz.to_offset(Timestamp::MIN).seconds();
        let local = seconds.saturating_add(i64::from(offset));
        let (year, month, day) = c_scan::civil_from_days(local.div_euclid(86_400));
        (year, month, day, local.rem_euclid(86_400))
    };
    // glibc keeps the year as an int counted from 1900 (or fails), and Pure-FTPd prints
    // `tm_year + 1900` in int arithmetic, which wraps past 2147483647.
    let Ok(tm_year) = i32::try_from(year - 1900) else {
        return "- - ".to_string();
    };
    let year = tm_year.wrapping_add(1900);
    format!(
        "{year}/{month:02}/{day:02} {:02}:{:02}:{:02} ",
        time / 3600,
        time / 60 % 60,
        time % 60
    )
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

    #[test]
    fn times_are_read_as_strtoul_into_time_t() {
        let decoded = |input: &[u8]| {
            let mut out = Vec::new();
            decode(input, &mut out, &TimeZone::UTC).unwrap();
            String::from_utf8(out).unwrap()
        };
        // Overflow: the largest unsigned long, -1 as a time_t.
        assert_eq!(
            decoded(b"99999999999999999999 x\n"),
            "1969/12/31 23:59:59 x\n"
        );
        assert_eq!(
            decoded(b"18446744073709551615 x\n"),
            "1969/12/31 23:59:59 x\n"
        );
        // Past year 9999; past a C int's years: "- -".
        assert_eq!(decoded(b"253402300800 x"), "10000/01/01 00:00:00 x");
        assert_eq!(
            decoded(b"67767976233316800\n"),
            "2147483647/12/29 12:00:00 \n"
        );
        // Debian's answers for the years 2147483648, 2147485547 and 2147485548.
        assert_eq!(
            decoded(b"67767976233532800\n67768036160140800\n67768036191676800\n"),
            "-2147483648/01/01 00:00:00 \n-2147481749/01/01 00:00:00 \n- - \n"
        );
        // More than 41 digits: the rest are skipped, not shown.
        let long = format!("{}5 y\n", "0".repeat(45));
        assert_eq!(decoded(long.as_bytes()), "1970/01/01 00:00:00 y\n");
        // No newline at the end: none added.
        assert_eq!(decoded(b"60 z"), "1970/01/01 00:01:00 z");
    }
}
