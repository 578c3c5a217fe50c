//! Numbers read the way Pure-FTPd's C reads them, so that odd input gets Pure-FTPd's
//! reply and not one of our own: `strtoul`/`strtoull` (ALLO's size, SITE CHMOD's mode,
//! SITE IDLE, ids and limits from SQL and LDAP), `sscanf`'s `%u` and `atoi` (PORT and
//! EPRT) and `sscanf("%4d%2d%2d%2d%2d%2d")` followed by `timegm` (MFMT, SITE UTIME).
//!
//! What C does that a plain `parse` would not:
//! * `strtoul` skips leading blanks, takes a sign, reads digits while they last and
//!   ignores the rest; no digit gives 0, too many give the largest value, and a minus
//!   sign negates modulo 2^64 (`"-1"` is the largest value).
//! * `sscanf` reads each field of at most its width (the sign counts) after skipping
//!   blanks, and stops at the first field without a digit: the fields after it stay 0.
//! * `timegm` carries over-large or zero fields into the next ones (month 13 is January
//!   of the next year, day 0 the last day of the month before); Pure-FTPd then refuses a
//!   time whose year, so carried, is 1900 or earlier, and the one second that reads as
//!   `-1` (23:59:59 on 1969-12-31), its error value.

/// C's `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    b" \t\n\x0b\x0c\r".contains(&byte)
}

/// `strtoul(text, NULL, radix)` on a 64-bit system (`radix` up to 10).
#[must_use]
pub fn strtoul(text: &[u8], radix: u8) -> u64 {
    strtoul_end(text, radix).0
}

/// `strtoul(text, &end, radix)`: the value and where `end` points (0, the start, when
/// there is no digit).
#[must_use]
pub fn strtoul_end(text: &[u8], radix: u8) -> (u64, usize) {
    let blanks = text.iter().take_while(|&&b| is_c_space(b)).count();
    let signed = matches!(text.get(blanks), Some(b'-' | b'+'));
    let negative = text.get(blanks) == Some(&b'-');
    let start = blanks + usize::from(signed);
    let digits = text[start..]
        .iter()
        .take_while(|&&b| b.checked_sub(b'0').is_some_and(|d| d < radix))
        .count();
    if digits == 0 {
        return (0, 0);
    }
    let value = text[start..start + digits]
        .iter()
        .try_fold(0u64, |value, &b| {
            value
                .checked_mul(u64::from(radix))
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
        });
    let value = match value {
        None => u64::MAX,
        Some(value) if negative => value.wrapping_neg(),
        Some(value) => value,
    };
    (value, start + digits)
}

/// One `%u` of `sscanf`: blanks, then `strtoul`'s number stored in an `unsigned int`
/// (the low 32 bits: `-1` is 4294967295, 4294967423 is 127); the value and what
/// follows it, `None` when no digit comes.
#[must_use]
pub fn scan_unsigned(text: &[u8]) -> Option<(u32, &[u8])> {
    let (value, end) = strtoul_end(text, 10);
    #[allow(clippy::cast_possible_truncation)] // as C's store into an unsigned int
    (end > 0).then(|| (value as u32, &text[end..]))
}

