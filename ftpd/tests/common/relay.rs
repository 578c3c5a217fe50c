//! A TCP relay in front of a database server, to make the server go away and come back
//! while our FTP server runs, without touching the database server that other tests
//! share: `down()` closes the port and cuts every connection through it (what clients
//! see when the server is killed), `up()` listens on the same port again.

use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
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
    /// A relay on a free port of 127.0.0.1 to `target`, listening.
    pub fn to(target: SocketAddr) -> Self {
        let mut relay = Self {
            port: pureftpd_tests::free_port(),
            target,
            running: None,
        };
        relay.up();
        relay
    }

    /// Listens again (the port is the same; std sets SO_REUSEADDR).
    pub fn up(&mut self) {
        if self.running.is_some() {
            return;
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
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
