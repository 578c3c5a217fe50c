//! `pure-mrtginfo [port]` (21 by default): the four lines MRTG reads: established TCP
//! connections to `port` (IPv4 and IPv6, from /proc/net), the same number again, the
//! machine's uptime (`D days, H:MM:SS`) and its host name.

use std::fs;

/// Established connections whose local port is `port`.
#[must_use]
pub fn connections(port: u16) -> usize {
    const ESTABLISHED: &str = "01";
    let wanted = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| fs::read_to_string(table).ok())
        .map(|text| {
            text.lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    fields.len() > 3 && fields[1].ends_with(&wanted) && fields[3] == ESTABLISHED
                })
                .count()
        })
        .sum()
}

/// `D days, H:MM:SS`.
#[must_use]
pub fn uptime_text(seconds: u64) -> String {
    format!(
        "{} days, {}:{:02}:{:02}",
        seconds / 86_400,
        (seconds / 3600) % 24,
        (seconds / 60) % 60,
        seconds % 60
    )
}

/// The program: returns the exit status.
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    // No argument: port 21; otherwise its leading digits, as atoi reads them (0 if none).
    let port = match args.first() {
        None => 21,
        Some(arg) => arg
            .to_str()
            .map(|s| {
                let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap_or(0)
            })
            .unwrap_or(0),
    };
    let count = connections(port);
    let uptime = fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split('.').next()?.parse::<u64>().ok())
        .unwrap_or(0);
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    println!("{count}\n{count}\n{}\n{host}", uptime_text(uptime));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_as_pure_ftpd_prints_it() {
        assert_eq!(uptime_text(28 * 60 + 23), "0 days, 0:28:23");
        assert_eq!(uptime_text(2 * 86_400 + 3 * 3600 + 5), "2 days, 3:00:05");
    }

    #[test]
    fn counts_established_connections_to_the_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let before = connections(port);
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _served = listener.accept().unwrap();
        assert_eq!(connections(port), before + 1);
    }
}
