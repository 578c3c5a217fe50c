//! Measurements for `scripts/bench-server.sh`. Every mode prints one line.
//!
//! ```text
//! ftpbench sendfile <file>                       bare sendfile over loopback, MB/s
//! ftpbench retr <port> <user> <pass> <path>      one binary RETR, MB/s
//! ftpbench stor <port> <user> <pass> <path> <MiB> one binary STOR from memory, MB/s
//! ftpbench logins <port> <user> <pass> <clients> <seconds>   full logins per second
//! ftpbench idle <port> <user> <pass> <sessions>  hold logged-in sessions until stdin closes
//! ftpbench list <port> <user> <pass> <dir>       one LIST, seconds and lines
//! ```
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Control {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Control {
    fn connect(port: u16) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        let mut control = Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        };
        control.reply()?;
        Ok(control)
    }

    fn reply(&mut self) -> Result<(u16, String)> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err("connection closed".into());
            }
            let b = line.as_bytes();
            if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' {
                return Ok((line[..3].parse()?, line));
            }
        }
    }

    fn cmd(&mut self, line: &str) -> Result<(u16, String)> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }

    fn login(port: u16, user: &str, pass: &str) -> Result<Self> {
        let mut c = Self::connect(port)?;
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
fn drain(mut stream: TcpStream) -> Result<u64> {
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

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1_048_576.0 / elapsed.as_secs_f64()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().ok_or("missing argument");
    match arg(0)?.as_str() {
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
            println!("{:.0}", mb_per_s(bytes, elapsed));
        }
        "retr" => {
            let mut c = Control::login(arg(1)?.parse()?, &arg(2)?, &arg(3)?)?;
            c.cmd("TYPE I")?;
            let address = c.pasv()?;
            let data = TcpStream::connect(address)?;
            let started = Instant::now();
            c.writer
                .write_all(format!("RETR {}\r\n", arg(4)?).as_bytes())?;
            let bytes = drain(data)?;
            let elapsed = started.elapsed();
            c.reply()?;
            c.reply()?;
            println!("{:.0}", mb_per_s(bytes, elapsed));
        }
        "stor" => {
            let mut c = Control::login(arg(1)?.parse()?, &arg(2)?, &arg(3)?)?;
            let mib: u64 = arg(5)?.parse()?;
            c.cmd("TYPE I")?;
            let address = c.pasv()?;
            let mut data = TcpStream::connect(address)?;
            let started = Instant::now();
            c.writer
                .write_all(format!("STOR {}\r\n", arg(4)?).as_bytes())?;
            c.reply()?;
            let chunk = vec![0x5au8; 1 << 20];
            for _ in 0..mib {
                data.write_all(&chunk)?;
            }
            drop(data);
            let (code, text) = c.reply()?;
            let elapsed = started.elapsed();
            if code != 226 {
                return Err(format!("STOR failed: {text}").into());
            }
            println!("{:.0}", mb_per_s(mib << 20, elapsed));
        }
        "logins" => {
            let port: u16 = arg(1)?.parse()?;
            let (user, pass) = (arg(2)?, arg(3)?);
            let clients: usize = arg(4)?.parse()?;
            let seconds: u64 = arg(5)?.parse()?;
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let workers: Vec<_> = (0..clients)
                .map(|_| {
                    let (user, pass) = (user.clone(), pass.clone());
                    std::thread::spawn(move || {
                        let mut done = 0u64;
                        // Bounded by time and by count.
                        while Instant::now() < deadline && done < 100_000 {
                            if let Ok(mut c) = Control::login(port, &user, &pass) {
                                let _ = c.cmd("QUIT");
                                done += 1;
                            }
                        }
                        done
                    })
                })
                .collect();
            let total: u64 = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
            println!("{:.1}", total as f64 / started.elapsed().as_secs_f64());
        }
        "idle" => {
            let port: u16 = arg(1)?.parse()?;
            let n: usize = arg(4)?.parse()?;
            let sessions: Vec<Control> = (0..n)
                .map(|_| Control::login(port, &arg(2)?, &arg(3)?))
                .collect::<Result<_>>()?;
            println!("ready {}", sessions.len());
            std::io::stdout().flush()?;
            let mut sink = String::new();
            let _ = std::io::stdin().read_to_string(&mut sink);
            drop(sessions);
        }
        "list" => {
            let mut c = Control::login(arg(1)?.parse()?, &arg(2)?, &arg(3)?)?;
            let address = c.pasv()?;
            let data = TcpStream::connect(address)?;
            let started = Instant::now();
            c.writer
                .write_all(format!("LIST {}\r\n", arg(4)?).as_bytes())?;
            let mut text = Vec::new();
            let mut data = data;
            data.read_to_end(&mut text)?;
            let elapsed = started.elapsed();
            c.reply()?;
            c.reply()?;
            let lines = text.iter().filter(|&&b| b == b'\n').count();
            println!("{:.3} {lines}", elapsed.as_secs_f64());
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    Ok(())
}
