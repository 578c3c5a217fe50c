//! The engine over real loopback sockets: a control connection and a data connection
//! per test, the client's side driven from a thread. Whole transfers both ways, ASCII
//! conversion, urgent data in an upload, ABOR and QUIT mid-transfer (also while throttled), other commands
//! refused, the upload limit, a silent client, a lost control connection, a reader so
//! slow that `sendfile` (or, in ASCII, the user-space copy) keeps finding the socket
//! full, a reader that stops, and the throttle's rate.

use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Ended, Engine};
use crate::session::control::Control;
use crate::session::data::DataStream;

/// A connected pair: (server side, client side).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (server, client)
}

/// The server's ends (control, data) and the client's (control, data).
struct Wires {
    control: Control,
    data: DataStream,
    client_control: TcpStream,
    client_data: TcpStream,
}

fn wires() -> Wires {
    let (control, client_control) = pair();
    let (data, client_data) = pair();
    Wires {
        control: Control::new(control),
        data: DataStream::Plain(data),
        client_control,
        client_data,
    }
}

fn engine(control: &mut Control, binary: bool, rate: Option<u64>) -> Engine<'_> {
    Engine {
        control,
        scoreboard: None,
        idle: Duration::from_secs(20),
        binary,
        rate,
    }
}

fn temp_file(contents: &[u8]) -> std::fs::File {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(contents).unwrap();
    file.rewind().unwrap();
    file
}

fn file_contents(file: &mut std::fs::File) -> Vec<u8> {
    let mut contents = Vec::new();
    file.rewind().unwrap();
    file.read_to_end(&mut contents).unwrap();
    contents
}

/// Reads everything the server sends on `data`, `pause` after each of the first
/// `slow_reads` reads of 4 KiB.
fn read_all(mut data: TcpStream, slow_reads: usize, pause: Duration) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        for n in 0.. {
            let got = data.read(&mut buf).unwrap_or(0);
            if got == 0 {
                return received;
            }
            received.extend_from_slice(&buf[..got]);
            if n < slow_reads {
                std::thread::sleep(pause);
            }
        }
        unreachable!()
    })
}

#[test]
fn an_upload_arrives_whole_and_ascii_drops_carriage_returns() {
    for binary in [true, false] {
        let mut w = wires();
        let sent: Vec<u8> = b"line\r\n".repeat(100_000);
        let writer = {
            let (mut data, sent) = (w.client_data, sent.clone());
            std::thread::spawn(move || data.write_all(&sent).unwrap())
        };
        let mut file = tempfile::tempfile().unwrap();
        let ended = engine(&mut w.control, binary, None).receive_file(&mut file, &mut w.data, None);
        writer.join().unwrap();
        assert!(
            matches!(ended, Ended::Complete(n) if n == sent.len() as u64),
            "{ended:?}"
        );
        let expected = if binary {
            sent
        } else {
            b"line\n".repeat(100_000)
        };
        assert!(file_contents(&mut file) == expected, "binary: {binary}");
    }
}

/// `splice` stops at TCP urgent data and will not read past it: an upload with some in
/// the middle must neither spin nor stall, and the bytes around it must arrive (the
/// urgent byte itself is skipped, as a read skips it in Pure-FTPd's).
#[test]
fn urgent_data_in_an_upload_neither_stalls_it_nor_reaches_the_file() {
    use nix::sys::socket::{MsgFlags, send};
    use std::os::fd::AsRawFd;
    // A pause after the urgent byte: `splice` finds nothing there. None: the client has
    // closed by then, and `splice` takes the urgent mark for the end.
    for pause in [Duration::from_millis(100), Duration::ZERO] {
        let mut w = wires();
        let before: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let writer = {
            let (mut data, before) = (w.client_data, before.clone());
            std::thread::spawn(move || {
                data.write_all(&before).unwrap();
                send(data.as_raw_fd(), b"!", MsgFlags::MSG_OOB).unwrap();
                std::thread::sleep(pause);
                data.write_all(b"after").unwrap();
            })
        };
        let started = Instant::now();
        let mut file = tempfile::tempfile().unwrap();
        let ended = engine(&mut w.control, true, None).receive_file(&mut file, &mut w.data, None);
        writer.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        let expected = [before, b"after".to_vec()].concat();
        assert!(
            matches!(ended, Ended::Complete(n) if n == expected.len() as u64),
            "pause {pause:?}: {ended:?}"
        );
        assert!(file_contents(&mut file) == expected, "pause {pause:?}");
    }
}

