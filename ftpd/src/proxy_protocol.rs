//! `--proxyprotocol=<address>[,<address>...]` (ours; Pure-FTPd has no such option, its
//! users asked for it in jedisct1/pure-ftpd#111): connections from the listed load
//! balancers start with a PROXY protocol header (HAProxy's v1 text or v2 binary form,
//! parsed by the `ppp` crate), and the session takes the client's address from it, so
//! that `-C`, the accounts' IP rules, anti-FXP, the scoreboard and the logs see the real
//! client. A connection from a listed balancer without a valid header within
//! [`HEADER_TIMEOUT`] is closed; a `LOCAL` header (a health check) keeps the balancer's
//! address. A header from any other address is never believed: the session ends with
//! `421` (see `session::serve`).
//!
//! The header is read a byte at a time, so that nothing after it is taken from the
//! client (an FTP client waits for the greeting anyway).

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ppp::HeaderResult;

/// How long a balancer has to send the header.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The binary signature of v2, which a client could also send as its first bytes.
pub const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

/// Whether a command line the client sent is a PROXY header.
#[must_use]
pub fn looks_like_header(line: &[u8]) -> bool {
    line.starts_with(b"PROXY ") || line.starts_with(&V2_SIGNATURE[..8])
}

/// Reads the header a balancer sends first. `Ok(Some(client))` for a proxied TCP
/// connection, `Ok(None)` for a `LOCAL` one.
///
/// # Errors
/// No complete header within [`HEADER_TIMEOUT`], or an invalid one; the message says
/// which.
pub fn read_header(stream: &mut TcpStream) -> Result<Option<SocketAddr>, String> {
    let deadline = Instant::now() + HEADER_TIMEOUT;
    let mut header = Vec::with_capacity(108);
    let mut byte = [0u8; 1];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("no PROXY header in time".to_string());
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut byte) {
            Ok(0) => return Err("the balancer closed before the PROXY header".to_string()),
            Ok(_) => header.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading the PROXY header: {e}")),
        }
        // Bytes that cannot start either form end it at once.
        let v1 = header.starts_with(b"PROXY ") || b"PROXY ".starts_with(&header);
        let v2 = header.starts_with(V2_SIGNATURE) || V2_SIGNATURE.starts_with(&header);
        if !(v1 || v2) {
            return Err("no PROXY header: the balancer sent something else".to_string());
        }
        let complete = if v1 {
            // A line of at most 107 bytes.
            if header.len() > 107 {
                return Err("a PROXY v1 header longer than 107 bytes".to_string());
            }
            header.ends_with(b"\r\n")
        } else {
            // 16 bytes, the last two the length of the rest.
            header.len() >= 16
                && header.len() == 16 + usize::from(u16::from_be_bytes([header[14], header[15]]))
        };
        if complete {
            let _ = stream.set_read_timeout(None);
            return source(HeaderResult::parse(&header));
        }
    }
}

fn source(parsed: HeaderResult<'_>) -> Result<Option<SocketAddr>, String> {
    match parsed {
        HeaderResult::V1(Ok(header)) => Ok(match header.addresses {
            ppp::v1::Addresses::Tcp4(a) => {
                Some(SocketAddr::new(IpAddr::V4(a.source_address), a.source_port))
            }
            ppp::v1::Addresses::Tcp6(a) => {
                Some(SocketAddr::new(IpAddr::V6(a.source_address), a.source_port))
            }
            ppp::v1::Addresses::Unknown => None,
        }),
        HeaderResult::V2(Ok(header)) => {
            if header.command == ppp::v2::Command::Local {
                return Ok(None);
            }
            match header.addresses {
                ppp::v2::Addresses::IPv4(a) => Ok(Some(SocketAddr::new(
                    IpAddr::V4(a.source_address),
                    a.source_port,
                ))),
                ppp::v2::Addresses::IPv6(a) => Ok(Some(SocketAddr::new(
                    IpAddr::V6(a.source_address),
                    a.source_port,
                ))),
                _ => Err("a PROXY v2 header without an IP source".to_string()),
            }
        }
        HeaderResult::V1(Err(e)) => Err(format!("an invalid PROXY v1 header: {e}")),
        HeaderResult::V2(Err(e)) => Err(format!("an invalid PROXY v2 header: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_sources() {
        let v1 = HeaderResult::parse(b"PROXY TCP4 192.0.2.7 127.0.0.2 40000 21\r\n");
        assert_eq!(
            source(v1).unwrap(),
            Some("192.0.2.7:40000".parse().unwrap())
        );
        let v1 = HeaderResult::parse(b"PROXY TCP6 2001:db8::7 ::1 40000 21\r\n");
        assert_eq!(
            source(v1).unwrap(),
            Some("[2001:db8::7]:40000".parse().unwrap())
        );
        assert_eq!(
            source(HeaderResult::parse(b"PROXY UNKNOWN\r\n")).unwrap(),
            None
        );
        let mut v2 = V2_SIGNATURE.to_vec();
        v2.extend_from_slice(&[
            0x21, 0x11, 0, 12, 192, 0, 2, 9, 127, 0, 0, 2, 0x9c, 0x40, 0, 21,
        ]);
        assert_eq!(
            source(HeaderResult::parse(&v2)).unwrap(),
            Some("192.0.2.9:40000".parse().unwrap())
        );
        assert!(source(HeaderResult::parse(b"PROXY TCP4 nonsense\r\n")).is_err());
        assert!(looks_like_header(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2"));
        assert!(!looks_like_header(b"USER proxy"));
    }
}
