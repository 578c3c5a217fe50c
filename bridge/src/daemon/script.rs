//! Running the admin's program for one request: its environment, a bounded read of
//! what it prints, a deadline after which its whole process group is killed.

use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::MAX_MESSAGE;

/// What became of a run.
#[derive(Debug)]
pub(super) enum Run {
    /// It printed this (at most [`MAX_MESSAGE`] bytes) and exited with `status`.
    Finished { output: Vec<u8>, status: ExitStatus },
    /// It could not be started, was killed at the deadline, or printed too much.
    Failed(String),
}

/// Runs `program` with the inherited environment, minus `clear`, plus `variables`.
pub(super) fn run(
    program: &Path,
    clear: &[&str],
    variables: crate::Variables,
    timeout: Duration,
) -> Run {
    let mut command = Command::new(program);
    for name in clear {
        command.env_remove(name);
    }
    command
        .envs(variables)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so that the deadline also reaches what it started.
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Run::Failed(format!("cannot run {}: {e}", program.display())),
    };
    let deadline = Instant::now() + timeout;
    let output = read_output(&mut child, deadline);
    let status = match output {
        Ok(_) => wait(&mut child, deadline),
        Err(_) => None,
    };
    match (output, status) {
        (Ok(output), Some(status)) => Run::Finished { output, status },
        (Ok(_), None) | (Err(Overrun::Deadline), _) => {
            kill(&mut child);
            Run::Failed(format!(
                "killed after {} s: the script did not finish in time (-t)",
                timeout.as_secs()
            ))
        }
        (Err(Overrun::TooLong), _) => {
            kill(&mut child);
            Run::Failed(format!("the script printed more than {MAX_MESSAGE} bytes"))
        }
        (Err(Overrun::Io(e)), _) => {
            kill(&mut child);
            Run::Failed(format!("cannot read the script's output: {e}"))
        }
    }
}

enum Overrun {
    Deadline,
    TooLong,
    Io(io::Error),
}

/// Reads stdout until EOF, at most [`MAX_MESSAGE`] bytes, before `deadline`.
fn read_output(child: &mut Child, deadline: Instant) -> Result<Vec<u8>, Overrun> {
    let Some(mut stdout) = child.stdout.take() else {
        return Ok(Vec::new());
    };
    let mut output = Vec::with_capacity(512);
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let millis = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        if left.is_zero() {
            return Err(Overrun::Deadline);
        }
        let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Overrun::Io(e.into())),
        }
        match stdout.read(&mut buffer) {
            Ok(0) => return Ok(output),
            Ok(n) => {
                output.extend_from_slice(&buffer[..n]);
                if output.len() > MAX_MESSAGE {
                    return Err(Overrun::TooLong);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Overrun::Io(e)),
        }
    }
}

/// Waits for the exit before `deadline`.
fn wait(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut pause = Duration::from_micros(200);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Kills the script's process group and reaps the script.
fn kill(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = child.wait();
}

/// How a finished script ended, for the log; `None` for a clean exit.
pub(super) fn failure(status: ExitStatus) -> Option<String> {
    if let Some(signal) = status.signal() {
        return Some(format!("the script was killed by signal {signal}"));
    }
    match status.code() {
        Some(0) | None => None,
        Some(code) => Some(format!("the script exited with status {code}")),
    }
}
