//! Measurements for `scripts/bench-server.sh`. Every mode prints one line.
//!
//! ```text
//! ftpbench sendfile <file>                       bare sendfile over loopback, MB/s
//! ftpbench retr <port> <user> <pass> <path>      one binary RETR, MB/s
//! ftpbench stor <port> <user> <pass> <path> <MiB> one binary STOR from memory, MB/s
//! ftpbench logins <port> <user> <pass> <clients> <seconds>   full logins per second
//! ftpbench login-latency <port> <user> <pass> <clients> <seconds>
//!                                                logins per second, then the p50 and p99
//!                                                of one login (connect to 230), in ms
//! ftpbench ftps-logins <port> <user> <pass> <clients> <seconds>
//!                                                logins per second under AUTH TLS (full
//!                                                handshakes) + PBSZ/PROT, then QUIT
//! ftpbench noop <port> <user> <pass> <clear|tls> <count>  NOOP round trips on one
//!                                                logged-in session: p50 and p99, in µs
//! ftpbench idle <port> <user> <pass> <sessions>  hold logged-in sessions until stdin closes
//! ftpbench burst <port> <user> <pass> <clients>  that many logins at the same moment, seconds
//!                                                until the last 230
//! ftpbench list <port> <user> <pass> <dir>       one LIST, seconds and lines
//! ftpbench nlst|mlsd <port> <user> <pass> <dir>  the same with NLST or MLSD
//! ftpbench ftps-retr <port> <user> <pass> <path>  RETR under AUTH TLS + PROT P, MB/s
//! ftpbench ftps-stor <port> <user> <pass> <path> <MiB>  STOR under AUTH TLS + PROT P, MB/s
//! ftpbench handshakes <port> <clients> <seconds>  AUTH TLS handshakes (then QUIT) per second
//! ftpbench resumed-handshakes <port> <clients> <seconds>  the same, each resuming a session
//!                                                an earlier connection got
//! ```
//!
//! The FTPS modes use rustls (TLS 1.3, the server's choice of suite) and resume the control
//! session on data connections, as FileZilla does; the suite used goes to stderr.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ftpd::tls_stream::TlsStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A connection in the clear or under TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

impl Stream {
    fn secure(tcp: TcpStream, tls: &Arc<ClientConfig>) -> Result<Self> {
        let name = ServerName::try_from("localhost")?;
        let mut conn = ClientConnection::new(Arc::clone(tls), name)?;
        let mut tcp = tcp;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)?;
        }
        // The server's own bulk stream, so that the client costs as little as it can.
        Ok(Self::Tls(Box::new(TlsStream::new(conn, tcp))))
    }

    /// Ends the stream as a client should: close_notify, then the TCP write side.
    fn close(self) -> Result<()> {
        match self {
            Self::Plain(tcp) => tcp.shutdown(Shutdown::Write)?,
            Self::Tls(mut tls) => {
                tls.close_notify()?;
                tls.socket().shutdown(Shutdown::Write)?;
                // Wait for the server's end, so that the upload is complete on its side.
                let mut sink = [0u8; 4096];
                while matches!(tls.read(&mut sink), Ok(n) if n > 0) {}
            }
        }
        Ok(())
    }

    fn suite(&self) -> String {
        match self {
            Self::Plain(_) => "none".to_string(),
            Self::Tls(tls) => format!(
                "{:?} {:?}",
                tls.connection().protocol_version(),
                tls.connection()
                    .negotiated_cipher_suite()
                    .map(|s| s.suite())
            ),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            // A server that closes TCP without close_notify has still sent everything.
            Self::Tls(s) => match s.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}

/// Benchmarks talk to a self-signed test certificate on loopback: any certificate is
/// accepted, signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn client_config() -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3 is supported")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

struct Control {
    stream: BufReader<Stream>,
    tls: Option<Arc<ClientConfig>>,
}

impl Control {
    fn connect(port: u16) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        let mut control = Self {
            stream: BufReader::new(Stream::Plain(stream)),
            tls: None,
        };
        control.reply()?;
        Ok(control)
    }

    /// AUTH TLS and the handshake on the control connection.
    fn secure(&mut self, tls: &Arc<ClientConfig>) -> Result<()> {
        let (code, text) = self.cmd("AUTH TLS")?;
        if code != 234 {
            return Err(format!("AUTH TLS refused: {text}").into());
        }
        // The 234 was the last thing sent in the clear: nothing is left in the buffer.
        let Stream::Plain(tcp) = self.stream.get_ref() else {
            return Err("already secured".into());
        };
        let tcp = tcp.try_clone()?;
        self.stream = BufReader::new(Stream::secure(tcp, tls)?);
        self.tls = Some(Arc::clone(tls));
        Ok(())
    }

    /// Whether the TLS handshake resumed an earlier session.
    fn resumed(&self) -> bool {
        matches!(
            self.stream.get_ref(),
            Stream::Tls(tls) if tls.connection().handshake_kind() == Some(rustls::HandshakeKind::Resumed)
        )
    }

    fn send(&mut self, line: &str) -> Result<()> {
        let stream = self.stream.get_mut();
        stream.write_all(format!("{line}\r\n").as_bytes())?;
        stream.flush()?;
        Ok(())
    }

    fn reply(&mut self) -> Result<(u16, String)> {
        loop {
            let mut line = String::new();
            if self.stream.read_line(&mut line)? == 0 {
                return Err("connection closed".into());
            }
            let b = line.as_bytes();
            if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' {
                return Ok((line[..3].parse()?, line));
            }
        }
    }

    fn cmd(&mut self, line: &str) -> Result<(u16, String)> {
        self.send(line)?;
        self.reply()
    }

    fn login(port: u16, user: &str, pass: &str) -> Result<Self> {
        Self::login_with(port, user, pass, None)
    }

    /// Logs in, over TLS with data protection when `tls` is given.
    fn login_with(
        port: u16,
        user: &str,
        pass: &str,
        tls: Option<&Arc<ClientConfig>>,
    ) -> Result<Self> {
        let mut c = Self::connect(port)?;
        if let Some(tls) = tls {
            c.secure(tls)?;
            c.cmd("PBSZ 0")?;
            c.cmd("PROT P")?;
        }
        c.cmd(&format!("USER {user}"))?;
        let (code, text) = c.cmd(&format!("PASS {pass}"))?;
        if code != 230 {
            return Err(format!("login failed: {text}").into());
        }
        Ok(c)
    }

    fn pasv(&mut self) -> Result<SocketAddr> {
        let (_, text) = self.cmd("PASV")?;
        let inner = &text[text.find('(').ok_or("no (")? + 1..text.find(')').ok_or("no )")?];
        let n: Vec<u16> = inner
            .split(',')
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()?;
        Ok(SocketAddr::from((
            [n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8],
            n[4] * 256 + n[5],
        )))
    }
}

