//! The data connection: how it will be made (PORT/EPRT, PASV/EPSV, ESTA/ESTP) and
//! making it.
//!
//! Anti-bounce rules, as Pure-FTPd: PORT may only name the client's own address and a
//! port from 1024, unless FXP is allowed (`-w` for users, `-W` for everyone); a passive
//! connection from any other address than the client's is closed without a word and the
//! server keeps waiting for the right one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use pureftpd_proto::Reply;
use pureftpd_proto::addr::{self, AddrError};

use super::LoggedIn;
use super::{Outcome, Session};
use crate::messages as msg;

/// How the next data connection is made.
#[derive(Debug, Default)]
pub(crate) enum DataSetup {
    /// Nothing asked yet.
    #[default]
    None,
    /// PASV/EPSV: the client connects to this socket (kept for later transfers).
    Passive(TcpListener),
    /// PORT/EPRT: the server connects to the client.
    Active(SocketAddr),
    /// ESTA/ESTP made it already.
    Connected(TcpStream),
}

/// An open data connection: in clear, or TLS with the client (PROT P), where the server
/// is always the TLS server side.
pub(crate) enum DataStream {
    /// PROT C.
    Plain(TcpStream),
    /// PROT P.
    Tls(Box<crate::tls_stream::TlsStream>),
    /// PROT P, for an upload: rustls' unbuffered API over a large socket buffer.
    TlsUpload(Box<crate::tls_upload::UploadStream>),
}

impl DataStream {
    /// The TCP socket underneath.
    pub(crate) fn socket(&self) -> &TcpStream {
        match self {
            Self::Plain(stream) => stream,
            Self::Tls(tls) => tls.socket(),
            Self::TlsUpload(tls) => tls.socket(),
        }
    }

    /// Under TLS, something already taken in that `poll` would not see: decrypted clear
    /// text, or the client's close_notify.
    pub(crate) fn buffered(&mut self) -> bool {
        match self {
            Self::Plain(_) => false,
            Self::Tls(tls) => tls.buffered(),
            Self::TlsUpload(tls) => tls.buffered(),
        }
    }

    /// Ends the connection gracefully: close_notify under TLS, then our half of TCP,
    /// then whatever the client still sends (its close_notify) is read and dropped, for
    /// at most [`LINGER`]. Closing with unread bytes would make the kernel reset the
    /// connection, and the client could lose the end of the data.
    pub(crate) fn finish(&mut self) {
        match self {
            Self::Plain(_) => {}
            Self::Tls(tls) => {
                let _ = tls.close_notify();
            }
            Self::TlsUpload(tls) => {
                let _ = tls.close_notify();
            }
        }
        let socket = self.socket();
        let _ = socket.shutdown(std::net::Shutdown::Write);
        let _ = socket.set_read_timeout(Some(LINGER));
        let deadline = Instant::now() + LINGER;
        let mut sink = [0u8; 4096];
        let mut reader = socket;
        while Instant::now() < deadline {
            match std::io::Read::read(&mut reader, &mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

/// How long a finished data connection waits for the client's last bytes.
const LINGER: Duration = Duration::from_secs(2);

impl std::io::Read for DataStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.read(buf),
            Self::Tls(tls) => tls.read(buf),
            Self::TlsUpload(tls) => tls.read(buf),
        }
    }
}

impl std::io::Write for DataStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.write(buf),
            Self::Tls(tls) => tls.write(buf),
            // Nothing is sent on an upload's connection but close_notify.
            Self::TlsUpload(_) => Err(std::io::ErrorKind::Unsupported.into()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(stream) => stream.flush(),
            Self::Tls(tls) => tls.flush(),
            Self::TlsUpload(_) => Ok(()),
        }
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

impl Session<'_> {
    fn fxp_allowed(&self, logged: &mut LoggedIn) -> bool {
        self.config.allow_anonymous_fxp || (self.config.allow_user_fxp && !logged.anonymous())
    }

