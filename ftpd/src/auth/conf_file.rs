//! The configuration files of `-l mysql:FILE`, `-l pgsql:FILE` and `-l ldap:FILE`, read
//! as Pure-FTPd's `generic_parser()` reads them: one `Keyword value` per line, keywords
//! matched without regard to case and as a prefix of the line (in the backend's table
//! order), blank lines and lines starting with `#` or a control character skipped, the
//! value trimmed of trailing blanks and control characters, the last of a repeated
//! keyword winning.
//!
//! Deliberate differences: Pure-FTPd stops with "Illegal configuration file" and no
//! more; ours names the file, the line and what is wrong with it. A line longer than
//! `LINE_MAX` (2048) is one line here, where Pure-FTPd would read its tail as a second
//! line.

use std::collections::HashMap;
use std::path::Path;

/// The settings of one file: keyword (as the table spells it) to value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Settings {
    values: HashMap<&'static str, String>,
    /// The file, for messages.
    pub(super) file: String,
}

impl Settings {
    /// The value of `keyword` (as the table spells it).
    #[must_use]
    pub(super) fn get(&self, keyword: &str) -> Option<&str> {
        self.values.get(keyword).map(String::as_str)
    }
}

/// Reads `file` with the keywords of `table`.
///
/// # Errors
/// The file cannot be read, or a line names no keyword of the table or gives it no
/// value: the message names the file and the line.
pub(super) fn read(file: &Path, table: &[&'static str]) -> Result<Settings, String> {
    let text = std::fs::read(file).map_err(|e| {
        format!(
            "Unable to read the configuration file {}: {e}",
            file.display()
        )
    })?;
    parse(&text, table)
        .map(|values| Settings {
            values,
            file: file.display().to_string(),
        })
        .map_err(|(line, what)| format!("{}, line {line}: {what}", file.display()))
}

fn parse(
    text: &[u8],
    table: &[&'static str],
) -> Result<HashMap<&'static str, String>, (usize, String)> {
    let mut values = HashMap::new();
    for (number, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii_start();
        match line.first() {
            None | Some(b'#') => continue,
            Some(c) if c.is_ascii_control() => continue,
            Some(_) => {}
        }
        let Some(keyword) = table
            .iter()
            .find(|k| line.len() >= k.len() && line[..k.len()].eq_ignore_ascii_case(k.as_bytes()))
        else {
            let word = line.split(u8::is_ascii_whitespace).next().unwrap_or(line);
            return Err((
                number + 1,
                format!(
                    "unknown keyword {} (known: {})",
                    String::from_utf8_lossy(word),
                    table.join(", ")
                ),
            ));
        };
        let value = line[keyword.len()..].trim_ascii_start().trim_ascii_end();
        let end = value
            .iter()
            .rposition(|b| !b.is_ascii_whitespace() && !b.is_ascii_control())
            .map_or(0, |i| i + 1);
        let value = &value[..end];
        if value.is_empty() {
            return Err((number + 1, format!("{keyword} has no value")));
        }
        let value = String::from_utf8(value.to_vec())
            .map_err(|_| (number + 1, format!("the value of {keyword} is not UTF-8")))?;
        values.insert(*keyword, value);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[&str] = &["MYSQLServer", "MYSQLPort", "MYSQLGetPW"];

    #[test]
    fn keywords_values_comments_and_blanks() {
        let text = b"# a comment\n\n  mysqlserver   db.example \t\r\nMYSQLGetPW SELECT p FROM u WHERE n='\\L'\nMYSQLPort 1\nMYSQLPort 3307\n";
        let values = parse(text, TABLE).unwrap();
        assert_eq!(values["MYSQLServer"], "db.example");
        assert_eq!(values["MYSQLGetPW"], "SELECT p FROM u WHERE n='\\L'");
        assert_eq!(values["MYSQLPort"], "3307");
    }

    #[test]
    fn a_keyword_is_a_prefix_of_the_line() {
        // As Pure-FTPd's strncasecmp: the rest of the word is the start of the value.
        let values = parse(b"MYSQLServerX y\n", TABLE).unwrap();
        assert_eq!(values["MYSQLServer"], "X y");
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse(b"\nMYSQLServer a\nMYSQLPasword x\n", TABLE)
                .unwrap_err()
                .0,
            3
        );
        let (line, what) = parse(b"MYSQLPort   \n", TABLE).unwrap_err();
        assert_eq!((line, what.as_str()), (1, "MYSQLPort has no value"));
    }
}