/// Reads a stream to its end with a large buffer; returns the byte count.
fn drain(mut stream: impl Read) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// A copy of `config` with an empty session cache, so that its handshakes are full ones.
fn client_config_like(config: &Arc<ClientConfig>) -> Arc<ClientConfig> {
    let mut fresh = (**config).clone();
    fresh.resumption = rustls::client::Resumption::disabled();
    Arc::new(fresh)
}

/// AUTH TLS (then QUIT) from `clients` clients for `seconds`: handshakes per second.
/// Full ones (no client cache), or, with `resumed`, ones that resume a session an earlier
/// connection got: each connection is a new session process on the server, so only
/// server-wide ticket keys let these resume; a handshake that did not resume stops the
/// measurement with an error.
fn handshakes(port: u16, clients: usize, seconds: u64, resumed: bool) -> Result<f64> {
    let tls = client_config();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            // Each client its own cache of tickets (rustls uses a TLS 1.3 ticket once).
            // A clone of the configuration would share the cache: another client's
            // first connection could then take the tickets this one is about to use.
            let tls = if resumed {
                let mut own = (*tls).clone();
                own.resumption = rustls::client::Resumption::in_memory_sessions(32);
                Arc::new(own)
            } else {
                client_config_like(&tls)
            };
            std::thread::spawn(move || -> std::result::Result<u64, String> {
                if resumed {
                    let mut first = Control::connect(port).map_err(|e| e.to_string())?;
                    first.secure(&tls).map_err(|e| e.to_string())?;
                    first.cmd("QUIT").map_err(|e| e.to_string())?;
                }
                let mut done = 0u64;
                // Bounded by time and by count.
                while Instant::now() < deadline && done < 100_000 {
                    let Ok(mut c) = Control::connect(port) else {
                        continue;
                    };
                    if c.secure(&tls).is_err() {
                        continue;
                    }
                    if resumed && !c.resumed() {
                        return Err("a handshake was not resumed".into());
                    }
                    if c.cmd("QUIT").is_ok() {
                        done += 1;
                    }
                }
                Ok(done)
            })
        })
        .collect();
    let mut total = 0u64;
    for worker in workers {
        total += worker.join().map_err(|_| "a client panicked")??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// `n` logged-in sessions, made by `threads` clients at once (each starting when all
/// are ready); the sessions stay open while the result lives.
fn logins_at_once(
    port: u16,
    user: &str,
    pass: &str,
    n: usize,
    threads: usize,
) -> Result<Vec<Control>> {
    let threads = threads.clamp(1, n.max(1));
    let ready = Arc::new(std::sync::Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (user, pass, ready) = (user.to_string(), pass.to_string(), Arc::clone(&ready));
            let count = n / threads + usize::from(t < n % threads);
            std::thread::spawn(move || -> std::result::Result<Vec<Control>, String> {
                ready.wait();
                (0..count)
                    .map(|_| Control::login(port, &user, &pass).map_err(|e| e.to_string()))
                    .collect()
            })
        })
        .collect();
    let mut sessions = Vec::with_capacity(n);
    for worker in workers {
        sessions.extend(worker.join().map_err(|_| "a client panicked")??);
    }
    Ok(sessions)
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1_048_576.0 / elapsed.as_secs_f64()
}

