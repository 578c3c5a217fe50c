//! Counters shared by a process and every process it forks afterwards: an anonymous
//! `MAP_SHARED` mapping of 64-bit atomics. The server's master makes one before it
//! forks any session; each session adds to it without a system call, and the metrics
//! process reads it.
//!
//! Only plain atomic words live there (no pointer, no lock), so a process that dies
//! in the middle of an update leaves nothing inconsistent behind, and a process that
//! scribbles over the words (only the server's own processes can reach them) falsifies
//! a figure and nothing else.

use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

use nix::sys::mman::{MapFlags, ProtFlags};

/// `len` atomic words, zero at first, shared with the children forked from now on.
#[derive(Debug)]
pub struct SharedWords {
    start: NonNull<AtomicU64>,
    len: usize,
}

// SAFETY: the mapping is only ever reached through `&AtomicU64`, which is Sync; the
// pointer itself is never written after creation.
unsafe impl Send for SharedWords {}
// SAFETY: as above.
unsafe impl Sync for SharedWords {}

impl SharedWords {
    /// Maps `len` words (at least one).
    ///
    /// # Errors
    /// The system refused the mapping (memory limits).
    pub fn new(len: usize) -> std::io::Result<Self> {
        let len = len.max(1);
        let bytes = len
            .checked_mul(size_of::<AtomicU64>())
            .and_then(NonZeroUsize::new)
            .ok_or_else(|| std::io::Error::other("too many shared words"))?;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing
        // aliases no Rust object. The kernel fills it with zeros, a valid AtomicU64,
        // and aligns it to a page, more than AtomicU64 needs.
        let start = unsafe {
            nix::sys::mman::mmap_anonymous(
                None,
                bytes,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }?;
        Ok(Self {
            start: start.cast(),
            len,
        })
    }

    /// The words.
    #[must_use]
    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: `start` points to `len` initialised AtomicU64s that stay mapped for
        // as long as `self` lives (unmapped only by Drop); shared references to
        // atomics may alias freely, in this process or another.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }

    /// From now on this process can only read the words (the metrics process, which
    /// reads the network and must not be able to change what it reports). Atomic
    /// loads of 64-bit words are plain loads on the targets we build for.
    ///
    /// # Errors
    /// The kernel refused.
    pub fn make_read_only(&self) -> std::io::Result<()> {
        // SAFETY: the range is exactly our mapping; after this only loads happen
        // through `words()` in this process (the store methods of AtomicU64 would
        // fault, and the metrics process never calls them).
        unsafe {
            nix::sys::mman::mprotect(
                self.start.cast(),
                self.len * size_of::<AtomicU64>(),
                ProtFlags::PROT_READ,
            )
        }?;
        Ok(())
    }
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
    fn read_only_words_still_read() {
        let shared = SharedWords::new(2).unwrap();
        shared.words()[0].store(7, Ordering::Relaxed);
        shared.make_read_only().unwrap();
        assert_eq!(shared.words()[0].load(Ordering::Relaxed), 7);
    }
}