/// `atoi`: glibc's `(int) strtol(text, NULL, 10)`, an overflow being `LONG_MAX` or
/// `LONG_MIN` before the cast.
#[must_use]
pub fn atoi(text: &[u8]) -> i32 {
    let blanks = text.iter().take_while(|&&b| is_c_space(b)).count();
    let negative = text.get(blanks) == Some(&b'-');
    let start = blanks + usize::from(matches!(text.get(blanks), Some(b'-' | b'+')));
    let magnitude = text[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .try_fold(0i64, |value, &b| {
            value.checked_mul(10)?.checked_add(i64::from(b - b'0'))
        });
    let long = match (magnitude, negative) {
        (Some(value), false) => value,
        (Some(value), true) => -value,
        (None, false) => i64::MAX,
        (None, true) => i64::MIN,
    };
    #[allow(clippy::cast_possible_truncation)] // as C's cast to int
    let int = long as i32;
    int
}

/// One `%<width>d` of `sscanf`: the value and what follows it, `None` when no digit
/// comes first.
fn scan_int(text: &[u8], width: usize) -> Option<(i64, &[u8])> {
    let text = &text[text.iter().take_while(|&&b| is_c_space(b)).count()..];
    let field = &text[..text.len().min(width)];
    let (negative, digits) = match field.split_first() {
        Some((b'-', digits)) => (true, digits),
        Some((b'+', digits)) => (false, digits),
        _ => (false, field),
    };
    let count = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if count == 0 {
        return None;
    }
    // At most 4 digits: no overflow.
    let value = digits[..count]
        .iter()
        .fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
    let used = field.len() - digits.len() + count;
    Some((if negative { -value } else { value }, &text[used..]))
}

/// The time Pure-FTPd's MFMT and SITE UTIME set from `text` (the time stamp and
/// whatever follows it, as `sscanf` sees them), in seconds since 1970 (UTC); `None`
/// where Pure-FTPd answers "Can't get a time stamp".
#[must_use]
pub fn utc_stamp(text: &[u8]) -> Option<i64> {
    // year, month, day, hour, minute, second
    let mut fields = [0i64; 6];
    let mut rest = text;
    for (field, width) in fields.iter_mut().zip([4, 2, 2, 2, 2, 2]) {
        let Some((value, after)) = scan_int(rest, width) else {
            break;
        };
        *field = value;
        rest = after;
    }
    let [year, month, day, hour, minute, second] = fields;
    // timegm: months carried into years, then everything else counted in seconds.
    let months = year * 12 + (month - 1);
    let days = days_from_civil(months.div_euclid(12), months.rem_euclid(12) + 1) + day - 1;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    let (carried_year, _, _) = civil_from_days(seconds.div_euclid(86_400));
    (carried_year > 1900 && seconds != -1).then_some(seconds)
}

/// Days from 1970-01-01 to the first day of `month` of `year` (proleptic Gregorian).
fn days_from_civil(year: i64, month: i64) -> i64 {
    // Howard Hinnant's algorithm, for the first of the month.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date (year, month, day) of the day `days` after 1970-01-01
/// (Howard Hinnant's algorithm), for any day an `i64` of seconds can reach: C's
/// calendar goes further than `jiff`'s, which stops at the year 9999.
#[must_use]
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_as_c() {
        assert_eq!(strtoul(b"644 a.txt", 8), 0o644);
        assert_eq!(strtoul(b"  \t755", 8), 0o755);
        assert_eq!(strtoul(b"8", 8), 0);
        assert_eq!(strtoul(b"0778", 8), 0o77);
        assert_eq!(strtoul(b"-1", 8), u64::MAX);
        assert_eq!(strtoul(b"-0", 8), 0);
        assert_eq!(strtoul(b"+12", 10), 12);
        assert_eq!(strtoul(b"99999999999999999999", 10), u64::MAX);
        assert_eq!(strtoul(b"18446744073709551615", 10), u64::MAX);
        assert_eq!(strtoul(b"18446744073709551614", 10), u64::MAX - 1);
        assert_eq!(strtoul(b"abc", 10), 0);
        assert_eq!(strtoul(b"", 10), 0);
        assert_eq!(strtoul(b"- 1", 10), 0);
        assert_eq!(strtoul(b"-99999999999999999999", 10), u64::MAX);
        assert_eq!(strtoul_end(b" 100", 10), (100, 4));
        assert_eq!(strtoul_end(b"5x", 10), (5, 1));
        assert_eq!(strtoul_end(b"-5", 10), (u64::MAX - 4, 2));
        assert_eq!(strtoul_end(b"x5", 10), (0, 0));
        assert_eq!(strtoul_end(b" -", 10), (0, 0));
    }

    #[test]
    fn scanf_unsigned_and_atoi_as_c() {
        assert_eq!(scan_unsigned(b" 127,0"), Some((127, &b",0"[..])));
        assert_eq!(scan_unsigned(b"+5"), Some((5, &b""[..])));
        assert_eq!(scan_unsigned(b"-1,"), Some((u32::MAX, &b","[..])));
        assert_eq!(scan_unsigned(b"4294967423"), Some((127, &b""[..])));
        assert_eq!(
            scan_unsigned(b"99999999999999999999"),
            Some((u32::MAX, &b""[..]))
        );
        assert_eq!(scan_unsigned(b",1"), None);
        assert_eq!(scan_unsigned(b""), None);
        assert_eq!(atoi(b"5000|"), 5000);
        assert_eq!(atoi(b" +7"), 7);
        assert_eq!(atoi(b"-5"), -5);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"4294972296"), 5000);
        assert_eq!(atoi(b"99999999999999999999"), -1);
        assert_eq!(atoi(b"-99999999999999999999"), 0);
    }

    #[test]
    fn time_stamps_as_sscanf_and_timegm() {
        let at = |y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8| {
            jiff::civil::date(y, mo, d)
                .at(h, mi, s, 0)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp()
                .as_second()
        };
        assert_eq!(utc_stamp(b"20200101000000"), Some(at(2020, 1, 1, 0, 0, 0)));
        assert_eq!(
            utc_stamp(b"20240229235958 a.txt"),
            Some(at(2024, 2, 29, 23, 59, 58))
        );
        // Fewer digits: the last field is shorter, or missing fields are 0 and carried.
        assert_eq!(utc_stamp(b"2020010100000"), Some(at(2020, 1, 1, 0, 0, 0)));
        assert_eq!(utc_stamp(b"2020"), Some(at(2019, 11, 30, 0, 0, 0)));
        // Out of range fields carry.
        assert_eq!(utc_stamp(b"20201301000000"), Some(at(2021, 1, 1, 0, 0, 0)));
        assert_eq!(utc_stamp(b"20200230000000"), Some(at(2020, 3, 1, 0, 0, 0)));
        assert_eq!(utc_stamp(b"20200101246000"), Some(at(2020, 1, 2, 1, 0, 0)));
        // (Past jiff's range, which stops a day short of 9999-12-31.)
        assert_eq!(utc_stamp(b"99991231235959"), Some(253_402_300_799));
        assert_eq!(utc_stamp(b"19700101000000"), Some(0));
        assert_eq!(utc_stamp(b"19010101000000"), Some(at(1901, 1, 1, 0, 0, 0)));
        // Refused: a year of 1900 or before once carried, the error value, no digit.
        assert_eq!(utc_stamp(b"19000101000000"), None);
        assert_eq!(utc_stamp(b"19010001000000"), None);
        assert_eq!(utc_stamp(b"19691231235959"), None);
        assert_eq!(utc_stamp(b"abc"), None);
        assert_eq!(utc_stamp(b""), None);
        // A sign takes a place in the field's width.
        assert_eq!(utc_stamp(b"2020-1"), Some(at(2019, 10, 31, 0, 0, 0)));
    }

    #[test]
    fn the_calendar_round_trips() {
        for year in [1601, 1900, 1969, 1970, 2000, 2024, 2100, 9998] {
            for month in 1..=12 {
                let days = days_from_civil(year, month);
                let expected = jiff::civil::date(
                    i16::try_from(year).unwrap(),
                    i8::try_from(month).unwrap(),
                    1,
                )
                .to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp()
                .as_second();
                assert_eq!(days * 86_400, expected, "{year}-{month}");
                assert_eq!(civil_from_days(days), (year, month, 1));
                let last_day_before = civil_from_days(days - 1);
                let expected = jiff::Timestamp::from_second(expected - 86_400)
                    .unwrap()
                    .to_zoned(jiff::tz::TimeZone::UTC);
                assert_eq!(
                    last_day_before,
                    (
                        i64::from(expected.year()),
                        i64::from(expected.month()),
                        i64::from(expected.day())
                    )
                );
            }
        }
    }
}