    pub(super) fn port(
        &mut self,
        logged: &mut LoggedIn,
        target: Result<SocketAddr, AddrError>,
    ) -> Outcome {
        // Pure-FTPd's order: the address is read (a protocol it does not serve, then
        // bad syntax) before EPSV ALL is looked at. IPv6 (EPRT's protocol 2) is served
        // only where the server takes IPv6 clients.
        let target = match target {
            Ok(target) if target.is_ipv4() || self.ipv6_available => target,
            Err(AddrError::Ipv6Syntax) if self.ipv6_available => {
                return Reply::new(501, msg::BAD_ADDRESS).into();
            }
            Ok(_) | Err(AddrError::Protocol | AddrError::Ipv6Syntax) => {
                let text = if self.ipv6_available {
                    msg::EPRT_PROTOCOLS
                } else {
                    msg::ONLY_IPV4
                };
                return Reply::new(522, text).into();
            }
            Err(AddrError::Syntax) => return Reply::new(501, msg::BAD_ADDRESS).into(),
        };
        if self.epsv_all {
            return Reply::new(501, msg::ACTIVE_DISABLED).into();
        }
        let ip = canonical(target.ip());
        if target.port() < 1024 {
            return Reply::new(501, msg::LOW_PORT).into();
        }
        let peer = canonical(self.peer.ip());
        let mut reply = Reply::empty(200);
        if ip != peer {
            if !self.fxp_allowed(logged) {
                return Reply::new(500, msg::no_fxp(ip, peer)).into();
            }
            // Beyond Pure-FTPd: FXP never reaches a group address, the broadcast one or
            // `::` (which is this host).
            let group = ip.is_multicast() || matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
            if group || ip.is_unspecified() {
                return Reply::new(501, msg::BAD_ADDRESS).into();
            }
            reply.push(msg::fxp_transfer(peer, ip));
        }
        self.data = DataSetup::Active(SocketAddr::new(ip, target.port()));
        reply.push(msg::PORT_OK);
        reply.into()
    }

