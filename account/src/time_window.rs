//! The `hhmm-hhmm` login window of field 18.

use std::fmt;

/// Hours during which an account may log in, in server local time, both ends included.
/// A window whose end is before its start wraps around midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    begin: u16,
    end: u16,
}

impl TimeWindow {
    /// A window from two `hhmm` numbers (`900` is 09:00).
    ///
    /// # Errors
    /// An hour above 23 or a minute above 59, with the message pure-pw prints.
    pub fn new(begin: u16, end: u16) -> Result<Self, String> {
        let valid = |t: u16| t < 2360 && t % 100 < 60;
        if valid(begin) && valid(end) {
            Ok(Self { begin, end })
        } else {
            Err(Self::USAGE.to_string())
        }
    }

    /// What pure-pw says about a bad `-z`.
    pub const USAGE: &'static str =
        "Time should be given as hhmm-hhmm\nExample : 0900-1800 (9 am to 6 pm)";

    /// Parses `hhmm-hhmm` (digits only, as pure-pw writes it: `900-1800`, `0900-1800`).
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(text: &[u8]) -> Result<Self, String> {
        let number = |part: &[u8]| -> Option<u16> {
            if part.is_empty() || part.len() > 5 || !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        let dash = text.iter().position(|&b| b == b'-');
        let parsed = dash.and_then(|d| Some((number(&text[..d])?, number(&text[d + 1..])?)));
        match parsed {
            Some((begin, end)) => Self::new(begin, end),
            None => Err(Self::USAGE.to_string()),
        }
    }

    /// Start, as `hhmm`.
    #[must_use]
    pub fn begin(self) -> u16 {
        self.begin
    }

    /// End, as `hhmm`.
    #[must_use]
    pub fn end(self) -> u16 {
        self.end
    }

    /// Whether a login at `now` (`hhmm`, local time) is allowed.
    #[must_use]
    pub fn allows(self, now: u16) -> bool {
        if self.begin <= self.end {
            (self.begin..=self.end).contains(&now)
        } else {
            now >= self.begin || now <= self.end
        }
    }
}

/// As stored in the passwd file: `900-1800`.
impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.begin, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_pure_pw_accepts() {
        let w = TimeWindow::parse(b"0900-1800").unwrap();
        assert_eq!((w.begin(), w.end()), (900, 1800));
        assert_eq!(w.to_string(), "900-1800");
        assert_eq!(
            TimeWindow::parse(b"2200-600").unwrap().to_string(),
            "2200-600"
        );
        assert_eq!(TimeWindow::parse(b"0-2359").unwrap().to_string(), "0-2359");
    }

    #[test]
    fn refuses_impossible_times_and_junk() {
        for bad in [
            &b"2500-1000"[..],
            b"0960-1000",
            b"0900-2360",
            b"0900",
            b"a-b",
            b"-",
            b"",
            b" 900-1800",
            b"900-1800x",
            b"900--1800",
            b"99999999-1",
        ] {
            assert!(
                TimeWindow::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn windows_include_both_ends_and_wrap_midnight() {
        let day = TimeWindow::parse(b"900-1800").unwrap();
        assert!(day.allows(900) && day.allows(1800) && day.allows(1200));
        assert!(!day.allows(859) && !day.allows(1801));
        let night = TimeWindow::parse(b"2200-600").unwrap();
        assert!(night.allows(2300) && night.allows(0) && night.allows(600) && night.allows(2200));
        assert!(!night.allows(601) && !night.allows(2159));
    }
}
