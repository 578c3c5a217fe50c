//! The metrics process: started by the master, confined, answering `GET /metrics`.
//!
//! It holds the listening socket and the table, read-only; nothing else. Requests are answered one at a time, each within [`REQUEST_TIME`]: a client
//! that stalls delays the next scrape by that much at most, and no FTP session at all.
//! Only `GET` and `HEAD` of `/metrics` (and of `/`, which says where the metrics are)
//! are answered; a request over [`MAX_REQUEST`] bytes, another method or an HTTP
//! other than 1.x gets its error status and the connection closes.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::render::{self, Memory};
use crate::supervised::Supervised;

/// Longest request read (request line and headers).
pub const MAX_REQUEST: usize = 8192;

/// How long one client may take to send its request and read the answer.
pub const REQUEST_TIME: Duration = Duration::from_secs(5);

/// Binds `ADDRESS:PORT` (`[v6]:port` for IPv6).
///
/// # Errors
/// The address does not parse or resolve, or cannot be bound.
pub fn bind(address: &str) -> io::Result<TcpListener> {
    let addresses: Vec<SocketAddr> = address.to_socket_addrs()?.collect();
    let first = addresses
        .first()
        .ok_or_else(|| io::Error::other(format!("{address} resolves to no address")))?;
    // Reused at once after a restart, as the FTP port is.
    crate::listener::listen(*first, 16)
}

/// The environment variable that makes `pure-ftpd` the metrics process:
/// `<slots>:<start time>:<master's pid>`. Set by the master only, in an otherwise
/// empty environment.
pub const PROCESS_ENV: &str = "PURE_FTPD_METRICS_ENDPOINT";

/// The master's handle on the metrics process.
#[derive(Debug)]
pub struct Endpoint {
    listener: TcpListener,
    process: Supervised,
}

impl Endpoint {
    #[must_use]
    pub fn new(listener: TcpListener) -> Self {
        Self {
            listener,
            process: Supervised::default(),
        }
    }

    /// Starts the process unless it runs, or was started too recently (see
    /// [`Supervised`]): this very binary, in a fresh image (nothing of the
    /// master's memory), with the listening socket as stdin and the table's file as
    /// stdout.
    pub fn start(&mut self) {
        if !self.process.due() {
            return;
        }
        let spawned = self.spawn();
        if let Err(e) = &spawned {
            eprintln!("pure-ftpd: cannot start the metrics endpoint: {e}");
        }
        self.process.started(spawned.ok());
    }

    fn spawn(&self) -> io::Result<Pid> {
        use std::os::unix::process::CommandExt;
        let (table, slots, started) =
            super::for_endpoint().ok_or_else(|| io::Error::other("no metrics table"))?;
        let child = std::process::Command::new("/proc/self/exe")
            .arg0("pure-ftpd")
            .env_clear()
            .env(
                PROCESS_ENV,
                format!("{slots}:{started}:{}", std::process::id()),
            )
            .stdin(OwnedFd::from(self.listener.try_clone()?))
            .stdout(table.try_clone_to_owned()?)
            .stderr(std::process::Stdio::inherit())
            .spawn()?;
        // Reaped by the master's loop, as its sessions are.
        Ok(Pid::from_raw(
            i32::try_from(child.id()).map_err(io::Error::other)?,
        ))
    }

    /// See [`Supervised::restart_due_in`].
    #[must_use]
    pub fn restart_due_in(&self) -> Option<Duration> {
        self.process.restart_due_in()
    }

    /// The process's bookkeeping, for the master's loop.
    pub fn process(&mut self) -> &mut Supervised {
        &mut self.process
    }
}

/// In `pure-ftpd`'s `main`, first: when started as the metrics process, runs it and
/// gives its exit status.
#[must_use]
pub fn run_if_asked() -> Option<i32> {
    let spec = std::env::var(PROCESS_ENV).ok()?;
    Some(match serve(&spec) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pure-ftpd: the metrics endpoint stops: {e}");
            1
        }
    })
}

