//! The test harness's own promises, where a broken one makes other tests fail now and
//! then rather than every time: ports.
//!
//! A port free when a test chooses it can be taken before the server it is for binds
//! it, because the FTP servers under test open passive data ports anywhere in
//! 1024-65535 on 127.0.0.1 (Pure-FTPd's default range) while other tests run. One did
//! take a database relay's port in a CI run. Here the port is taken on purpose, the way
//! a passive listener takes it (a listener with SO_REUSEADDR on 127.0.0.1), and the
//! database servers and the relay must still come up.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::dbservers::{MariaDb, Postgres, Slapd};
use common::relay::Relay;

/// A listener on 127.0.0.1 and a port that was free, as a server's passive data
/// connection holds one.
fn a_passive_listener() -> TcpListener {
    TcpListener::bind((Ipv4Addr::LOCALHOST, pureftpd_tests::free_port())).unwrap()
}

fn port_of(listener: &TcpListener) -> u16 {
    listener.local_addr().unwrap().port()
}

fn answers_on(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_secs(5)).is_ok()
}

#[test]
fn a_database_server_whose_port_was_taken_starts_on_another() {
    let taken = a_passive_listener();
    let Some(mariadb) = MariaDb::start(Some(port_of(&taken))) else {
        return;
    };
    assert_ne!(mariadb.port, port_of(&taken));
    assert!(answers_on(mariadb.port));
    assert_eq!(mariadb.sql("", "SELECT 6 * 7").trim(), "42");

    let Some(postgres) = Postgres::start(Some(port_of(&taken))) else {
        return;
    };
    assert_ne!(postgres.port, port_of(&taken));
    assert!(answers_on(postgres.port));
    assert_eq!(postgres.sql("postgres", "SELECT 6 * 7").trim(), "42");
}

#[test]
fn a_directory_server_whose_port_was_taken_starts_on_another() {
    let taken = a_passive_listener();
    let Some(slapd) = Slapd::start(Some(port_of(&taken))) else {
        return;
    };
    assert_ne!(slapd.port, port_of(&taken));
    assert!(answers_on(slapd.port));
    assert!(answers_on(slapd.tls_port));
}

/// While a relay is down its port number is free on 127.0.0.1; a passive listener that
/// takes it there does not keep the relay from coming back, and clients reach the target
/// through it again.
#[test]
fn a_relay_comes_back_on_its_port_though_the_number_was_taken_meanwhile() {
    let target = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let target_address = target.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in target.incoming().flatten() {
            let _ = stream.write_all(b"target\n");
        }
    });
    let mut relay = Relay::to(target_address);
    let through = |port: u16| {
        let mut stream = TcpStream::connect((Relay::HOST, port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut said = String::new();
        stream.read_to_string(&mut said)?;
        Ok::<_, std::io::Error>(said)
    };
    assert_eq!(through(relay.port).unwrap(), "target\n");
    relay.down();
    assert!(through(relay.port).is_err(), "refused while down");
    let _passive = TcpListener::bind((Ipv4Addr::LOCALHOST, relay.port)).unwrap();
    relay.up();
    assert_eq!(through(relay.port).unwrap(), "target\n");
}