/// A rate as the tables show it: whole MB/s, or two decimals below 100 (throttled
/// transfers).
fn shown(rate: f64) -> String {
    if rate < 100.0 {
        format!("{rate:.2}")
    } else {
        format!("{rate:.0}")
    }
}

/// `<port> <user> <pass> <clients> <seconds>`: full logins (then QUIT) from that many
/// clients for that long; logins per second, and the time of each (connect to 230).
fn timed_logins(args: &[String], tls: bool) -> Result<(f64, Vec<Duration>)> {
    let arg = |i: usize| args.get(i).cloned().ok_or("missing argument");
    let port: u16 = arg(1)?.parse()?;
    let (user, pass) = (arg(2)?, arg(3)?);
    let clients: usize = arg(4)?.parse()?;
    let seconds: u64 = arg(5)?.parse()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    // Full handshakes: no session to resume.
    let tls = tls.then(|| client_config_like(&client_config()));
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (user, pass, tls) = (user.clone(), pass.clone(), tls.clone());
            std::thread::spawn(move || {
                let mut took = Vec::new();
                // Bounded by time and by count.
                while Instant::now() < deadline && took.len() < 100_000 {
                    let one = Instant::now();
                    // A session as the performance issue counts it: connect, log in, PWD,
                    // QUIT (the time of each login alone is what `took` keeps).
                    if let Ok(mut c) = Control::login_with(port, &user, &pass, tls.as_ref()) {
                        took.push(one.elapsed());
                        let _ = c.cmd("PWD");
                        let _ = c.cmd("QUIT");
                    }
                }
                took
            })
        })
        .collect();
    let took: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap_or_default())
        .collect();
    Ok((took.len() as f64 / started.elapsed().as_secs_f64(), took))
}