#[test]
fn abor_and_quit_stop_an_upload_at_once() {
    for (command, quits) in [("ABOR", false), ("QUIT", true)] {
        let mut w = wires();
        // Some data, then the command, the data connection still open.
        w.client_data.write_all(&[7u8; 1000]).unwrap();
        let mut client_control = w.client_control.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            client_control
                .write_all(format!("{command}\r\n").as_bytes())
                .unwrap();
        });
        let started = Instant::now();
        let mut file = tempfile::tempfile().unwrap();
        let ended = engine(&mut w.control, true, None).receive_file(&mut file, &mut w.data, None);
        sender.join().unwrap();
        // (On a loaded machine the command may be seen before the data.)
        assert!(
            matches!(ended, Ended::Aborted { bytes: 0 | 1000, quit } if quit == quits),
            "{command}: {ended:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{command}");
        drop(w.client_data);
    }
}

#[test]
fn other_commands_are_refused_while_a_transfer_runs() {
    let mut w = wires();
    w.client_control.write_all(b"NOOP\r\n").unwrap();
    let mut client_data = w.client_data;
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        client_data.write_all(b"payload").unwrap();
    });
    let mut file = tempfile::tempfile().unwrap();
    let ended = engine(&mut w.control, true, None).receive_file(&mut file, &mut w.data, None);
    writer.join().unwrap();
    assert!(matches!(ended, Ended::Complete(7)), "{ended:?}");
    let mut reply = String::new();
    BufReader::new(&w.client_control)
        .read_line(&mut reply)
        .unwrap();
    assert!(reply.starts_with("500 "), "{reply:?}");
    assert_eq!(file_contents(&mut file), b"payload");
}

#[test]
fn nothing_beyond_the_upload_limit_reaches_the_file() {
    let mut w = wires();
    let writer = {
        let mut data = w.client_data;
        std::thread::spawn(move || {
            let _ = data.write_all(&[1u8; 5000]);
        })
    };
    // The limit falls inside what one read takes in: that read is not written.
    let mut file = tempfile::tempfile().unwrap();
    let ended = engine(&mut w.control, true, None).receive_file(&mut file, &mut w.data, Some(1000));
    writer.join().unwrap();
    assert!(matches!(ended, Ended::OverQuota), "{ended:?}");
    assert!(file_contents(&mut file).len() <= 1000);
}

#[test]
fn a_silent_client_times_out_and_a_lost_control_connection_ends_it() {
    let mut w = wires();
    let mut engine_ = engine(&mut w.control, true, None);
    engine_.idle = Duration::from_millis(300);
    let mut file = tempfile::tempfile().unwrap();
    let started = Instant::now();
    let ended = engine_.receive_file(&mut file, &mut w.data, None);
    assert!(matches!(ended, Ended::TimedOut), "{ended:?}");
    // (poll counts whole milliseconds.)
    assert!(started.elapsed() >= Duration::from_millis(250));

    let mut w = wires();
    drop(w.client_control);
    let ended = engine(&mut w.control, true, None).receive_file(&mut file, &mut w.data, None);
    assert!(matches!(ended, Ended::ControlLost), "{ended:?}");
}

#[test]
fn a_download_reaches_a_slow_reader_whole() {
    let contents: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let file = temp_file(&contents);
    let mut w = wires();
    // The socket fills up again and again: sendfile meets EAGAIN and short writes.
    let reader = read_all(w.client_data, 200, Duration::from_millis(2));
    let ended =
        engine(&mut w.control, true, None).send_file(&file, &mut w.data, 0, contents.len() as u64);
    drop(w.data);
    assert!(
        matches!(ended, Ended::Complete(n) if n == contents.len() as u64),
        "{ended:?}"
    );
    assert!(reader.join().unwrap() == contents);
}

/// Small kernel buffers on both sides of the data connection, and the session's send
/// timeout: every write of the user-space path meets a full socket.
fn narrow(w: &Wires, send_timeout: Duration) {
    let DataStream::Plain(server) = &w.data else {
        unreachable!("wires() makes a clear data connection")
    };
    socket2::SockRef::from(server)
        .set_send_buffer_size(32 * 1024)
        .unwrap();
    socket2::SockRef::from(&w.client_data)
        .set_recv_buffer_size(32 * 1024)
        .unwrap();
    server.set_write_timeout(Some(send_timeout)).unwrap();
}

