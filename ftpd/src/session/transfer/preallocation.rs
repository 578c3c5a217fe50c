//! Disk blocks reserved ahead of a long upload.
//!
//! Pure-FTPd writes each block as it comes. On ext4 (delayed allocation) every 4 KiB
//! written past a file's end is then reserved, charged to the disk quota and entered in
//! the extent cache one block at a time, in the session's own time: with the one copy
//! into the page cache, most of what a session spends on a 1 GiB upload (`perf`,
//! 2026-12-05: ext4's write path was 87% of the session's CPU, its per-block
//! bookkeeping alone about 15%). Once an upload has brought 1 MiB, ours asks ext4 for
//! the blocks ahead in one call (`fallocate` with `FALLOC_FL_KEEP_SIZE`: as much as has
//! come so far, at most 16 MiB at a time) and the writes land in blocks already there.
//! Measured on that machine: 1 GiB uploads at 5.5-6.2 GB/s instead of 4.2-4.8 (Debian's
//! pure-ftpd: 3.5-4.3); the disk's writeback (`sync`) took as long.
//!
//! The file's size never moves for it (`KEEP_SIZE`), so readers, `SIZE` and a resumed
//! upload see only what was written. When the upload ends, however it ends (complete,
//! aborted, failed, over quota, timed out), what was reserved past the file's end is
//! given back: ext4 frees blocks past the end on a truncate to the file's own size
//! (punching a hole there does nothing).
//!
//! Only for ext4, where it was measured (XFS reserves ahead on its own; on tmpfs the
//! blocks would be memory), and never for APPE: a file opened to append may be grown by
//! another session at the same time, and giving back by a truncate to the size seen
//! could then cut what that session had just appended. Where ext4 refuses (a full disk,
//! the disk quota, a file without extents) the upload goes on without reserving, and
//! the write itself says what is wrong, as it would have.
//!
//! Difference from Pure-FTPd: a session killed in the middle of an upload (SIGKILL, a
//! crash) leaves up to 16 MiB allocated past the file's end, outside its size, until
//! the file is next truncated, overwritten or removed.

use std::fs::File;
use std::io::Seek;

use nix::fcntl::{FallocateFlags, FcntlArg, OFlag, fallocate, fcntl};
use nix::sys::statfs::{EXT4_SUPER_MAGIC, fstatfs};

/// Uploads shorter than this never reserve: one more system call would be most of what
/// a small upload saves.
const FIRST_AFTER: u64 = 1 << 20;
/// The most reserved at once, and so the most a killed session can leave behind.
const MOST_AHEAD: u64 = 16 << 20;

/// The reservation of one upload.
pub(super) struct Preallocation {
    state: State,
    /// Bytes that can still be written into what was reserved.
    room: u64,
    /// The end (file offset) of the furthest reservation, 0 before the first.
    reserved_to: u64,
}

#[derive(PartialEq, Eq)]
enum State {
    /// Not yet past [`FIRST_AFTER`]: the file not looked at.
    Waiting,
    Reserving,
    /// Not ext4, a file opened to append, or ext4 refused once.
    Off,
}

impl Preallocation {
    pub(super) fn new() -> Self {
        Self {
            state: State::Waiting,
            room: 0,
            reserved_to: 0,
        }
    }

    /// Before `len` more bytes are written at the file's position, `received` having
    /// come before them: reserves ahead when what was reserved is used up.
    pub(super) fn before_write(&mut self, file: &File, received: u64, len: usize) {
        let len = len as u64;
        if self.state == State::Off {
            return;
        }
        if len <= self.room {
            self.room -= len;
            return;
        }
        if self.state == State::Waiting {
            if received + len < FIRST_AFTER {
                return;
            }
            if !worth_reserving(file) {
                self.state = State::Off;
                return;
            }
            self.state = State::Reserving;
        }
        self.reserve(file, received, len);
    }

    fn reserve(&mut self, file: &File, received: u64, len: u64) {
        // The position, not `received`: a resumed upload starts past 0, and ASCII
        // uploads write fewer bytes than came.
        let mut handle = file;
        let Ok(position) = handle.stream_position() else {
            self.state = State::Off;
            return;
        };
        let ahead = received.clamp(FIRST_AFTER, MOST_AHEAD).max(len);
        let (Ok(offset), Ok(length)) = (i64::try_from(position), i64::try_from(ahead)) else {
            self.state = State::Off;
            return;
        };
        let reserved = fallocate(file, FallocateFlags::FALLOC_FL_KEEP_SIZE, offset, length);
        // Even a refusal may have allocated part of the range (ext4 keeps what it got
        // before the disk filled up): all of it is given back at the end.
        self.reserved_to = self.reserved_to.max(position + ahead);
        match reserved {
            Ok(()) => self.room = ahead - len,
            // Full, over the disk quota, or no extents: the writes will tell.
            Err(_) => self.state = State::Off,
        }
    }