/// The process's life: its descriptors, confinement, then requests until the master
/// is gone.
fn serve(spec: &str) -> io::Result<()> {
    let mut fields = spec.split(':').map(str::parse::<u64>);
    let (Some(Ok(slots)), Some(Ok(started)), Some(Ok(master)), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(io::Error::other(format!(
            "{PROCESS_ENV} is set by the master only"
        )));
    };
    let listener = io::stdin().as_fd().try_clone_to_owned()?;
    if !nix::sys::socket::getsockopt(&listener, nix::sys::socket::sockopt::AcceptConn)? {
        return Err(io::Error::other("started without a listening socket"));
    }
    let listener = TcpListener::from(listener);
    let table = io::stdout().as_fd().try_clone_to_owned()?;
    let null = std::fs::File::open("/dev/null")?;
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(&null)?;
    drop(null);
    super::attach(
        table,
        usize::try_from(slots).map_err(io::Error::other)?,
        started,
    )?;
    let confinement = if nix::unistd::geteuid().is_root() {
        Some((
            crate::privsep::preauth::Sandbox::nobody()?,
            crate::privsep::preauth::take_root()?,
        ))
    } else {
        None
    };
    // Anything inherited from whoever started the master goes.
    let mut keep = vec![listener.as_raw_fd()];
    keep.extend(confinement.as_ref().map(|(_, dir)| dir.as_raw_fd()));
    pureftpd_os::close_descriptors_except_these(&keep);
    if let Some((sandbox, dir)) = confinement {
        sandbox.enter(dir)?;
    }
    // The parent-death signal is cleared by a change of ids: set after the switch.
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
    if i64::from(nix::unistd::getppid().as_raw()) != i64::try_from(master).unwrap_or(-1) {
        return Ok(());
    }
    loop {
        match listener.accept() {
            Ok((stream, _)) => answer(stream),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Out of descriptors or memory for a moment: the next scrape retries.
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// One request, one answer, then the connection closes.
fn answer(mut stream: TcpStream) {
    let deadline = Instant::now() + REQUEST_TIME;
    let Ok(request) = read_request(&mut stream, deadline) else {
        return;
    };
    let response = respond(&request, page);
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() || stream.set_write_timeout(Some(left)).is_err() {
        return;
    }
    let _ = stream.write_all(&response);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// Reads up to the blank line that ends the headers, [`MAX_REQUEST`] bytes at most
/// (what is read when the limit is reached is answered with 431).
fn read_request(stream: &mut TcpStream, deadline: Instant) -> io::Result<Vec<u8>> {
    let mut request = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    while !headers_complete(&request) && request.len() <= MAX_REQUEST {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..n]);
    }
    Ok(request)
}

fn headers_complete(request: &[u8]) -> bool {
    request.windows(4).any(|w| w == b"\r\n\r\n") || request.windows(2).any(|w| w == b"\n\n")
}

/// The whole response to `request`; `metrics` makes the page when it is asked for.
#[must_use]
pub fn respond(request: &[u8], metrics: impl FnOnce() -> String) -> Vec<u8> {
    if request.len() > MAX_REQUEST {
        return response(
            431,
            "Request Header Fields Too Large",
            "",
            "request too long\n",
            true,
        );
    }
    let line_end = request.iter().position(|&b| b == b'\n');
    let Some(line) = line_end.and_then(|end| std::str::from_utf8(&request[..end]).ok()) else {
        return response(400, "Bad Request", "", "malformed request\n", true);
    };
    let mut words = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return response(400, "Bad Request", "", "malformed request line\n", true);
    };
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return response(
            505,
            "HTTP Version Not Supported",
            "",
            "HTTP/1.x only\n",
            true,
        );
    }
    let with_body = match method {
        "GET" => true,
        "HEAD" => false,
        _ => {
            return response(
                405,
                "Method Not Allowed",
                "Allow: GET, HEAD\r\n",
                "GET or HEAD only\n",
                true,
            );
        }
    };
    let path = target.split('?').next().unwrap_or_default();
    match path {
        "/metrics" => {
            let page = metrics();
            response(200, "OK", "", &page, with_body)
        }
        "/" => response(200, "OK", "", "pure-ftpd metrics: /metrics\n", with_body),
        _ => response(404, "Not Found", "", "not found: try /metrics\n", with_body),
    }
}

fn response(status: u16, reason: &str, extra: &str, body: &str, with_body: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if with_body {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// The metrics page, now.
fn page() -> String {
    let snapshot = super::Snapshot::take().unwrap_or_default();
    let memory = Memory {
        master: snapshot
            .counts
            .get(super::Count::MasterPeakMemory as usize)
            .copied()
            .filter(|&m| m > 0),
        endpoint: super::peak_memory(),
        sessions: snapshot.session_memory.clone(),
    };
    render::render(&snapshot, &memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(response: &[u8]) -> &str {
        std::str::from_utf8(&response[9..12]).unwrap()
    }

    #[test]
    fn metrics_are_served_to_get_and_head() {
        let page = || "pureftpd_up 1\n".to_string();
        let got = respond(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", page);
        assert_eq!(status_of(&got), "200");
        assert!(got.ends_with(b"\r\n\r\npureftpd_up 1\n"));
        assert!(String::from_utf8_lossy(&got).contains("Content-Length: 14\r\n"));
        let head = respond(b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n", page);
        assert_eq!(status_of(&head), "200");
        assert!(head.ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn anything_else_gets_its_error_and_no_page() {
        let never = || -> String { panic!("the page must not be made") };
        for (request, status) in [
            (&b"POST /metrics HTTP/1.1\r\n\r\n"[..], "405"),
            (b"GET /metrics/../etc HTTP/1.1\r\n\r\n", "404"),
            (b"GET /metrics\r\n\r\n", "400"),
            (b"GET /metrics HTTP/2.0\r\n\r\n", "505"),
            (b"GET  /metrics HTTP/1.1\r\n\r\n", "400"),
            (b"\xff\xfe\r\n\r\n", "400"),
            (b"", "400"),
        ] {
            assert_eq!(status_of(&respond(request, never)), status, "{request:?}");
        }
        let long = vec![b'a'; MAX_REQUEST + 1];
        assert_eq!(status_of(&respond(&long, never)), "431");
    }
}
