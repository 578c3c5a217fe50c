//! The daemons' log: syslog (facility daemon, ident `name[pid]`) and, in the
//! foreground, stderr. Requests are named by their account or server name, never by
//! anything secret.

use std::os::unix::net::UnixDatagram;

/// Where messages go.
#[derive(Debug)]
pub struct Log {
    name: &'static str,
    to_stderr: bool,
    socket: Option<UnixDatagram>,
}

/// syslog's LOG_DAEMON.
const FACILITY_DAEMON: u8 = 3;

impl Log {
    pub fn new(name: &'static str, to_stderr: bool) -> Self {
        let socket = UnixDatagram::unbound()
            .and_then(|s| s.connect("/dev/log").map(|()| s))
            .ok();
        Self {
            name,
            to_stderr,
            socket,
        }
    }

    pub fn error(&self, message: &str) {
        self.write(3, message);
    }

    pub fn warning(&self, message: &str) {
        self.write(4, message);
    }

    pub fn info(&self, message: &str) {
        self.write(6, message);
    }

    fn write(&self, severity: u8, message: &str) {
        if self.to_stderr {
            eprintln!("{}: {message}", self.name);
        }
        if let Some(socket) = &self.socket {
            let now = jiff::Zoned::now().strftime("%b %e %H:%M:%S");
            let line = format!(
                "<{}>{now} {}[{}]: {message}",
                FACILITY_DAEMON * 8 + severity,
                self.name,
                std::process::id()
            );
            let _ = socket.send(line.as_bytes());
        }
    }
}