    /// At the upload's end, however it ended: frees what was reserved past the file's
    /// end (a truncate to the file's own size, which is all that does it on ext4).
    pub(super) fn give_back(self, file: &File) {
        if self.reserved_to == 0 {
            return;
        }
        if let Ok(size) = file.metadata().map(|m| m.len())
            && size < self.reserved_to
        {
            let _ = file.set_len(size);
        }
    }
}

/// Whether this file gains from reserving: on ext4, and not opened to append.
fn worth_reserving(file: &File) -> bool {
    let appending = fcntl(file, FcntlArg::F_GETFL)
        .map(|flags| OFlag::from_bits_truncate(flags).contains(OFlag::O_APPEND))
        .unwrap_or(true);
    !appending && fstatfs(file).is_ok_and(|fs| fs.filesystem_type() == EXT4_SUPER_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    /// Bytes the file system holds for the file.
    fn allocated(file: &File) -> u64 {
        file.metadata().unwrap().blocks() * 512
    }

    /// A file of the test's own on ext4, or `None` (after saying so) where the temporary
    /// directory is on another file system: the integration tests (`ext4_uploads.rs`)
    /// mount an ext4 of their own as root.
    fn file_on_ext4() -> Option<(tempfile::TempDir, File)> {
        let dir = tempfile::tempdir().unwrap();
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("upload"))
            .unwrap();
        if fstatfs(&file).unwrap().filesystem_type() != EXT4_SUPER_MAGIC {
            eprintln!("SKIP: the temporary directory is not on ext4");
            return None;
        }
        Some((dir, file))
    }

    /// Writes `total` bytes in `chunk`s as the engine does; returns the most that was
    /// allocated at any point.
    fn upload(p: &mut Preallocation, file: &mut File, total: u64, chunk: usize) -> u64 {
        let block = vec![0x5au8; chunk];
        let (mut received, mut most) = (0u64, 0u64);
        while received < total {
            let n = chunk.min((total - received) as usize);
            p.before_write(file, received, n);
            file.write_all(&block[..n]).unwrap();
            received += n as u64;
            most = most.max(allocated(file));
        }
        most
    }

    #[test]
    fn a_long_upload_reserves_ahead_and_gives_back_what_is_past_its_end() {
        let Some((_dir, mut file)) = file_on_ext4() else {
            return;
        };
        let mut p = Preallocation::new();
        let total = 5 * (1 << 20) + 12345;
        let most = upload(&mut p, &mut file, total, 256 * 1024);
        assert!(p.reserved_to > total, "nothing was reserved ahead");
        assert!(most > total, "the blocks ahead were not allocated");
        assert_eq!(file.metadata().unwrap().len(), total, "the size moved");
        p.give_back(&file);
        assert_eq!(file.metadata().unwrap().len(), total);
        let kept = allocated(&file);
        assert!(kept < total + 64 * 1024, "{kept} bytes kept for {total}");
    }

    #[test]
    fn a_small_upload_reserves_nothing() {
        let Some((_dir, mut file)) = file_on_ext4() else {
            return;
        };
        let mut p = Preallocation::new();
        upload(&mut p, &mut file, FIRST_AFTER - 1, 64 * 1024);
        assert_eq!(p.reserved_to, 0);
        assert!(p.state == State::Waiting);
    }

    #[test]
    fn reservations_grow_with_the_upload_up_to_the_most() {
        let Some((_dir, mut file)) = file_on_ext4() else {
            return;
        };
        let mut p = Preallocation::new();
        upload(&mut p, &mut file, 40 << 20, 1 << 20);
        let position = 40 << 20;
        assert!(p.reserved_to > position);
        assert!(
            p.reserved_to <= position + MOST_AHEAD,
            "{} reserved past the end",
            p.reserved_to - position
        );
        p.give_back(&file);
    }

    #[test]
    fn a_resumed_upload_reserves_from_where_it_writes_and_keeps_what_was_there() {
        let Some((_dir, mut file)) = file_on_ext4() else {
            return;
        };
        let before = vec![7u8; 3 << 20];
        file.write_all(&before).unwrap();
        file.seek(std::io::SeekFrom::Start(1 << 20)).unwrap();
        let mut p = Preallocation::new();
        upload(&mut p, &mut file, 4 << 20, 512 * 1024);
        assert!(p.reserved_to > 5 << 20);
        p.give_back(&file);
        assert_eq!(file.metadata().unwrap().len(), 5 << 20);
        assert!(allocated(&file) < (5 << 20) + 64 * 1024);
    }

    #[test]
    fn a_file_opened_to_append_is_never_reserved_for() {
        let Some((dir, _)) = file_on_ext4() else {
            return;
        };
        let mut file = File::options()
            .append(true)
            .open(dir.path().join("upload"))
            .unwrap();
        let mut p = Preallocation::new();
        let most = upload(&mut p, &mut file, 4 << 20, 512 * 1024);
        assert!(p.state == State::Off);
        assert!(most < (4 << 20) + 64 * 1024, "{most} allocated for 4 MiB");
    }
}
