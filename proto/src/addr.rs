//! Host-port forms: PORT's `h1,h2,h3,h4,p1,p2`, EPRT's `|1|ip|port|`, and the replies
//! to PASV and EPSV.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

/// Why an address argument was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrError {
    /// Not the expected syntax, or a zero address or port.
    Syntax,
    /// EPRT with a network protocol other than 1 (IPv4) or 2 (IPv6).
    Protocol,
}

/// PORT `h1,h2,h3,h4,p1,p2`.
///
/// # Errors
/// [`AddrError::Syntax`] for anything else, or a zero address or port.
pub fn parse_port(arg: &[u8]) -> Result<SocketAddrV4, AddrError> {
    let text = std::str::from_utf8(arg).map_err(|_| AddrError::Syntax)?;
    let numbers: Vec<u8> = text
        .trim()
        .split(',')
        .map(|n| {
            let n = n.trim();
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(AddrError::Syntax);
            }
            n.parse().map_err(|_| AddrError::Syntax)
        })
        .collect::<Result<_, _>>()?;
    let [a, b, c, d, hi, lo] = numbers[..] else {
        return Err(AddrError::Syntax);
    };
    let ip = Ipv4Addr::new(a, b, c, d);
    let port = u16::from_be_bytes([hi, lo]);
    if ip.is_unspecified() || port == 0 {
        return Err(AddrError::Syntax);
    }
    Ok(SocketAddrV4::new(ip, port))
}

/// EPRT `<d>proto<d>address<d>port<d>`, where `<d>` is any printable character. An IPv4
/// address may also be written with commas; an IPv6 one only with hexadecimal digits and
/// colons (no embedded IPv4 form), as Pure-FTPd reads it.
///
/// As Pure-FTPd, the protocol is judged first: a protocol field of digits (even none)
/// naming neither 1 nor 2 is [`AddrError::Protocol`] whatever follows it.
///
/// # Errors
/// [`AddrError::Protocol`] for a protocol other than 1 or 2, [`AddrError::Syntax`]
/// otherwise.
pub fn parse_eprt(arg: &[u8]) -> Result<SocketAddr, AddrError> {
    let text = std::str::from_utf8(arg).map_err(|_| AddrError::Syntax)?;
    let delimiter = text
        .chars()
        .next()
        .filter(|c| c.is_ascii_graphic())
        .ok_or(AddrError::Syntax)?;
    let rest = &text[delimiter.len_utf8()..];
    let (protocol, rest) = rest.split_once(delimiter).ok_or(AddrError::Syntax)?;
    if !protocol.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AddrError::Syntax);
    }
    let protocol = protocol.trim_start_matches('0');
    if protocol != "1" && protocol != "2" {
        return Err(AddrError::Protocol);
    }
    let fields: Vec<&str> = rest.split(delimiter).collect();
    let [address, port, ""] = fields[..] else {
        return Err(AddrError::Syntax);
    };
    let port: u16 = port.parse().map_err(|_| AddrError::Syntax)?;
    if port == 0 {
        return Err(AddrError::Syntax);
    }
    let ip: IpAddr = if protocol == "1" {
        address
            .replace(',', ".")
            .parse::<Ipv4Addr>()
            .map_err(|_| AddrError::Syntax)?
            .into()
    } else if address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
        IpAddr::V6(address.parse().map_err(|_| AddrError::Syntax)?)
    } else {
        return Err(AddrError::Syntax);
    };
    if ip.is_unspecified() {
        return Err(AddrError::Syntax);
    }
    Ok(SocketAddr::new(ip, port))
}

/// The text of a 227 reply: `Entering Passive Mode (h1,h2,h3,h4,p1,p2)`.
#[must_use]
pub fn pasv_reply(ip: Ipv4Addr, port: u16) -> String {
    let [a, b, c, d] = ip.octets();
    let [hi, lo] = port.to_be_bytes();
    format!("Entering Passive Mode ({a},{b},{c},{d},{hi},{lo})")
}

/// The text of a 229 reply: `Extended Passive mode OK (|||port|)`.
#[must_use]
pub fn epsv_reply(port: u16) -> String {
    format!("Extended Passive mode OK (|||{port}|)")
}

/// `|1|ip|port|` or `|2|ip|port|`, as in ESTA/ESTP replies.
#[must_use]
pub fn eprt_form(address: SocketAddr) -> String {
    let protocol = if address.is_ipv4() { 1 } else { 2 };
    format!("|{protocol}|{}|{}|", address.ip(), address.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_arguments() {
        assert_eq!(
            parse_port(b"127,0,0,1,200,10"),
            Ok("127.0.0.1:51210".parse().unwrap())
        );
        for bad in [
            &b"127,0,0,1,200"[..],
            b"127,0,0,1,256,1",
            b"0,0,0,0,200,10",
            b"127,0,0,1,0,0",
            b"a,b,c,d,e,f",
            b"",
            b"127,0,0,1,200,10,1",
            b"127,0,0,1,-1,10",
        ] {
            assert_eq!(
                parse_port(bad),
                Err(AddrError::Syntax),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn eprt_arguments() {
        assert_eq!(
            parse_eprt(b"|1|127.0.0.1|51210|"),
            Ok("127.0.0.1:51210".parse().unwrap())
        );
        assert_eq!(
            parse_eprt(b"!1!127,0,0,1!51210!"),
            Ok("127.0.0.1:51210".parse().unwrap())
        );
        assert_eq!(
            parse_eprt(b"|2|::1|2000|"),
            Ok("[::1]:2000".parse().unwrap())
        );
        assert_eq!(
            parse_eprt(b"|01|127.0.0.1|51210|"),
            Ok("127.0.0.1:51210".parse().unwrap())
        );
        // The protocol is judged before the rest, as Pure-FTPd does.
        for other in [
            &b"|3|x|2000|"[..],
            b"|3|x|",
            b"||::1|2000|",
            b"|9999999999999999999|",
        ] {
            assert_eq!(
                parse_eprt(other),
                Err(AddrError::Protocol),
                "{:?}",
                String::from_utf8_lossy(other)
            );
        }
        for bad in [
            &b"|1|127.0.0.1|0|"[..],
            b"|1|127.0.0.1|70000|",
            b"|1|::1|20|",
            b"1|2|3",
            b"|1|0.0.0.0|21|",
            b"|1x|127.0.0.1|21|",
            b"|1",
            b"|2|::ffff:127.0.0.1|5000|",
            b"|2|fe80::1%lo|5000|",
            b"|2|::1|5000",
        ] {
            assert_eq!(
                parse_eprt(bad),
                Err(AddrError::Syntax),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn passive_replies() {
        assert_eq!(
            pasv_reply(Ipv4Addr::LOCALHOST, 12334),
            "Entering Passive Mode (127,0,0,1,48,46)"
        );
        assert_eq!(epsv_reply(5000), "Extended Passive mode OK (|||5000|)");
        assert_eq!(eprt_form("10.0.0.1:20".parse().unwrap()), "|1|10.0.0.1|20|");
    }
}
