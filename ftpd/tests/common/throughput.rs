//! Measured transfer rates, for the bandwidth limits: a download's rate and its largest
//! half-second burst, an upload's rate, and a retry that tolerates a loaded machine.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::Ftp;

/// Downloads `name` and returns (bytes per second, the largest count received in any
/// half second).
pub fn timed_download(port: u16, user: &str, password: &str, name: &str) -> (f64, usize) {
    let mut ftp = Ftp::login(port, user, password);
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    let mut data = TcpStream::connect(address).unwrap();
    let reply = ftp.cmd(&format!("RETR {name}"));
    assert_eq!(reply.code, 150, "{reply:?}");
    let started = Instant::now();
    let mut window_start = started;
    let (mut total, mut window, mut worst) = (0usize, 0usize, 0usize);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = data.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
        window += n;
        if window_start.elapsed() >= Duration::from_millis(500) {
            worst = worst.max(window);
            window = 0;
            window_start = Instant::now();
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(ftp.reply().code, 226);
    (total as f64 / elapsed, worst)
}

/// Uploads `size` bytes as fast as the server takes them; returns bytes per second.
pub fn timed_upload(port: u16, user: &str, password: &str, size: usize) -> f64 {
    let mut ftp = Ftp::login(port, user, password);
    ftp.cmd("TYPE I");
    let address = ftp.pasv();
    let mut data = TcpStream::connect(address).unwrap();
    let reply = ftp.cmd("STOR paced.bin");
    assert_eq!(reply.code, 150, "{reply:?}");
    let started = Instant::now();
    data.write_all(&vec![b'u'; size]).unwrap();
    data.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    let _ = data.read_to_end(&mut rest);
    let last = ftp.reply();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(last.code, 226, "{last:?}");
    size as f64 / elapsed
}

/// Runs `measure` up to three times until it lands within ±20% of `wanted`: a loaded
/// machine can slow one run, never speed it up past the limit.
pub fn within_20_percent(wanted: f64, mut measure: impl FnMut() -> f64) -> f64 {
    let mut last = 0.0;
    for _ in 0..3 {
        last = measure();
        if (last - wanted).abs() <= wanted * 0.2 {
            return last;
        }
        assert!(
            last <= wanted * 1.2,
            "{last:.0} B/s is over the limit of {wanted:.0}"
        );
    }
    panic!("{last:.0} B/s, wanted {wanted:.0} ±20%");
}

/// Measures an account limited to `down`/`up` KB/s (its own limits, under a server
/// `-T` above them): `file` downloaded and 512 KiB uploaded, each within ±20% of its
/// limit. Returns the rates in KB/s.
pub fn account_limits_hold(
    port: u16,
    (user, password): (&str, &str),
    file: &str,
    (down, up): (f64, f64),
) -> (f64, f64) {
    let down = within_20_percent(down * 1024.0, || {
        timed_download(port, user, password, file).0
    });
    let up = within_20_percent(up * 1024.0, || {
        timed_upload(port, user, password, 512 * 1024)
    });
    (down / 1024.0, up / 1024.0)
}
