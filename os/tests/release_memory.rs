//! `release_unused_memory` on the main thread (this test has no harness: libtest would
//! run it in a thread of its own, where only the heap is released): the stack pages a
//! deep call touched are given back, what the callers still hold is intact, and the
//! stack works as before afterwards, deep calls included.

use std::hint::black_box;

/// Resident KiB of the main stack.
fn stack_resident_kib() -> u64 {
    pureftpd_tests::procfs::smaps_kib(std::process::id(), "[stack]", "Rss")
        .expect("[stack] in /proc/self/smaps")
}

/// Goes `depth` KiB deeper into the stack, writing every byte on the way.
#[inline(never)]
fn go_deep(depth: usize) -> u64 {
    let mut block = [0u8; 1024];
    for (i, byte) in block.iter_mut().enumerate() {
        *byte = (i ^ depth) as u8;
    }
    let below = if depth > 1 { go_deep(depth - 1) } else { 0 };
    black_box(&block).iter().map(|&b| u64::from(b)).sum::<u64>() + below
}

fn main() {
    assert_eq!(
        nix::unistd::gettid(),
        nix::unistd::getpid(),
        "runs on the main thread"
    );
    let kept: Vec<u8> = black_box((0..=255u8).cycle().take(4096).collect());
    let mut frame = [0u8; 2048];
    for (i, byte) in frame.iter_mut().enumerate() {
        *byte = (i * 7) as u8;
    }
    let expected = go_deep(200);
    let deep = stack_resident_kib();
    pureftpd_os::release_unused_memory();
    let released = stack_resident_kib();
    assert!(
        released + 150 <= deep,
        "stack resident {deep} KiB before, {released} KiB after"
    );
    // What the callers hold is untouched.
    assert!(
        black_box(&frame)
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i * 7) as u8)
    );
    assert!(kept.iter().copied().eq((0..=255u8).cycle().take(4096)));
    // And the released pages serve again.
    assert_eq!(go_deep(200), expected);
    assert!(stack_resident_kib() >= deep - 16);
    println!("release_memory: stack {deep} KiB deep, {released} KiB after the release: ok");
}
