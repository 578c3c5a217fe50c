//! Host-port forms: PORT's `h1,h2,h3,h4,p1,p2`, EPRT's `|1|ip|port|`, and the replies
//! to PASV and EPSV.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::c_scan;

/// Why an address argument was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrError {
    /// Not the expected syntax, or a zero address or port.
    Syntax,
    /// EPRT with a network protocol other than 1 (IPv4) or 2 (IPv6).
    Protocol,
    /// EPRT's protocol 2 with an address or port that cannot be read: a syntax error
    /// where the server serves IPv6, a protocol it does not serve elsewhere.
    Ipv6Syntax,
}

/// PORT `h1,h2,h3,h4,p1,p2`, read as Pure-FTPd's `sscanf("%u,%u,%u,%u,%u,%u")`: blanks
/// and a sign may come before each number (not before a comma), what follows the sixth
/// is ignored, each number is kept to 32 bits and then must be at most 255.
///
/// # Errors
/// [`AddrError::Syntax`] for anything else, or a zero address or port.
pub fn parse_port(arg: &[u8]) -> Result<SocketAddrV4, AddrError> {
    let numbers: [u32; 6] = scan_numbers(arg, b',').ok_or(AddrError::Syntax)?;
    let bytes = numbers.map(|n| u8::try_from(n).map_err(|_| AddrError::Syntax));
    let [a, b, c, d, hi, lo] = [
        bytes[0]?, bytes[1]?, bytes[2]?, bytes[3]?, bytes[4]?, bytes[5]?,
    ];
    let ip = Ipv4Addr::new(a, b, c, d);
    let port = u16::from_be_bytes([hi, lo]);
    if ip.is_unspecified() || port == 0 {
        return Err(AddrError::Syntax);
    }
    Ok(SocketAddrV4::new(ip, port))
}

/// EPRT `<d>proto<d>address<d>port<d>`, where `<d>` is any printable character, read as
/// Pure-FTPd reads it:
///
/// * the protocol (`atoi`, then digits to the delimiter) is judged first: one naming
///   neither 1 nor 2 is [`AddrError::Protocol`] whatever follows it;
/// * an IPv4 address is four numbers as `sscanf("%u.%u.%u.%u")` or with commas, made of
///   digits, dots and commas up to the delimiter, then the port's digits and the
///   delimiter (what follows it is ignored);
/// * an IPv6 address is hexadecimal digits and colons (no embedded IPv4 form) up to the
///   delimiter, then a port read by `atoi` (nothing needed after it).
///
/// One difference on purpose: an IPv6 port outside 1-65535 is refused, where Pure-FTPd
/// keeps its low 16 bits (so `66536` would reach port 1000 past its check on ports
/// under 1024).
///
/// # Errors
/// [`AddrError::Protocol`] for a protocol other than 1 or 2, [`AddrError::Ipv6Syntax`]
/// for a protocol 2 address that cannot be read, [`AddrError::Syntax`] otherwise.
pub fn parse_eprt(arg: &[u8]) -> Result<SocketAddr, AddrError> {
    let (&delimiter, rest) = arg
        .split_first()
        .filter(|(d, _)| d.is_ascii_graphic())
        .ok_or(AddrError::Syntax)?;
    let protocol = c_scan::atoi(rest);
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = rest[digits..]
        .strip_prefix(&[delimiter])
        .ok_or(AddrError::Syntax)?;
    match protocol {
        1 => eprt_ipv4(rest, delimiter).map(SocketAddr::V4),
        2 => eprt_ipv6(rest, delimiter)
            .map(SocketAddr::V6)
            .ok_or(AddrError::Ipv6Syntax),
        _ => Err(AddrError::Protocol),
    }
}

/// EPRT's IPv4 address and port, after the protocol's delimiter.
fn eprt_ipv4(text: &[u8], delimiter: u8) -> Result<SocketAddrV4, AddrError> {
    let address: [u32; 4] = scan_numbers(text, b',')
        .or_else(|| scan_numbers(text, b'.'))
        .ok_or(AddrError::Syntax)?;
    let ip = Ipv4Addr::from(address.map(|n| u8::try_from(n).unwrap_or(0)));
    if address.iter().any(|&n| n > 255) || ip.is_unspecified() {
        return Err(AddrError::Syntax);
    }
    let used = text
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'.' || **b == b',')
        .count();
    let rest = text[used..]
        .strip_prefix(&[delimiter])
        .ok_or(AddrError::Syntax)?;
    let port = c_scan::atoi(rest);
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if rest.get(digits) != Some(&delimiter) {
        return Err(AddrError::Syntax);
    }
    let port = u16::try_from(port)
        .ok()
        .filter(|&p| p > 0)
        .ok_or(AddrError::Syntax)?;
    Ok(SocketAddrV4::new(ip, port))
}

