//! Per-account restrictions from the `.pdb` (spec §2 fields 11, 14-18): client and
//! local address lists (CIDR; a malformed list fails closed), the time-of-day window
//! and the most concurrent sessions.

mod common;

use common::*;
use pureftpd_account::Password;
use pureftpd_account::password::{HashPolicy, create};

/// A site whose `.pdb` holds `login` (password `pw`) with the fields after the home
/// (7 to 18) given as they would stand in pureftpd.passwd.
fn account_with(fields_7_to_18: &str) -> (Site, Server) {
    let site = site_with(fields_7_to_18);
    let server = site.ours(&[]);
    (site, server)
}

/// The site of [`account_with`], without a server.
fn site_with(fields_7_to_18: &str) -> Site {
    let site = Site::new();
    let hash = create(&Password::from("pw"), &HashPolicy::DEFAULT).unwrap();
    let value = format!(
        "{hash}:{}:{}::{}/./:{fields_7_to_18}",
        site.uid,
        site.gid,
        site.home.display()
    );
    let mut builder = puredb::Builder::new();
    builder.add(b"limited", value.as_bytes()).unwrap();
    builder.write_file(&site.pdb).unwrap();
    site
}

fn login_code(port: u16) -> u16 {
    let (mut ftp, _) = Ftp::connect(port);
    ftp.cmd("USER limited");
    ftp.cmd("PASS pw").code
}

/// Fields 7-18 with only the four IP lists (14-17) set.
fn ip_fields(allow_local: &str, deny_local: &str, allow_client: &str, deny_client: &str) -> String {
    format!(":::::::{allow_local}:{deny_local}:{allow_client}:{deny_client}:")
}

#[test]
fn client_address_lists() {
    let (_site, server) = account_with(&ip_fields("", "", "10.0.0.0/8,127.0.0.0/8", ""));
    assert_eq!(login_code(server.port), 230);
    let (_site, server) = account_with(&ip_fields("", "", "10.0.0.0/8", ""));
    assert_eq!(login_code(server.port), 530);
    let (_site, server) = account_with(&ip_fields("", "", "", "192.168.0.1,127.0.0.1/32"));
    assert_eq!(login_code(server.port), 530);
}

/// The login reply code of `limited` over IPv6, on our server listening on ::1 only.
fn ipv6_login_code(fields_7_to_18: &str) -> u16 {
    let site = site_with(fields_7_to_18);
    let server = site.start_on("::1", std::path::Path::new(OURS), &[]);
    let address = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, server.port));
    let (mut ftp, _) = Ftp::connect_to(address);
    ftp.cmd("USER limited");
    ftp.cmd("PASS pw").code
}

/// The passwd format separates fields with colons, so IPv6 literals cannot be stored
/// in a list (they are matched when they come from elsewhere: see the account crate's
/// tests); what an IPv6 session meets in a file is IPv4 entries and names.
#[test]
fn ipv6_sessions_and_ipv4_lists() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("SKIP: no IPv6 loopback on this machine");
        return;
    }
    // An IPv6 client is never inside an IPv4 network: refused by an allow list...
    assert_eq!(ipv6_login_code(&ip_fields("", "", "127.0.0.0/8", "")), 530);
    assert_eq!(ipv6_login_code(&ip_fields("127.0.0.1", "", "", "")), 530);
    // ...and not caught by a deny list.
    assert_eq!(ipv6_login_code(&ip_fields("", "", "", "127.0.0.0/8")), 230);
    assert_eq!(ipv6_login_code(&ip_fields("", "0.0.0.0/1", "", "")), 230);
    // A malformed list fails closed for IPv6 sessions too.
    assert_eq!(ipv6_login_code(&ip_fields("", "", "", "127.0.0.1/0")), 530);
    assert_eq!(ipv6_login_code(&ip_fields("", "", "", "")), 230);
}

#[test]
fn local_address_lists() {
    let (_site, server) = account_with(&ip_fields("127.0.0.1", "", "", ""));
    assert_eq!(login_code(server.port), 230);
    let (_site, server) = account_with(&ip_fields("", "127.0.0.0/24", "", ""));
    assert_eq!(login_code(server.port), 530);
}

#[test]
fn a_malformed_list_fails_closed() {
    let (_site, server) = account_with(&ip_fields("", "", "127.0.0.1/99", ""));
    assert_eq!(login_code(server.port), 530);
    let (_site, server) = account_with(&ip_fields("", "", "", "not-an-address!"));
    assert_eq!(login_code(server.port), 530);
}

/// Bandwidth and ratio fields that make no sense (pure-pw refuses to write them; another
/// tool might): the account cannot log in rather than get no limit, and the server
/// goes on serving (the same record with sane values logs in).
#[test]
fn senseless_bandwidth_or_ratio_fields_refuse_the_login() {
    // Fields 7-10: upload and download bandwidth (KB/s), upload and download ratio.
    for fields in [
        "fast:::::::::::",
        ":-5::::::::::",
        "::x:::::::::",
        ":::1.5::::::::",
    ] {
        let (_site, server) = account_with(fields);
        assert_eq!(login_code(server.port), 530, "{fields}");
        assert_eq!(Ftp::connect(server.port).1.code, 220, "still serving");
    }
    let (_site, server) = account_with("100:200:1:3::::::::");
    assert_eq!(login_code(server.port), 230);
}

#[test]
fn the_time_window_is_local_time() {
    let now = jiff::Zoned::now();
    let hhmm = |hour: i64| format!("{:02}{:02}", hour.rem_euclid(24), now.minute());
    let hour = i64::from(now.hour());
    // A window around now (it may wrap past midnight), and one that excludes now.
    let inside = format!(":::::::::::{}-{}", hhmm(hour - 1), hhmm(hour + 1));
    let (_site, server) = account_with(&inside);
    assert_eq!(login_code(server.port), 230);
    let outside = format!(":::::::::::{}-{}", hhmm(hour + 2), hhmm(hour + 3));
    let (_site, server) = account_with(&outside);
    assert_eq!(login_code(server.port), 530);
}

#[test]
fn most_concurrent_sessions_of_the_account() {
    let (_site, server) = account_with("::::1:::::::");
    let (mut first, _) = Ftp::connect(server.port);
    first.cmd("USER limited");
    assert_eq!(first.cmd("PASS pw").code, 230);
    let (mut second, _) = Ftp::connect(server.port);
    second.cmd("USER limited");
    let refused = second.cmd("PASS pw");
    assert_eq!(refused.code, 421, "{refused:?}");
    drop(first);
}
