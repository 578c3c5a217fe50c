//! How an upload's bytes get from the data connection into the file.
//!
//! Pure-FTPd reads each block into a buffer and writes it out: two copies per byte, one
//! out of the socket and one into the page cache. Ours does that for ASCII uploads
//! (carriage returns are dropped on the way) and under TLS (rustls opens the records in
//! user space). A binary upload in clear goes through a pipe instead: `splice` hands the
//! socket's pages to the pipe without copying them, and a second `splice` copies them
//! into the page cache, the one copy left. The bytes in the file are the same either way.
//!
//! Where the kernel will not splice into the file (`EINVAL`: a file system without
//! support), what is in the pipe is copied out through user space and the rest of the
//! upload takes the copying path, so nothing is lost. Urgent data from the client (which
//! `splice` will not read past) sends the rest of the upload down that path too, and so
//! does the end of every upload: `splice` says "end" at urgent data as well, and only a
//! read can tell.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags, fcntl, splice};

use super::super::data::DataStream;

/// Bytes taken per read on the copying path.
const RECEIVE_BUFFER: usize = 512 * 1024;
/// The same once a spliced upload hands over to reads: almost always only to see its
/// end, which needs no large buffer made for every upload.
const AFTER_SPLICE_BUFFER: usize = 64 * 1024;
/// The pipe's size asked for: the most an unprivileged process may set by default
/// (`/proc/sys/fs/pipe-max-size`).
const PIPE_SIZE: usize = 1024 * 1024;

/// The way one upload moves its bytes, chosen when it starts.
pub(super) enum Intake {
    /// Through a buffer of ours: ASCII, TLS, or no pipe to be had.
    Copied { buffer: Vec<u8>, binary: bool },
    /// Through a pipe, by `splice`: binary in clear.
    Spliced(Pipe),
}

impl Intake {
    pub(super) fn for_upload(stream: &DataStream, binary: bool) -> Self {
        if binary && matches!(stream, DataStream::Plain(_)) {
            // Without a pipe of its size (out of descriptors, or over the account's
            // allowance for pipes) the copy still works.
            if let Ok(pipe) = Pipe::new() {
                return Self::Spliced(pipe);
            }
        }
        Self::copied(binary, RECEIVE_BUFFER)
    }

    fn copied(binary: bool, size: usize) -> Self {
        Self::Copied {
            buffer: vec![0u8; size],
            binary,
        }
    }

    /// The most one [`Intake::take`] moves.
    pub(super) fn chunk(&self) -> usize {
        match self {
            Self::Copied { buffer, .. } => buffer.len(),
            Self::Spliced(pipe) => pipe.capacity,
        }
    }

    /// Takes in what the connection has, at most `max` bytes (held until
    /// [`Intake::put`]); `Some(0)` at the end of the upload. `None` when nothing was
    /// taken after all: wait and try again.
    pub(super) fn take(
        &mut self,
        stream: &mut DataStream,
        max: usize,
    ) -> io::Result<Option<usize>> {
        match self {
            Self::Copied { buffer, .. } => stream.read(&mut buffer[..max]).map(Some),
            Self::Spliced(pipe) => match pipe.fill(stream.socket(), max) {
                // `splice` stops at TCP urgent data and never reads past it: there it
                // finds nothing (the engine saw data before asking), or an end that is
                // not one if the client has also closed. A read skips the urgent byte
                // (as Pure-FTPd's does) and tells a true end: the rest of the upload,
                // however short, is read instead.
                Ok(0) => {
                    *self = Self::copied(true, AFTER_SPLICE_BUFFER);
                    Ok(None)
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    *self = Self::copied(true, AFTER_SPLICE_BUFFER);
                    Ok(None)
                }
                other => other.map(Some),
            },
        }
    }

    /// Writes the `len` bytes the last [`Intake::take`] brought, at the file's position.
    pub(super) fn put(&mut self, file: &mut File, len: usize) -> io::Result<()> {
        match self {
            Self::Copied { buffer, binary } => write_received(file, &buffer[..len], *binary),
            // (`len` is what the pipe holds.)
            Self::Spliced(pipe) => match pipe.drain_into(file) {
                Err(e) if e.raw_os_error() == Some(Errno::EINVAL as i32) => {
                    file.write_all(&pipe.read_out()?)?;
                    *self = Self::copied(true, RECEIVE_BUFFER);
                    Ok(())
                }
                other => other,
            },
        }
    }
}