/// `sscanf(text, "%u<separator>%u...")` reading all `N` numbers (PORT's six, EPRT's
/// four); what follows the last is not looked at.
fn scan_numbers<const N: usize>(text: &[u8], separator: u8) -> Option<[u32; N]> {
    let mut numbers = [0u32; N];
    let mut rest = text;
    for (index, number) in numbers.iter_mut().enumerate() {
        if index > 0 {
            rest = rest.strip_prefix(&[separator])?;
        }
        (*number, rest) = c_scan::scan_unsigned(rest)?;
    }
    Some(numbers)
}

/// EPRT's IPv6 address and port, after the protocol's delimiter.
fn eprt_ipv6(text: &[u8], delimiter: u8) -> Option<SocketAddrV6> {
    let length = text
        .iter()
        .take_while(|b| b.is_ascii_hexdigit() || **b == b':')
        .count();
    let rest = text[length..].strip_prefix(&[delimiter])?;
    let port = u16::try_from(c_scan::atoi(rest)).ok().filter(|&p| p > 0)?;
    let ip: Ipv6Addr = std::str::from_utf8(&text[..length]).ok()?.parse().ok()?;
    Some(SocketAddrV6::new(ip, port, 0, 0))
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
        // As sscanf("%u,%u,%u,%u,%u,%u") reads them: blanks and signs before numbers,
        // 32-bit numbers, anything after the sixth.
        for good in [
            &b"127,0,0,1,200,10"[..],
            b" 127,0,0,1,200,10",
            b"+127,0,0,1,200,+10",
            b"0127,0,0,1, 200,10",
            b"4294967423,0,0,1,200,10",
            b"127,0,0,1,200,10,1",
            b"127,0,0,1,200,10x",
        ] {
            assert_eq!(
                parse_port(good),
                Ok("127.0.0.1:51210".parse().unwrap()),
                "{:?}",
                String::from_utf8_lossy(good)
            );
        }
        for bad in [
            &b"127,0,0,1,200"[..],
            b"127,0,0,1,256,1",
            b"0,0,0,0,200,10",
            b"127,0,0,1,0,0",
            b"a,b,c,d,e,f",
            b"",
            b"127 ,0,0,1,200,10",
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
        // What Pure-FTPd's reading lets through.
        for good in [
            &b"|01|127.0.0.1|51210|"[..],
            b"|4294967297|127.0.0.1|51210|",
            b"|1|127.0.0.01|51210|",
            b"|1|127.0.0.1.9|51210|",
            b"|1|127.0.0.1|51210||",
            b"|1|127.0.0.1|4295018506|",
        ] {
            assert_eq!(
                parse_eprt(good),
                Ok("127.0.0.1:51210".parse().unwrap()),
                "{:?}",
                String::from_utf8_lossy(good)
            );
        }
        assert_eq!(
            parse_eprt(b"|2|::1|2000"),
            Ok("[::1]:2000".parse().unwrap())
        );
        assert_eq!(parse_eprt(b"|2|::|2000|"), Ok("[::]:2000".parse().unwrap()));
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
            b"| 1|127.0.0.1|21|",
            b"|1| 127.0.0.1|5000|",
            b"|1|127.0.0.1|+5000|",
            b"|1|127.0.0.1|5000",
            b"|1|127,0.0.1|5000|",
            b"|1|127.0.0.1x|5000|",
        ] {
            assert_eq!(
                parse_eprt(bad),
                Err(AddrError::Syntax),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        for bad in [
            &b"|2|::ffff:127.0.0.1|5000|"[..],
            b"|2|fe80::1%lo|5000|",
            b"|2|::1|0|",
            b"|2|::1|70000|",
            b"|2|::1|-5|",
            b"|2|::1",
            b"|2|zz|5000|",
        ] {
            assert_eq!(
                parse_eprt(bad),
                Err(AddrError::Ipv6Syntax),
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
