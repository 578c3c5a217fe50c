//! Counters shared by the server's processes: 64-bit atomics in a `memfd`, mapped
//! `MAP_SHARED`. The server's master makes it before it forks any session; each session
//! inherits the mapping and adds to it without a system call; the metrics process, a
//! fresh program started by the master, gets the descriptor and maps it read-only.
//!
//! Only plain atomic words live there (no pointer, no lock), so a process that dies
//! in the middle of an update leaves nothing inconsistent behind, and a process that
//! scribbles over the words (only the server's own processes can reach them) falsifies
//! a figure and nothing else.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

use nix::sys::mman::{MapFlags, ProtFlags};

/// `len` atomic words, zero at first.
#[derive(Debug)]
pub struct SharedWords {
    start: NonNull<AtomicU64>,
    len: usize,
    /// The file, kept by the writer to hand on; a read-only mapping lets it go.
    file: Option<OwnedFd>,
}

// SAFETY: the mapping is only ever reached through `&AtomicU64`, which is Sync; the
// pointer itself is never written after creation.
unsafe impl Send for SharedWords {}
// SAFETY: as above.
unsafe impl Sync for SharedWords {}

impl SharedWords {
    /// Makes `len` words (at least one), readable and writable, shared with the
    /// children forked from now on.
    ///
    /// # Errors
    /// The system refused the file or the mapping (memory limits).
    pub fn new(len: usize) -> std::io::Result<Self> {
        let len = len.max(1);
        let bytes = byte_len(len)?;
        let file = nix::sys::memfd::memfd_create(
            c"pure-ftpd-metrics",
            nix::sys::memfd::MFdFlags::MFD_CLOEXEC,
        )?;
        nix::unistd::ftruncate(
            &file,
            i64::try_from(bytes.get()).map_err(std::io::Error::other)?,
        )?;
        let mut words = Self::map(&file, len, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE)?;
        words.file = Some(file);
        Ok(words)
    }

    /// Maps the words of another process's [`SharedWords::descriptor`], read-only
    /// (the metrics process, which reads the network and must not be able to change
    /// what it reports). Atomic loads of 64-bit words are plain loads on the targets
    /// we build for; nothing here ever stores.
    ///
    /// # Errors
    /// The descriptor is not a file of at least `len` words, or cannot be mapped.
    pub fn read_only(file: OwnedFd, len: usize) -> std::io::Result<Self> {
        let len = len.max(1);
        let size = nix::sys::stat::fstat(&file)?.st_size;
        if u64::try_from(size).unwrap_or(0) < byte_len(len)?.get() as u64 {
            return Err(std::io::Error::other(
                "the shared counters are shorter than expected",
            ));
        }
        // The mapping outlives the descriptor, which is closed here.
        Self::map(&file, len, ProtFlags::PROT_READ)
    }

    fn map(file: &OwnedFd, len: usize, prot: ProtFlags) -> std::io::Result<Self> {
        // SAFETY: a fresh shared mapping of a file we hold, at an address of the
        // kernel's choosing, aliases no Rust object. The file is at least `len` words
        // long (made so, or checked), zero-filled at first (a valid AtomicU64), and the
        // mapping is page-aligned, more than AtomicU64 needs.
        let start = unsafe {
            nix::sys::mman::mmap(None, byte_len(len)?, prot, MapFlags::MAP_SHARED, file, 0)
        }?;
        Ok(Self {
            start: start.cast(),
            len,
            file: None,
        })
    }

    /// The words.
    #[must_use]
    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: `start` points to `len` initialised AtomicU64s that stay mapped for
        // as long as `self` lives (unmapped only by Drop); shared references to
        // atomics may alias freely, in this process or another. A read-only mapping
        // is only ever loaded from (see `read_only`).
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }

    /// The file behind the words, to hand to a process that maps them read-only
    /// (`None` in such a process).
    #[must_use]
    pub fn descriptor(&self) -> Option<BorrowedFd<'_>> {
        self.file.as_ref().map(AsFd::as_fd)
    }
}

fn byte_len(len: usize) -> std::io::Result<NonZeroUsize> {
    len.checked_mul(size_of::<AtomicU64>())
        .and_then(NonZeroUsize::new)
        .ok_or_else(|| std::io::Error::other("too many shared words"))
}

impl Drop for SharedWords {
    fn drop(&mut self) {
        // SAFETY: our own mapping, of this length; no reference into it outlives self
        // (words() borrows self).
        let _ =
            unsafe { nix::sys::mman::munmap(self.start.cast(), self.len * size_of::<AtomicU64>()) };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[test]
    fn a_child_adds_and_the_parent_sees_it() {
        let shared = SharedWords::new(4).unwrap();
        assert!(
            shared
                .words()
                .iter()
                .all(|w| w.load(Ordering::Relaxed) == 0)
        );
        // SAFETY: the child only touches atomics and exits at once, without running
        // anything that could wait on a lock another test thread held at the fork.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                shared.words()[2].fetch_add(41, Ordering::Relaxed);
                shared.words()[2].fetch_add(1, Ordering::Relaxed);
                // Without running the test harness's exit path in the child.
                // SAFETY: _exit ends the process at once; nothing is left to run.
                unsafe { nix::libc::_exit(0) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                nix::sys::wait::waitpid(child, None).unwrap();
            }
        }
        assert_eq!(shared.words()[2].load(Ordering::Relaxed), 42);
        assert_eq!(shared.words()[1].load(Ordering::Relaxed), 0);
    }

    #[test]
    fn another_mapping_of_the_descriptor_reads_the_same_words() {
        let shared = SharedWords::new(3).unwrap();
        shared.words()[1].store(7, Ordering::Relaxed);
        let reader = SharedWords::read_only(
            shared.descriptor().unwrap().try_clone_to_owned().unwrap(),
            3,
        )
        .unwrap();
        assert_eq!(reader.words()[1].load(Ordering::Relaxed), 7);
        shared.words()[1].fetch_add(1, Ordering::Relaxed);
        assert_eq!(reader.words()[1].load(Ordering::Relaxed), 8);
        // A mapping longer than the file is refused (it would fault on reading).
        let short = shared.descriptor().unwrap().try_clone_to_owned().unwrap();
        assert!(SharedWords::read_only(short, 1 << 20).is_err());
        assert!(reader.descriptor().is_none());
    }
}