/// Writes what an upload brought; in ASCII mode without its carriage returns.
fn write_received(file: &mut File, received: &[u8], binary: bool) -> io::Result<()> {
    if binary {
        file.write_all(received)
    } else {
        let text: Vec<u8> = received.iter().copied().filter(|&b| b != b'\r').collect();
        file.write_all(&text)
    }
}

/// A pipe between the socket and the file, and how much sits in it.
pub(super) struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
    queued: usize,
}

impl Pipe {
    fn new() -> io::Result<Self> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        // A pipe of the default size (64 KiB) would take three calls per 64 KiB where
        // the copy reads 512 KiB at once. Past the pages a user may hold in pipes
        // (`pipe-user-pages-soft`, 64 MiB by default: many uploads of one account at
        // once) the kernel refuses a larger one, and those uploads are copied instead.
        let capacity = fcntl(&write, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE as i32))?;
        let capacity = usize::try_from(capacity).unwrap_or(PIPE_SIZE);
        Ok(Self {
            read,
            write,
            capacity,
            queued: 0,
        })
    }

    /// Moves what the socket has, at most `max` bytes, into the (empty) pipe. Never
    /// waits: the engine polls the socket and the control connection first.
    fn fill(&mut self, socket: &std::net::TcpStream, max: usize) -> io::Result<usize> {
        let flags = SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK;
        let moved = splice(
            socket,
            None,
            &self.write,
            None,
            max.min(self.capacity),
            flags,
        )?;
        self.queued = moved;
        Ok(moved)
    }

    /// Writes what the pipe holds into the file, at its position.
    fn drain_into(&mut self, file: &File) -> io::Result<()> {
        while self.queued > 0 {
            match splice(
                &self.read,
                None,
                file,
                None,
                self.queued,
                SpliceFFlags::SPLICE_F_MOVE,
            ) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.queued -= n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Takes what the pipe holds out through user space.
    fn read_out(&mut self) -> io::Result<Vec<u8>> {
        let mut out = vec![0u8; self.queued];
        File::from(self.read.try_clone()?).read_exact(&mut out)?;
        self.queued = 0;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom};
    use std::net::{TcpListener, TcpStream};

    fn connected() -> (TcpStream, DataStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, DataStream::Plain(server))
    }

    #[test]
    fn a_binary_upload_in_clear_is_spliced_and_written_where_the_file_stands() {
        let (mut client, mut stream) = connected();
        let mut intake = Intake::for_upload(&stream, true);
        assert!(matches!(intake, Intake::Spliced(_)));
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"kept:").unwrap();
        client.write_all(b"spliced bytes").unwrap();
        drop(client);
        let mut moved = 0;
        loop {
            match intake.take(&mut stream, intake.chunk()).unwrap() {
                Some(0) => break,
                Some(n) => {
                    intake.put(&mut file, n).unwrap();
                    moved += n;
                }
                None => std::thread::yield_now(),
            }
        }
        assert_eq!(moved, 13);
        let mut contents = String::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_string(&mut contents).unwrap();
        assert_eq!(contents, "kept:spliced bytes");
    }

    #[test]
    fn where_the_file_takes_no_splice_the_queued_bytes_are_copied() {
        // The kernel refuses to splice into a file opened with O_APPEND (EINVAL), as
        // into a file system without splice support.
        let (mut client, mut stream) = connected();
        let mut intake = Intake::for_upload(&stream, true);
        let path = tempfile::NamedTempFile::new().unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path.path())
            .unwrap();
        client.write_all(b"first").unwrap();
        let n = loop {
            match intake.take(&mut stream, intake.chunk()).unwrap() {
                Some(n) => break n,
                None => std::thread::yield_now(),
            }
        };
        intake.put(&mut file, n).unwrap();
        assert!(matches!(intake, Intake::Copied { .. }));
        client.write_all(b" second").unwrap();
        drop(client);
        while let Some(n @ 1..) = intake.take(&mut stream, intake.chunk()).unwrap() {
            intake.put(&mut file, n).unwrap();
        }
        assert_eq!(std::fs::read(path.path()).unwrap(), b"first second");
    }
}
