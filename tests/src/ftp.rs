//! A raw FTP client for tests: it sends exactly the bytes it is given (including what
//! real clients refuse to send) and reads replies whole.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// A reply: its code and its lines as received (codes included, CRLF removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The final line's code.
    pub code: u16,
    /// Every line.
    pub lines: Vec<String>,
}

impl Reply {
    /// The lines joined with `\n`.
    #[must_use]
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Whether any line contains `needle`.
    #[must_use]
    pub fn has(&self, needle: &str) -> bool {
        self.lines.iter().any(|l| l.contains(needle))
    }
}

/// A control connection.
#[derive(Debug)]
pub struct Ftp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Ftp {
    /// Connects to 127.0.0.1:`port` and reads the greeting.
    ///
    /// # Panics
    /// If the connection fails.
    #[must_use]
    pub fn connect(port: u16) -> (Self, Reply) {
        Self::connect_to(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Connects to `address` (an IPv6 loopback one, say) and reads the greeting.
    ///
    /// # Panics
    /// If the connection fails.
    #[must_use]
    pub fn connect_to(address: SocketAddr) -> (Self, Reply) {
        Self::over(TcpStream::connect(address).expect("connect to the server"))
    }

    /// Reads the greeting on a connection made by the caller (from a chosen local
    /// address, say).
    ///
    /// # Panics
    /// If the socket cannot be set up.
    #[must_use]
    pub fn over(stream: TcpStream) -> (Self, Reply) {
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut ftp = Self {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        };
        let greeting = ftp.reply();
        (ftp, greeting)
    }

    /// Connects and logs in.
    ///
    /// # Panics
    /// If the login fails.
    #[must_use]
    pub fn login(port: u16, user: &str, password: &str) -> Self {
        let (mut ftp, _) = Self::connect(port);
        let reply = ftp.cmd(&format!("USER {user}"));
        if reply.code == 331 {
            let reply = ftp.cmd(&format!("PASS {password}"));
            assert_eq!(reply.code, 230, "login of {user}: {reply:?}");
        } else {
            assert_eq!(reply.code, 230, "login of {user}: {reply:?}");
        }
        ftp
    }

    /// Sends a line (CRLF added) and reads the reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(line.as_bytes());
        self.reply()
    }

    /// Sends raw bytes followed by CRLF.
    pub fn send(&mut self, line: &[u8]) {
        let mut bytes = line.to_vec();
        bytes.extend_from_slice(b"\r\n");
        self.send_raw(&bytes);
    }

    /// Sends bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.writer.write_all(bytes);
    }

    /// Reads one reply (`<EOF>` as a line with code 0 if the server closed).
    pub fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let mut raw = Vec::new();
            match self.reader.read_until(b'\n', &mut raw) {
                Ok(0) | Err(_) => {
                    lines.push("<EOF>".to_string());
                    return Reply { code: 0, lines };
                }
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&raw)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            let done = line.len() >= 4
                && line.as_bytes()[..3].iter().all(u8::is_ascii_digit)
                && line.as_bytes()[3] == b' ';
            lines.push(line);
            if done {
                let code = lines.last().and_then(|l| l[..3].parse().ok()).unwrap_or(0);
                return Reply { code, lines };
            }
        }
    }

    /// The control connection's socket.
    #[must_use]
    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }

    /// How long [`Ftp::reply`] waits for the server (60 s unless set).
    pub fn set_timeout(&self, timeout: Duration) {
        let _ = self.reader.get_ref().set_read_timeout(Some(timeout));
    }

    /// Whether the server closed the connection (reads until EOF, at most 10 s).
    pub fn closed(&mut self) -> bool {
        let _ = self
            .reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(10)));
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => true,
            // Unread bytes make the peer's close a reset: closed all the same.
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// PASV, returning where to connect.
    ///
    /// # Panics
    /// If PASV is refused.
    pub fn pasv(&mut self) -> SocketAddr {
        let reply = self.cmd("PASV");
        assert_eq!(reply.code, 227, "{reply:?}");
        let text = reply.lines.last().cloned().unwrap_or_default();
        let inner = &text[text.find('(').expect("(") + 1..text.find(')').expect(")")];
        let n: Vec<u16> = inner
            .split(',')
            .map(|x| x.parse().expect("number"))
            .collect();
        SocketAddr::from((
            [n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8],
            n[4] * 256 + n[5],
        ))
    }

    /// Runs a download-like command (RETR, LIST, NLST, MLSD) in passive mode:
    /// (first reply, data received, final reply).
    pub fn download(&mut self, command: &str) -> (Reply, Vec<u8>, Option<Reply>) {
        let address = self.pasv();
        let reader = receive(address);
        let first = self.cmd(command);
        if first.code != 150 && first.code != 125 {
            return (first, Vec::new(), None);
        }
        let data = reader.join().unwrap_or_default();
        let last = self.reply();
        (first, data, Some(last))
    }

    /// STOR/APPE/STOU in passive mode: (first reply, final reply).
    pub fn upload(&mut self, command: &str, data: &[u8]) -> (Reply, Option<Reply>) {
        let address = self.pasv();
        let payload = data.to_vec();
        let sender = std::thread::spawn(move || {
            if let Ok(mut stream) = TcpStream::connect(address) {
                let _ = stream.write_all(&payload);
                let _ = stream.shutdown(Shutdown::Write);
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink);
            }
        });
        let first = self.cmd(command);
        if first.code != 150 {
            return (first, None);
        }
        let _ = sender.join();
        let last = self.reply();
        (first, Some(last))
    }
}

/// Connects to a passive data address and reads everything, in a thread.
#[must_use]
pub fn receive(address: SocketAddr) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut data = Vec::new();
        if let Ok(mut stream) = TcpStream::connect(address) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
            let _ = stream.read_to_end(&mut data);
        }
        data
    })
}
