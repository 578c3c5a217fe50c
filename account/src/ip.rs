//! Allow and deny lists of addresses (fields 14–17): comma-separated entries, each an
//! IPv4 address, `IPv4/bits`, an IPv6 address, `IPv6/bits`, or a host name resolved at
//! login time.
//!
//! A list that cannot be parsed fails closed: the login is refused (as Pure-FTPd 1.0.54
//! does), instead of silently ignoring an entry that was meant to deny someone.

use std::fmt;
use std::net::IpAddr;

use crate::fields::shown;

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpPattern {
    /// An address and a prefix length (32 or 128 for a single address).
    Network {
        /// The address, with host bits as written.
        address: IpAddr,
        /// Leading bits that must match.
        prefix: u8,
    },
    /// A host name, resolved when a client logs in.
    Host(String),
}

/// A parsed list; empty when the field is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpList(Vec<IpPattern>);

/// An entry that is neither an address, a network nor a host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpListError(String);

impl fmt::Display for IpListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is not an address, an address/bits network or a host name",
            self.0
        )
    }
}

impl std::error::Error for IpListError {}

impl IpList {
    /// Parses a comma-separated list.
    ///
    /// # Errors
    /// The first entry that is not valid.
    pub fn parse(text: &[u8]) -> Result<Self, IpListError> {
        if text.is_empty() {
            return Ok(Self::default());
        }
        text.split(|&b| b == b',')
            .map(parse_pattern)
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether the list has no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries.
    #[must_use]
    pub fn patterns(&self) -> &[IpPattern] {
        &self.0
    }

    /// Whether `address` matches an entry; host names are resolved with `resolve`.
    pub fn matches(&self, address: IpAddr, resolve: &mut dyn FnMut(&str) -> Vec<IpAddr>) -> bool {
        let address = canonical(address);
        self.0.iter().any(|pattern| match pattern {
            IpPattern::Network {
                address: net,
                prefix,
            } => in_network(address, *net, *prefix),
            IpPattern::Host(name) => resolve(name).into_iter().any(|a| canonical(a) == address),
        })
    }
}

/// Pure-FTPd's rule for one kind of address: with an allow list, the address must be in
/// it; with a deny list, it must not be in it.
pub fn allowed(
    allow: &IpList,
    deny: &IpList,
    address: IpAddr,
    resolve: &mut dyn FnMut(&str) -> Vec<IpAddr>,
) -> bool {
    (allow.is_empty() || allow.matches(address, resolve))
        && (deny.is_empty() || !deny.matches(address, resolve))
}

fn parse_pattern(entry: &[u8]) -> Result<IpPattern, IpListError> {
    let fail = || IpListError(shown(entry));
    let text = std::str::from_utf8(entry).map_err(|_| fail())?;
    let (host, prefix) = match text.split_once('/') {
        Some((host, bits)) => {
            let bits = (!bits.is_empty() && bits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| bits.parse::<u8>().ok())
                .flatten()
                .ok_or_else(fail)?;
            (host, Some(bits))
        }
        None => (text, None),
    };
    if let Ok(address) = host.parse::<IpAddr>() {
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix == 0 || prefix > max {
            return Err(fail());
        }
        return Ok(IpPattern::Network { address, prefix });
    }
    if prefix.is_none() && is_host_name(host) {
        return Ok(IpPattern::Host(host.to_ascii_lowercase()));
    }
    Err(fail())
}

/// Letters, digits, dots and dashes, with at least one letter: `10.0.0.256` is a typo,
/// not a host name.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && name.bytes().any(|b| b.is_ascii_alphabetic())
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

fn in_network(address: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (address, canonical(network)) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_dns(_: &str) -> Vec<IpAddr> {
        Vec::new()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn list(text: &str) -> IpList {
        IpList::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn networks_match_on_their_prefix() {
        let l = list("192.168.0.0/24,10.0.0.1");
        assert!(l.matches(ip("192.168.0.77"), &mut no_dns));
        assert!(l.matches(ip("10.0.0.1"), &mut no_dns));
        assert!(
            l.matches(ip("::ffff:10.0.0.1"), &mut no_dns),
            "IPv4-mapped IPv6"
        );
        assert!(!l.matches(ip("192.168.1.1"), &mut no_dns));
        assert!(!l.matches(ip("10.0.0.2"), &mut no_dns));
        let v6 = list("2001:db8::/32");
        assert!(v6.matches(ip("2001:db8:1::5"), &mut no_dns));
        assert!(!v6.matches(ip("2001:db9::5"), &mut no_dns));
        assert!(!v6.matches(ip("10.0.0.1"), &mut no_dns));
    }

    #[test]
    fn host_names_are_resolved_at_match_time() {
        let l = list("ftp.example.com");
        let mut dns = |name: &str| {
            assert_eq!(name, "ftp.example.com");
            vec![ip("203.0.113.9")]
        };
        assert!(l.matches(ip("203.0.113.9"), &mut dns));
        assert!(!l.matches(ip("203.0.113.10"), &mut dns));
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in [
            "10.0.0.256",
            "10.0.0.0/0",
            "10.0.0.0/33",
            "::1/129",
            "1.2.3.4/",
            "a b",
            "host/24",
            ",",
            "1.2.3.4,",
            "10.0.0.0/x",
        ] {
            assert!(IpList::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn allow_and_deny_combine_as_pure_ftpd_does() {
        let peer = ip("192.168.0.5");
        let empty = IpList::default();
        assert!(allowed(&empty, &empty, peer, &mut no_dns));
        assert!(!allowed(&empty, &list("192.168.0.5"), peer, &mut no_dns));
        assert!(allowed(&list("192.168.0.0/16"), &empty, peer, &mut no_dns));
        assert!(!allowed(&list("10.0.0.0/8"), &empty, peer, &mut no_dns));
        assert!(!allowed(
            &list("192.168.0.0/16"),
            &list("192.168.0.5"),
            peer,
            &mut no_dns
        ));
        assert!(allowed(
            &list("192.168.0.0/16"),
            &list("192.168.0.6"),
            peer,
            &mut no_dns
        ));
    }
}
