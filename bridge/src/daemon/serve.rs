//! The accept loop: one thread per request, at most `-n` at a time.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::log::Log;
use super::script::{self, Run};
use super::{Kind, Options};
use crate::MAX_MESSAGE;

/// How long a client has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until the process is stopped by a signal; returns only if accepting fails.
pub(super) fn serve(kind: &Kind, options: &Options, listener: &UnixListener, log: Log) {
    log.info(&format!(
        "Listening on {}, running {}",
        options.socket.display(),
        options.program.display()
    ));
    let slots = Arc::new(Slots::new(options.max_running));
    let shared = Arc::new((*kind, options.clone()));
    let log = Arc::new(log);
    let mut failures = 0;
    loop {
        // Waiting for a free slot before accepting leaves further clients queued in
        // the socket's backlog, where they cost nothing.
        slots.acquire();
        let stream = match listener.accept() {
            Ok((stream, _)) => {
                failures = 0;
                stream
            }
            Err(e) => {
                slots.release();
                failures += 1;
                log.warning(&format!("accept failed: {e}"));
                if failures > 100 {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let (task_slots, shared, task_log) = (slots.clone(), shared.clone(), log.clone());
        let spawned = std::thread::Builder::new().spawn(move || {
            let (kind, options) = &*shared;
            answer(kind, options, stream, &task_log);
            task_slots.release();
        });
        if let Err(e) = spawned {
            slots.release();
            log.error(&format!("cannot start a thread for a request: {e}"));
        }
    }
}

/// Reads a request, runs the script, relays its output, closes the connection.
fn answer(kind: &Kind, options: &Options, mut stream: UnixStream, log: &Log) {
    let Some(request) = read_request(&mut stream) else {
        log.warning("request without \"end\" (incomplete, too long or too slow): nothing run");
        return;
    };
    let Some(variables) = (kind.environment)(&request) else {
        log.warning("request without \"end\": nothing run");
        return;
    };
    let subject = variables
        .iter()
        .find(|(name, _)| *name == kind.subject)
        .map(|(_, value)| value.to_string_lossy().into_owned())
        .unwrap_or_default();
    match script::run(&options.program, kind.variables, variables, options.timeout) {
        Run::Finished { output, status } => {
            if let Some(problem) = script::failure(status) {
                log.warning(&format!("[{subject}]: {problem}"));
            }
            // The client may be gone already: nothing more to do then.
            let _ = stream.write_all(&output);
        }
        Run::Failed(reason) => log.error(&format!("[{subject}]: {reason}")),
    }
}

/// Reads until a complete `end` line, at most [`MAX_MESSAGE`] bytes, within
/// [`REQUEST_TIMEOUT`]; `None` otherwise.
fn read_request(stream: &mut UnixStream) -> Option<Vec<u8>> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut request = Vec::with_capacity(512);
    let mut buffer = [0u8; 1024];
    loop {
        let complete = request
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|last| &request[..=last]);
        if complete.is_some_and(|lines| crate::lines::parse(lines).is_some()) {
            return Some(request);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || request.len() >= MAX_MESSAGE {
            return None;
        }
        stream.set_read_timeout(Some(left)).ok()?;
        let room = (MAX_MESSAGE - request.len()).min(buffer.len());
        match stream.read(&mut buffer[..room]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
}

/// A counting semaphore: scripts running at once.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    fn new(count: usize) -> Self {
        Self {
            free: Mutex::new(count),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
    }

    fn release(&self) {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *free += 1;
        self.freed.notify_one();
    }
}