/// The reply that opens a transfer (150 or 125), or the error to stop with: without
/// it the data connection would wait for a transfer that never comes (a missing file
/// under TLS waits for a handshake).
fn expect_opening(reply: (u16, String), command: &str) -> Result<()> {
    match reply {
        (150 | 125, _) => Ok(()),
        (_, text) => Err(format!("{command} refused: {text}").into()),
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().ok_or("missing argument");
    let mode = arg(0)?;
    match mode.as_str() {
        "sendfile" => {
            let file = std::fs::File::open(arg(1)?)?;
            let len = file.metadata()?.len();
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let address = listener.local_addr()?;
            let sender = std::thread::spawn(move || -> std::io::Result<()> {
                let (stream, _) = listener.accept()?;
                let mut offset = 0i64;
                let mut left = len as usize;
                while left > 0 {
                    let n = nix::sys::sendfile::sendfile64(
                        &stream,
                        &file,
                        Some(&mut offset),
                        left.min(1 << 20),
                    )?;
                    if n == 0 {
                        break;
                    }
                    left -= n;
                }
                Ok(())
            });
            let started = Instant::now();
            let bytes = drain(TcpStream::connect(address)?)?;
            let elapsed = started.elapsed();
            sender.join().map_err(|_| "sender panicked")??;
            println!("{}", shown(mb_per_s(bytes, elapsed)));
        }
        "retr" | "ftps-retr" => {
            let tls = (arg(0)? == "ftps-retr").then(client_config);
            let mut c = Control::login_with(arg(1)?.parse()?, &arg(2)?, &arg(3)?, tls.as_ref())?;
            c.cmd("TYPE I")?;
            let address = c.pasv()?;
            let started = Instant::now();
            // The server sends 150 before its side of the data handshake.
            let tcp = TcpStream::connect(address)?;
            c.send(&format!("RETR {}", arg(4)?))?;
            expect_opening(c.reply()?, "RETR")?;
            let data = match &c.tls {
                Some(tls) => Stream::secure(tcp, tls)?,
                None => Stream::Plain(tcp),
            };
            if c.tls.is_some() {
                eprintln!("data: {}", data.suite());
            }
            let bytes = drain(data)?;
            let elapsed = started.elapsed();
            c.reply()?;
            println!("{}", shown(mb_per_s(bytes, elapsed)));
        }
        "stor" | "ftps-stor" => {
            let tls = (arg(0)? == "ftps-stor").then(client_config);
            let mut c = Control::login_with(arg(1)?.parse()?, &arg(2)?, &arg(3)?, tls.as_ref())?;
            let mib: u64 = arg(5)?.parse()?;
            c.cmd("TYPE I")?;
            let address = c.pasv()?;
            let started = Instant::now();
            let tcp = TcpStream::connect(address)?;
            c.send(&format!("STOR {}", arg(4)?))?;
            expect_opening(c.reply()?, "STOR")?;
            let mut data = match &c.tls {
                Some(tls) => Stream::secure(tcp, tls)?,
                None => Stream::Plain(tcp),
            };
            if c.tls.is_some() {
                eprintln!("data: {}", data.suite());
            }
            let chunk = vec![0x5au8; 1 << 20];
            for _ in 0..mib {
                data.write_all(&chunk)?;
            }
            data.close()?;
            let (code, text) = c.reply()?;
            let elapsed = started.elapsed();
            if code != 226 {
                return Err(format!("STOR failed: {text}").into());
            }
            println!("{}", shown(mb_per_s(mib << 20, elapsed)));
        }
        "handshakes" | "resumed-handshakes" => {
            let port: u16 = arg(1)?.parse()?;
            let clients: usize = arg(2)?.parse()?;
            let seconds: u64 = arg(3)?.parse()?;
            let rate = handshakes(port, clients, seconds, mode == "resumed-handshakes")?;
            println!("{rate:.1}");
        }
        "logins" | "ftps-logins" => {
            let (rate, _) = timed_logins(&args, mode == "ftps-logins")?;
            println!("{rate:.1}");
        }
        "noop" => {
            let tls = (arg(4)? == "tls").then(client_config);
            let mut c = Control::login_with(arg(1)?.parse()?, &arg(2)?, &arg(3)?, tls.as_ref())?;
            let count: usize = arg(5)?.parse::<usize>()?.clamp(1, 1_000_000);
            let mut took = Vec::with_capacity(count);
            for _ in 0..count {
                let one = Instant::now();
                let (code, text) = c.cmd("NOOP")?;
                took.push(one.elapsed());
                if code != 200 {
                    return Err(format!("NOOP refused: {text}").into());
                }
            }
            took.sort();
            let at = |q: f64| took[((took.len() as f64 - 1.0) * q).round() as usize];
            println!(
                "{:.1} {:.1}",
                at(0.5).as_secs_f64() * 1e6,
                at(0.99).as_secs_f64() * 1e6
            );
        }
        "login-latency" => {
            let (rate, mut took) = timed_logins(&args, false)?;
            took.sort();
            let at = |q: f64| {
                took.get(((took.len() as f64 - 1.0) * q).round() as usize)
                    .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
            };
            println!("{rate:.1} {:.2} {:.2}", at(0.5), at(0.99));
        }
        "idle" => {
            let port: u16 = arg(1)?.parse()?;
            let n: usize = arg(4)?.parse()?;
            let sessions = logins_at_once(port, &arg(2)?, &arg(3)?, n, 20)?;
            println!("ready {}", sessions.len());
            std::io::stdout().flush()?;
            let mut sink = String::new();
            let _ = std::io::stdin().read_to_string(&mut sink);
            drop(sessions);
        }
        "burst" => {
            let port: u16 = arg(1)?.parse()?;
            let n: usize = arg(4)?.parse()?;
            let started = Instant::now();
            let sessions = logins_at_once(port, &arg(2)?, &arg(3)?, n, n)?;
            println!("{:.3}", started.elapsed().as_secs_f64());
            drop(sessions);
        }
        "list" | "nlst" | "mlsd" => {
            let mut c = Control::login(arg(1)?.parse()?, &arg(2)?, &arg(3)?)?;
            let address = c.pasv()?;
            let data = TcpStream::connect(address)?;
            let started = Instant::now();
            c.send(&format!("{} {}", mode.to_uppercase(), arg(4)?))?;
            let mut text = Vec::new();
            let mut data = data;
            data.read_to_end(&mut text)?;
            let elapsed = started.elapsed();
            c.reply()?;
            c.reply()?;
            let lines = text.iter().filter(|&&b| b == b'\n').count();
            println!("{:.4} {lines}", elapsed.as_secs_f64());
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    Ok(())
}