#[test]
fn an_ascii_download_through_user_space_reaches_a_slow_reader_whole() {
    let contents = b"0123456789abcdef\n".repeat(40_000);
    let converted = b"0123456789abcdef\r\n".repeat(40_000);
    let file = temp_file(&contents);
    let mut w = wires();
    narrow(&w, Duration::from_secs(10));
    let reader = read_all(
        w.client_data.try_clone().unwrap(),
        300,
        Duration::from_millis(1),
    );
    let ended =
        engine(&mut w.control, false, None).send_file(&file, &mut w.data, 0, contents.len() as u64);
    drop(w.data);
    drop(w.client_data);
    assert!(
        matches!(ended, Ended::Complete(n) if n == converted.len() as u64),
        "{ended:?}"
    );
    assert!(reader.join().unwrap() == converted);
}

#[test]
fn a_reader_that_stops_ends_a_user_space_download_at_the_send_timeout() {
    let file = temp_file(&b"line\n".repeat(1_000_000));
    let mut w = wires();
    narrow(&w, Duration::from_millis(300));
    // The client reads nothing at all, and keeps the connection open.
    let started = Instant::now();
    let ended = engine(&mut w.control, false, None).send_file(&file, &mut w.data, 0, 5_000_000);
    assert!(matches!(ended, Ended::TimedOut), "{ended:?}");
    // One timeout per write that finds the socket full; a few at most, not for ever.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(w.client_data);
}

#[test]
fn a_download_from_an_offset_and_in_ascii() {
    let file = temp_file(b"one\ntwo\nthree\n");
    let mut w = wires();
    let reader = read_all(w.client_data, 0, Duration::ZERO);
    let ended = engine(&mut w.control, false, None).send_file(&file, &mut w.data, 4, 10);
    drop(w.data);
    // "two\nthree\n" becomes "two\r\nthree\r\n": the count is of bytes sent.
    assert!(matches!(ended, Ended::Complete(12)), "{ended:?}");
    assert_eq!(reader.join().unwrap(), b"two\r\nthree\r\n");
}

#[test]
fn a_listing_is_sent_whole() {
    let listing = b"a.txt\r\nb.txt\r\n".repeat(200_000);
    let mut w = wires();
    let reader = read_all(w.client_data, 0, Duration::ZERO);
    let ended = engine(&mut w.control, true, None).send_bytes(&mut w.data, &listing);
    drop(w.data);
    assert!(
        matches!(ended, Ended::Complete(n) if n == listing.len() as u64),
        "{ended:?}"
    );
    assert!(reader.join().unwrap() == listing);
}

#[test]
fn a_throttled_download_keeps_to_its_rate_and_still_hears_abor() {
    // 300 KB at 1 MB/s cannot take less than about 0.3 s (the first step is free).
    let contents = vec![5u8; 300_000];
    let file = temp_file(&contents);
    let mut w = wires();
    let reader = read_all(w.client_data, 0, Duration::ZERO);
    let started = Instant::now();
    let ended = engine(&mut w.control, true, Some(1_000_000)).send_file(
        &file,
        &mut w.data,
        0,
        contents.len() as u64,
    );
    drop(w.data);
    assert!(matches!(ended, Ended::Complete(300_000)), "{ended:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(reader.join().unwrap().len(), contents.len());

    // At 10 KB/s, 1 MB would take 100 s: ABOR ends it at once.
    let file = temp_file(&vec![5u8; 1_000_000]);
    let mut w = wires();
    let reader = read_all(w.client_data, 0, Duration::ZERO);
    let mut client_control = w.client_control.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        client_control.write_all(b"ABOR\r\n").unwrap();
    });
    let started = Instant::now();
    let ended =
        engine(&mut w.control, true, Some(10_000)).send_file(&file, &mut w.data, 0, 1_000_000);
    drop(w.data);
    sender.join().unwrap();
    assert!(
        matches!(ended, Ended::Aborted { quit: false, bytes } if bytes < 1_000_000),
        "{ended:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(reader.join().unwrap().len() < 1_000_000);
}