    pub(super) fn pasv(&mut self, extended: bool) -> Outcome {
        if self.config.nat_mode {
            return Reply::new(500, msg::UNKNOWN_COMMAND).into();
        }
        let local = canonical(self.local.ip());
        if !extended && local.is_ipv6() {
            return Reply::new(425, msg::PASV_ON_IPV6).into();
        }
        self.data = DataSetup::None;
        let Some(listener) = self.bind_passive(local) else {
            return Reply::new(425, msg::PORTS_BUSY).into();
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        self.data = DataSetup::Passive(listener);
        if extended {
            return Reply::new(229, addr::epsv_reply(port)).into();
        }
        let announced = self.passive_address(local);
        Reply::new(227, addr::pasv_reply(announced, port)).into()
    }

    /// The address a PASV reply announces: `-P`'s (resolved now), else the control
    /// connection's.
    fn passive_address(&self, local: IpAddr) -> Ipv4Addr {
        let forced = self.config.force_passive_ip.as_deref().and_then(|host| {
            (host, 0)
                .to_socket_addrs()
                .ok()?
                .find_map(|a| match a.ip() {
                    IpAddr::V4(v4) => Some(v4),
                    IpAddr::V6(_) => None,
                })
        });
        forced.unwrap_or(match local {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        })
    }

    /// A listening socket on a port of the `-p` range: a random start, then downwards,
    /// wrapping around, until a bind succeeds.
    ///
    /// `SO_REUSEADDR`, as Pure-FTPd's: every finished data connection leaves its port in
    /// TIME_WAIT for a minute, and without it a range of N ports would allow about N
    /// transfers a minute for the whole server. Two listeners still cannot share a port.
    fn bind_passive(&self, local: IpAddr) -> Option<TcpListener> {
        let (first, last) = self.config.passive_ports;
        let span = u32::from(last - first) + 1;
        let start = super::login::random_u32() % span;
        (0..span).find_map(|i| {
            let offset = (start + span - i % span) % span;
            let port = u16::try_from(u32::from(first) + offset).ok()?;
            let socket = socket2::Socket::new(
                socket2::Domain::for_address(SocketAddr::new(local, port)),
                socket2::Type::STREAM,
                None,
            )
            .ok()?;
            socket.set_reuse_address(true).ok()?;
            socket.bind(&SocketAddr::new(local, port).into()).ok()?;
            socket.listen(8).ok()?;
            Some(TcpListener::from(socket))
        })
    }

    pub(super) fn epsv(&mut self, arg: &[u8]) -> Outcome {
        if self.config.nat_mode || (self.config.broken_clients && self.local.is_ipv4()) {
            return Reply::new(500, msg::UNKNOWN_COMMAND).into();
        }
        if arg.eq_ignore_ascii_case(b"all") {
            self.epsv_all = true;
            return Reply::new(220, msg::ACTIVE_DISABLED).into();
        }
        if arg == b"2" && canonical(self.local.ip()).is_ipv4() {
            return Reply::new(522, msg::ONLY_IPV4).into();
        }
        self.pasv(true)
    }

    pub(super) fn esta(&mut self, logged: &mut LoggedIn) -> Outcome {
        if self.config.nat_mode || self.config.force_passive_ip.is_some() {
            return Reply::new(500, msg::UNKNOWN_COMMAND).into();
        }
        let DataSetup::Active(target) = self.data else {
            return Reply::new(520, msg::ACTIVE_DISABLED).into();
        };
        let first = msg::connecting_to_port(target.port());
        match self.open_tcp_data(logged) {
            Ok(stream) => {
                let local = stream.local_addr().map(addr::eprt_form).unwrap_or_default();
                self.data = DataSetup::Connected(stream);
                Reply::new(225, first)
                    .line(format!("Connected from ({local})"))
                    .into()
            }
            Err(outcome) => outcome,
        }
    }

    pub(super) fn estp(&mut self, logged: &mut LoggedIn) -> Outcome {
        if !matches!(self.data, DataSetup::Passive(_)) {
            return Reply::new(520, "Unable to open a passive connection").into();
        }
        match self.open_tcp_data(logged) {
            Ok(stream) => {
                let local = stream.local_addr().map(addr::eprt_form).unwrap_or_default();
                self.data = DataSetup::Connected(stream);
                Reply::new(225, msg::ACCEPTED_DATA)
                    .line(format!("Connected to ({local})"))
                    .into()
            }
            Err(outcome) => outcome,
        }
    }

    pub(super) fn pret(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        let (verb, rest) = match arg.iter().position(|&b| b == b' ') {
            Some(i) => (&arg[..i], &arg[i + 1..]),
            None => (arg, &[][..]),
        };
        if verb.eq_ignore_ascii_case(b"retr") {
            let path = logged.vfs.resolve(rest);
            let readable = logged
                .vfs
                .stat(&path)
                .ok()
                .is_some_and(|st| st.st_mode & 0o170_000 == 0o100_000);
            if !readable {
                return Reply::new(550, msg::RNFR_MISSING).into();
            }
        }
        Reply::new(200, msg::PRET_OK).into()
    }

    /// The text of the 150 reply for the coming transfer.
    pub(crate) fn opening_text(&self) -> String {
        match &self.data {
            DataSetup::Active(target) => msg::connecting_to_port(target.port()),
            _ => msg::ACCEPTED_DATA.to_string(),
        }
    }

    /// Puts TLS on a data connection under PROT P (after the 150 reply: clients such as
    /// Python's ftplib only start their handshake once they have read it). An upload's
    /// connection is read through rustls' unbuffered API (`tls_upload.rs`).
    pub(crate) fn secure_data(
        &mut self,
        stream: TcpStream,
        upload: bool,
    ) -> Result<DataStream, Outcome> {
        let config = match self.tls.clone() {
            Some(config) if self.private_data => config,
            _ => return Ok(DataStream::Plain(stream)),
        };
        let timeout = self.idle.min(super::TLS_HANDSHAKE_TIMEOUT);
        let config = crate::tls::for_data_connections(&config);
        if upload {
            let accepted = crate::tls_upload::UploadStream::accept(config, stream, timeout);
            crate::metrics::tls_handshake(false, accepted.is_ok());
            return accepted
                .map(|tls| DataStream::TlsUpload(Box::new(tls)))
                // As Pure-FTPd: a data connection that does not speak TLS ends the session.
                .map_err(|_| Outcome::Close(Reply::new(421, msg::TLS_DATA_FAILED)));
        }
        let mut stream = stream;
        let mut conn = rustls::ServerConnection::new(config)
            .map_err(|_| Outcome::Close(Reply::new(421, msg::TLS_DATA_FAILED)))?;
        let handshake = super::control::handshake(&mut conn, &mut stream, timeout);
        crate::metrics::tls_handshake(false, handshake.is_ok());
        match handshake {
            Ok(()) => Ok(DataStream::Tls(Box::new(
                crate::tls_stream::TlsStream::new(conn, stream),
            ))),
            // As Pure-FTPd: a data connection that does not speak TLS ends the session.
            Err(_) => Err(Outcome::Close(Reply::new(421, msg::TLS_DATA_FAILED))),
        }
    }

    /// PORT/EPRT: connects to the client from port 20 when the helper can bind it
    /// (as Pure-FTPd), from any port otherwise, or when that exact connection is still
    /// remembered by the system from a previous transfer (TIME_WAIT).
    fn connect_active(&mut self, target: SocketAddr) -> std::io::Result<TcpStream> {
        let timeout = self.idle.min(Duration::from_secs(30));
        let low_port = self
            .port20
            .as_mut()
            .filter(|_| canonical(self.local.ip()).is_ipv4() == target.is_ipv4())
            .and_then(|helper| helper.bound_socket().ok());
        if let Some(socket) = low_port {
            match socket.connect_timeout(&target.into(), timeout) {
                Ok(()) => return Ok(socket.into()),
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(nix::libc::EADDRINUSE | nix::libc::EADDRNOTAVAIL)
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        TcpStream::connect_timeout(&target, timeout)
    }

    /// Makes the TCP data connection.
    pub(crate) fn open_tcp_data(&mut self, logged: &mut LoggedIn) -> Result<TcpStream, Outcome> {
        let stream = match std::mem::take(&mut self.data) {
            DataSetup::None => return Err(Reply::new(425, msg::NO_DATA_CONNECTION).into()),
            DataSetup::Connected(stream) => stream,
            DataSetup::Active(target) => {
                self.data = DataSetup::Active(target);
                self.connect_active(target).map_err(|e| {
                    Outcome::from(Reply::new(
                        425,
                        msg::cant_open_data(target.port(), crate::errno_text(&e)),
                    ))
                })?
            }
            DataSetup::Passive(listener) => {
                let accepted = self.accept_passive(logged, &listener);
                self.data = DataSetup::Passive(listener);
                accepted?
            }
        };
        // A client that stops reading makes every send wait: at most the idle time,
        // then the transfer ends with 421 (see transfer.rs), as in Pure-FTPd.
        let _ = stream.set_write_timeout(Some(self.idle.max(Duration::from_secs(1))));
        let socket = socket2::SockRef::from(&stream);
        let _ = socket.set_keepalive(true);
        if stream.local_addr().is_ok_and(|a| a.is_ipv4()) {
            let _ = socket.set_tos_v4(0x08);
        }
        Ok(stream)
    }

    /// Waits for the client's connection, dropping any from another address.
    fn accept_passive(
        &mut self,
        logged: &mut LoggedIn,
        listener: &TcpListener,
    ) -> Result<TcpStream, Outcome> {
        let deadline = Instant::now() + self.idle;
        let peer = canonical(self.peer.ip());
        let fxp = self.fxp_allowed(logged);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let millis = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
            let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
            let ready = poll(
                &mut fds,
                PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX),
            );
            if left.is_zero() || matches!(ready, Ok(0)) {
                return Err(Outcome::Close(Reply::new(
                    421,
                    msg::passive_timeout(self.idle.as_secs()),
                )));
            }
            let Ok((stream, from)) = listener.accept() else {
                continue;
            };
            if fxp || canonical(from.ip()) == peer {
                return Ok(stream);
            }
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
