//! The shipped binary's allocator: dlmalloc behind a futex lock.
//!
//! musl's own allocator asks the kernel for memory a few pages at a time
//! and hands it back as soon as it is free: `mcp list` made 350 `mmap` and
//! `munmap` calls and took twice the page faults of glibc's. dlmalloc
//! keeps a compact heap.
//!
//! dlmalloc's own global allocator takes musl's `pthread_mutex_t` around
//! every call, an out-of-line call of about 40 instructions to release it:
//! 8 % of `mcp list`'s instructions (BENCHMARKS.md, eleventh pass). The
//! standard library's `Mutex` is a futex whose uncontended lock and unlock
//! are one atomic instruction each, inlined here. Each method stays one
//! function: inlined into every caller, the lock added 1 MB of code.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One dlmalloc heap for the whole process, one lock around it.
pub(crate) struct Heap(Mutex<dlmalloc::Dlmalloc>);

impl Heap {
    pub(crate) const fn new() -> Self {
        Self(Mutex::new(dlmalloc::Dlmalloc::new()))
    }

    /// Nothing under the lock panics (dlmalloc reports failure as a null
    /// pointer), so a poisoned lock cannot mean a torn heap; and an
    /// allocator must not panic.
    #[inline]
    fn lock(&self) -> MutexGuard<'_, dlmalloc::Dlmalloc> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// SAFETY: every call reaches dlmalloc with the lock held, so the heap is
// never used by two threads at once, and each forwards the caller's layout
// unchanged: dlmalloc's methods carry `GlobalAlloc`'s own contracts (its
// docs), which the caller of each method below has promised.
unsafe impl GlobalAlloc for Heap {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { self.lock().malloc(layout.size(), layout.align()) }
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { self.lock().calloc(layout.size(), layout.align()) }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.lock().free(ptr, layout.size(), layout.align()) }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            self.lock()
                .realloc(ptr, layout.size(), layout.align(), new_size)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks written through one heap from several threads at once keep
    /// their bytes through growth and come back zeroed when asked.
    #[test]
    fn threads_share_one_heap_without_tearing_it() {
        static HEAP: Heap = Heap::new();
        let workers: Vec<_> = (0..4u8)
            .map(|id| {
                std::thread::spawn(move || {
                    for round in 0..500usize {
                        let size = 1 + (round * 37) % 3000;
                        let layout = Layout::from_size_align(size, 8).expect("layout");
                        // SAFETY: non-zero sizes; each block is written within
                        // its size, read back, and freed with its layout.
                        unsafe {
                            let zeroed = HEAP.alloc_zeroed(layout);
                            assert!(!zeroed.is_null());
                            assert!((0..size).all(|i| *zeroed.add(i) == 0));
                            HEAP.dealloc(zeroed, layout);

                            let block = HEAP.alloc(layout);
                            assert!(!block.is_null());
                            block.write_bytes(id, size);
                            let grown = HEAP.realloc(block, layout, size * 2);
                            assert!(!grown.is_null());
                            assert!((0..size).all(|i| *grown.add(i) == id));
                            HEAP.dealloc(
                                grown,
                                Layout::from_size_align(size * 2, 8).expect("layout"),
                            );
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("no worker panicked");
        }
    }

    /// An alignment above dlmalloc's own is honoured.
    #[test]
    fn large_alignments_are_honoured() {
        static HEAP: Heap = Heap::new();
        let layout = Layout::from_size_align(100, 4096).expect("layout");
        // SAFETY: a non-zero size, freed with its layout.
        unsafe {
            let block = HEAP.alloc(layout);
            assert!(!block.is_null());
            assert_eq!(block as usize % 4096, 0);
            HEAP.dealloc(block, layout);
        }
    }
}
