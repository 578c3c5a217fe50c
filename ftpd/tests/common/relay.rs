//! A TCP relay in front of a database server, to make the server go away and come back
//! while our FTP server runs, without touching the database server that other tests
//! share: `down()` closes the port and cuts every connection through it (what clients
//! see when the server is killed), `up()` listens on the same port again.
//!
//! It listens on [`Relay::HOST`], a loopback address of its own, not 127.0.0.1: the FTP
//! servers under test take passive ports anywhere in 1024-65535 on 127.0.0.1 (Pure-FTPd's
//! default range), and one of them took the relay's port between the choice and the bind
//! once (a failed CI run); while the relay is down for seconds, one could take it too.
//! Nothing else listens on its address, and its port numbers come from
//! `pureftpd_tests::free_port`, which hands a number out once in a test binary.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Relay {
    pub port: u16,
    target: SocketAddr,
    running: Option<Running>,
}

struct Running {
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: JoinHandle<()>,
}

impl Relay {
    /// The address it listens on (any 127/8 address is the loopback interface's).
    pub const HOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 77);

    /// A relay on a free port of [`Relay::HOST`] to `target`, listening.
    pub fn to(target: SocketAddr) -> Self {
        for _ in 0..5 {
            let port = pureftpd_tests::free_port();
            if let Ok(listener) = TcpListener::bind((Self::HOST, port)) {
                let mut relay = Self {
                    port,
                    target,
                    running: None,
                };
                relay.serve(listener);
                return relay;
            }
        }
        panic!("no free port for a relay on {}", Self::HOST);
    }

    /// Listens again on the same port (std sets SO_REUSEADDR: the connections it cut
    /// may still be in TIME_WAIT).
    pub fn up(&mut self) {
        if self.running.is_some() {
            return;
        }
        let listener = TcpListener::bind((Self::HOST, self.port)).unwrap_or_else(|e| {
            panic!(
                "the relay cannot listen on {}:{} again: {e}",
                Self::HOST,
                self.port
            )
        });
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(Mutex::new(Vec::new()));
        let target = self.target;
        let acceptor = {
            let (stop, live) = (Arc::clone(&stop), Arc::clone(&live));
            std::thread::spawn(move || accept_until_stopped(&listener, target, &stop, &live))
        };
        self.running = Some(Running {
            stop,
            live,
            acceptor,
        });
    }

    /// Closes the port and cuts every connection through it.
    pub fn down(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        running.stop.store(true, Ordering::Relaxed);
        let _ = running.acceptor.join();
        for stream in running.live.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// `text` (a configuration file's) with `server`'s address and port replaced by the
    /// relay's, in its lines `<key>Server` and `<key>Port` (`key`: `MYSQL`, `PGSQL`, `LDAP`).
    pub fn in_config(&self, text: &str, key: &str, server: SocketAddr) -> String {
        let mut text = text.to_string();
        for (from, to) in [
            (
                format!("{key}Server {}\n", server.ip()),
                format!("{key}Server {}\n", Self::HOST),
            ),
            (
                format!("{key}Port {}\n", server.port()),
                format!("{key}Port {}\n", self.port),
            ),
        ] {
            assert!(text.contains(&from), "no line {from:?} in {text}");
            text = text.replace(&from, &to);
        }
        text
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.down();
    }
}

fn accept_until_stopped(
    listener: &TcpListener,
    target: SocketAddr,
    stop: &AtomicBool,
    live: &Mutex<Vec<TcpStream>>,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let mut live = live.lock().unwrap();
                live.push(client.try_clone().unwrap());
                live.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("relay accept: {e}"),
        }
    }
}

/// Copies `from` to `to` on a thread until either side ends.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}
