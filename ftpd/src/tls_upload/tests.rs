//! Uploads through rustls' unbuffered API against rustls' client over loopback TCP:
//! every suite the server offers in TLS 1.2 and 1.3, key updates, clean and unclean
//! ends, tampering, and a client that sends all of its upload before the server reads.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::crypto::ring::{cipher_suite as suite, default_provider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, SupportedCipherSuite};

use super::UploadStream;

/// A self-signed certificate for "localhost" (made by the openssl command).
fn certificate() -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        // A leaf, not a CA: webpki refuses a CA certificate as the server's own.
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(dir.path().join("key.pem"))
        .arg("-out")
        .arg(dir.path().join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the openssl command (apt-get install openssl)");
    assert!(status.success());
    let certs = CertificateDer::pem_file_iter(dir.path().join("cert.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.path().join("key.pem")).unwrap();
    (certs, key)
}

fn configs(suite: SupportedCipherSuite) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let (certs, key) = certificate();
    let mut provider = default_provider();
    provider.cipher_suites = vec![suite];
    let provider = Arc::new(provider);
    let mut server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs.clone(), key)
        .unwrap();
    server.send_tls13_tickets = 0;
    let mut roots = RootCertStore::empty();
    roots.add(certs[0].clone()).unwrap();
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

/// What the client does once connected.
type Client = Box<dyn FnOnce(&mut ClientConnection, &mut TcpStream) + Send>;

/// Runs `client` in a thread against an accepted [`UploadStream`]; returns the stream
/// and the client's thread.
fn connect(
    suite: SupportedCipherSuite,
    client: Client,
) -> (std::io::Result<UploadStream>, JoinHandle<()>) {
    connect_fragmenting(suite, None, client)
}

/// As [`connect`], the client cutting its records at `fragment` bytes of content.
fn connect_fragmenting(
    suite: SupportedCipherSuite,
    fragment: Option<usize>,
    client: Client,
) -> (std::io::Result<UploadStream>, JoinHandle<()>) {
    let (server_config, client_config) = configs(suite);
    let mut client_config = Arc::unwrap_or_clone(client_config);
    client_config.max_fragment_size = fragment;
    let client_config = Arc::new(client_config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut tcp = TcpStream::connect(address).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut conn = ClientConnection::new(client_config, name).unwrap();
        while conn.is_handshaking() {
            if conn.complete_io(&mut tcp).is_err() {
                return;
            }
        }
        client(&mut conn, &mut tcp);
    });
    let (sock, _) = listener.accept().unwrap();
    let stream = UploadStream::accept(server_config, sock, Duration::from_secs(10));
    (stream, thread)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Writes `data` in uneven pieces, then close_notify, then waits for the server's.
fn upload(data: Vec<u8>, key_update_at: Option<usize>) -> Client {
    Box::new(move |conn, tcp| {
        let mut sent = 0;
        let mut piece = 1;
        while sent < data.len() {
            if key_update_at.is_some_and(|at| sent >= at && sent - piece < at) {
                conn.refresh_traffic_keys().unwrap();
            }
            let n = piece.min(data.len() - sent);
            rustls::Stream::new(&mut *conn, &mut *tcp)
                .write_all(&data[sent..sent + n])
                .unwrap();
            sent += n;
            piece = (piece * 3 + 1) % 70_000 + 1;
        }
        conn.send_close_notify();
        while conn.wants_write() {
            conn.write_tls(tcp).unwrap();
        }
        // The server's close_notify ends it cleanly.
        let mut rest = Vec::new();
        let mut stream = rustls::Stream::new(conn, tcp);
        stream.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    })
}

fn receive_all(stream: &mut UploadStream) -> std::io::Result<Vec<u8>> {
    let mut received = Vec::new();
    let mut buf = vec![0u8; 512 * 1024];
    loop {
        match stream.read(&mut buf)? {
            0 => return Ok(received),
            n => received.extend_from_slice(&buf[..n]),
        }
    }
}

const EVERY_SUITE: [SupportedCipherSuite; 6] = [
    suite::TLS13_AES_128_GCM_SHA256,
    suite::TLS13_AES_256_GCM_SHA384,
    suite::TLS13_CHACHA20_POLY1305_SHA256,
    suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
];

#[test]
fn uploads_arrive_whole_with_every_suite() {
    for suite in EVERY_SUITE {
        let data = pattern(3 * 1024 * 1024 + 17);
        let (stream, client) = connect(suite, upload(data.clone(), None));
        let mut stream = stream.unwrap();
        let received = receive_all(&mut stream).unwrap();
        assert!(received == data, "{suite:?}: {} bytes", received.len());
        stream.close_notify().unwrap();
        client.join().unwrap();
    }
}

#[test]
fn a_key_update_from_the_client_is_followed() {
    let data = pattern(1024 * 1024);
    let (stream, client) = connect(
        suite::TLS13_AES_128_GCM_SHA256,
        upload(data.clone(), Some(300_000)),
    );
    let mut stream = stream.unwrap();
    assert!(receive_all(&mut stream).unwrap() == data);
    stream.close_notify().unwrap();
    client.join().unwrap();
}

#[test]
fn an_empty_upload_is_just_close_notify() {
    for suite in [EVERY_SUITE[0], EVERY_SUITE[3]] {
        let (stream, client) = connect(suite, upload(Vec::new(), None));
        let mut stream = stream.unwrap();
        assert!(receive_all(&mut stream).unwrap().is_empty());
        stream.close_notify().unwrap();
        client.join().unwrap();
    }
}

#[test]
fn tcp_ending_without_close_notify_is_an_unexpected_eof() {
    let client: Client = Box::new(|conn, tcp| {
        conn.writer().write_all(b"partial").unwrap();
        while conn.wants_write() {
            conn.write_tls(tcp).unwrap();
        }
        tcp.shutdown(std::net::Shutdown::Both).unwrap();
    });
    let (stream, client) = connect(EVERY_SUITE[0], client);
    let mut stream = stream.unwrap();
    let mut buf = vec![0u8; 1024];
    let mut got = Vec::new();
    let error = loop {
        match stream.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(got, b"partial");
    assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
    client.join().unwrap();
}

#[test]
fn forged_records_and_garbage_handshakes_are_refused() {
    for suite in [EVERY_SUITE[1], EVERY_SUITE[4]] {
        let client: Client = Box::new(|_, tcp| {
            // An application-data record the client's keys did not protect.
            let mut forged = vec![23, 3, 3, 0, 40];
            forged.extend_from_slice(&[0x55; 40]);
            tcp.write_all(&forged).unwrap();
            std::thread::sleep(Duration::from_millis(200));
        });
        let (stream, client) = connect(suite, client);
        let mut stream = stream.unwrap();
        let error = receive_all(&mut stream).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{suite:?}");
        client.join().unwrap();
    }
    // Not TLS at all.
    let (server_config, _) = configs(EVERY_SUITE[0]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut tcp = TcpStream::connect(address).unwrap();
        tcp.write_all(b"USER anonymous\r\n\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(200));
    });
    let (sock, _) = listener.accept().unwrap();
    assert!(UploadStream::accept(server_config, sock, Duration::from_secs(5)).is_err());
    thread.join().unwrap();
}

#[test]
fn an_upload_already_received_is_seen_as_buffered() {
    // The whole upload and close_notify arrive before the server looks: `poll` on the
    // socket would show nothing once the first read took it all in.
    let data = pattern(100 * 1024);
    let (stream, client) = connect(EVERY_SUITE[0], upload(data.clone(), None));
    let mut stream = stream.unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut received = Vec::new();
    let mut buf = vec![0u8; 7000];
    while stream.buffered() || received.is_empty() {
        match stream.read(&mut buf).unwrap() {
            0 => break,
            n => received.extend_from_slice(&buf[..n]),
        }
    }
    assert!(received == data, "{} bytes", received.len());
    assert!(stream.buffered(), "close_notify is here and must be seen");
    assert_eq!(stream.read(&mut buf).unwrap(), 0);
    stream.close_notify().unwrap();
    client.join().unwrap();
}

#[test]
fn handshake_messages_that_span_records_and_data_right_behind_them() {
    // 64-byte records: the ClientHello spans several, and the upload's first records
    // come with the client's last handshake record. How the records arrive depends on
    // the kernel's timing, and one arrival order in twenty once made rustls panic
    // (shown fewer bytes than it had joined): 20 rounds per suite.
    for suite in [EVERY_SUITE[0], EVERY_SUITE[3]].repeat(20) {
        let data = pattern(64 * 1024);
        let (stream, client) = connect_fragmenting(suite, Some(64), upload(data.clone(), None));
        let mut stream = stream.unwrap();
        assert!(receive_all(&mut stream).unwrap() == data, "{suite:?}");
        stream.close_notify().unwrap();
        client.join().unwrap();
    }
}

#[test]
fn a_forged_record_right_behind_the_handshake_is_the_uploads_error() {
    // In TLS 1.3 it travels in the same write as the client's Finished: the handshake
    // still succeeds, and the read fails.
    for suite in [EVERY_SUITE[1], EVERY_SUITE[4]] {
        let (server_config, client_config) = configs(suite);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut forged = vec![23, 3, 3, 0, 40];
            forged.extend_from_slice(&[0x55; 40]);
            let mut tcp = TcpStream::connect(address).unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let mut conn = ClientConnection::new(client_config, name).unwrap();
            let mut forged_sent = false;
            loop {
                let mut out = Vec::new();
                while conn.wants_write() {
                    conn.write_tls(&mut out).unwrap();
                }
                if !conn.is_handshaking() && !forged_sent {
                    out.extend_from_slice(&forged);
                    forged_sent = true;
                }
                tcp.write_all(&out).unwrap();
                if forged_sent {
                    break;
                }
                conn.read_tls(&mut tcp).unwrap();
                conn.process_new_packets().unwrap();
            }
            std::thread::sleep(Duration::from_millis(200));
        });
        let (sock, _) = listener.accept().unwrap();
        let mut stream = UploadStream::accept(server_config, sock, Duration::from_secs(10))
            .expect("the handshake itself was sound");
        let error = receive_all(&mut stream).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{suite:?}");
        client.join().unwrap();
    }
}
