//! forkexec-run's allocator: a bump arena in static memory first, the C library's `malloc`
//! once the arena is used up.
//!
//! A one-shot run (the command line read, the spec built and encoded, the helper executed in
//! place) makes a few hundred small allocations and frees almost none of them before it
//! executes the helper. musl's `malloc` spends about a third of that run's own instructions
//! on them and maps and unmaps single pages as it goes (docs/cli.md, "Start-up cost"); a bump
//! allocator hands out the next bytes of one zero-filled static block, with no system call and
//! no bookkeeping, and takes back only the most recent block (a growing `Vec` is extended in
//! place while it is the most recent).
//!
//! A long-running `forkexec-run serve` (and the judge's threads) uses the same allocator: what
//! is freed inside the arena (other than the most recent block) is never reused, so the arena
//! is used up after at most [`SIZE`] bytes of allocations, and from then on every allocation
//! is the C library's, freed and reused as usual. The memory this can hold on to is bounded by
//! [`SIZE`]. Thread-safe: the arena's top moves with compare-and-swap only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The arena's size: ten times what a one-shot run allocates (bubblewrap mode, the bench's
/// command line: 24 KiB with an empty environment, 50 KiB with 35 variables); the pages it
/// does not touch cost nothing (the zero-filled `.bss`).
pub const SIZE: usize = 512 * 1024;

/// The largest alignment served from the arena (the block's own); larger ones go to `System`.
const ALIGN: usize = 4096;

#[repr(C, align(4096))]
struct Block(UnsafeCell<[u8; SIZE]>);

// SAFETY: the block's bytes are only reached through pointers handed out by `Arena`, and the
// top's compare-and-swap gives each range to one allocation at a time.
unsafe impl Sync for Block {}

static BLOCK: Block = Block(UnsafeCell::new([0; SIZE]));

/// The first free offset in the block.
static TOP: AtomicUsize = AtomicUsize::new(0);

/// The global allocator of forkexec-run (see the module's documentation).
pub struct Arena;

fn base() -> usize {
    BLOCK.0.get() as usize
}

/// The offset of `ptr` in the block, if it is the block's.
fn offset(ptr: *mut u8) -> Option<usize> {
    (ptr as usize).checked_sub(base()).filter(|&o| o < SIZE)
}

impl Arena {
    /// `size` bytes at `align` from the arena, or `None` when it has no room left.
    fn bump(size: usize, align: usize) -> Option<*mut u8> {
        if align > ALIGN {
            return None;
        }
        let mut top = TOP.load(Ordering::Relaxed);
        loop {
            let start = top.checked_add(align - 1)? & !(align - 1);
            let end = start.checked_add(size).filter(|&end| end <= SIZE)?;
            match TOP.compare_exchange_weak(top, end, Ordering::Relaxed, Ordering::Relaxed) {
                // The range [start, end) is this allocation's alone.
                Ok(_) => return Some((base() + start) as *mut u8),
                Err(now) => top = now,
            }
        }
    }
}

// SAFETY: every block handed out is either a range of the static arena no other live
// allocation overlaps (the top only moves up past it, and back down only by its owner, for
// the most recent block), aligned as asked, or System's own; each pointer goes back to whichever
// made it (told apart by its address).
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match Self::bump(layout.size(), layout.align()) {
            Some(ptr) => ptr,
            // SAFETY: the caller's layout, as GlobalAlloc::alloc requires (non-zero size).
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match offset(ptr) {
            Some(start) => {
                // The most recent block is taken back; any other stays used.
                let end = start + layout.size();
                let _ = TOP.compare_exchange(end, start, Ordering::Relaxed, Ordering::Relaxed);
            }
            // SAFETY: not the arena's, so System's, with the layout it was made with.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(start) = offset(ptr) else {
            // SAFETY: System's block, with its layout, as GlobalAlloc::realloc requires.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        let end = start + layout.size();
        if let Some(new_end) = start.checked_add(new_size).filter(|&e| e <= SIZE) {
            // The most recent block grows or shrinks in place.
            if TOP
                .compare_exchange(end, new_end, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                return ptr;
            }
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: new_size is non-zero (it is larger than the old size), and the layout's
        // alignment is a valid one (the caller's).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as in alloc.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are at least layout.size() long and do not overlap (the
            // new one is a fresh range of the arena or System's).
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size());
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The tests run with the default allocator (the arena is forkexec-run's only outside
    // `cargo test`), so they call it directly; they share the one static block, one test at
    // a time (which block is the most recent is part of what they check).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn blocks_are_aligned_distinct_and_fall_back_when_full() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let a = Arena;
        // SAFETY: non-zero layouts; each block freed with its layout.
        unsafe {
            let l8 = Layout::from_size_align(24, 8).unwrap();
            let l64 = Layout::from_size_align(100, 64).unwrap();
            let p = a.alloc(l8);
            let q = a.alloc(l64);
            assert_eq!(q as usize % 64, 0);
            assert!(q as usize >= p as usize + 24);
            p.write_bytes(1, 24);
            q.write_bytes(2, 100);
            assert!((0..24).all(|i| *p.add(i) == 1));
            // The most recent block grows in place, an older one moves (its bytes with it).
            let q2 = a.realloc(q, l64, 4000);
            assert_eq!(q2, q);
            let p2 = a.realloc(p, l8, 48);
            assert_ne!(p2, p);
            assert!((0..24).all(|i| *p2.add(i) == 1));
            // Larger than the arena: the C library's, freed by it.
            let big = Layout::from_size_align(SIZE + 1, 8).unwrap();
            let b = a.alloc(big);
            assert!(!b.is_null() && offset(b).is_none());
            b.write_bytes(3, SIZE + 1);
            let b2 = a.realloc(b, big, SIZE + 10);
            assert_eq!(*b2.add(SIZE), 3);
            a.dealloc(b2, Layout::from_size_align(SIZE + 10, 8).unwrap());
            // Over-aligned: the C library's.
            let huge_align = Layout::from_size_align(16, 2 * ALIGN).unwrap();
            let h = a.alloc(huge_align);
            assert_eq!(h as usize % (2 * ALIGN), 0);
            assert!(offset(h).is_none());
            a.dealloc(h, huge_align);
            a.dealloc(p2, Layout::from_size_align(48, 8).unwrap());
            a.dealloc(q2, Layout::from_size_align(4000, 64).unwrap());
        }
    }

    #[test]
    fn threads_never_share_a_block() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    let a = Arena;
                    let l = Layout::from_size_align(64, 8).unwrap();
                    // SAFETY: non-zero layouts; each block is written whole, then checked.
                    let blocks: Vec<usize> = (0..500)
                        .map(|_| unsafe {
                            let p = a.alloc(l);
                            p.write_bytes(t, 64);
                            p as usize
                        })
                        .collect();
                    for &p in &blocks {
                        // SAFETY: a live 64-byte block of this thread's.
                        assert!((0..64).all(|i| unsafe { *(p as *const u8).add(i) } == t));
                    }
                    blocks
                })
            })
            .collect();
        let mut all: Vec<usize> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
