//! The put path allocates nothing per message: a counting allocator watches the putting
//! thread while the whole store (CommitLog, consume queue, index, group commit) works.
#![allow(unsafe_code)] // a global allocator cannot be written without it

use ferrocket_store::{FlushDiskType, PutStatus};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

mod support;
use support::{message, open_store_64m, TempDir};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is passed through unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_on_this_thread() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Allocations made on this thread by `puts` puts after `warm_up` puts (which create the
/// queue's files and grow the reused buffers).
fn count_put_allocations(flush: FlushDiskType, warm_up: usize, puts: usize) -> u64 {
    let dir = TempDir::new("store");
    let (store, runtime) = open_store_64m(&dir, flush);
    let body = vec![b'a'; 1024];
    let msg = message(
        "AllocTopic",
        1,
        &body,
        "UNIQ_KEY\u{1}7F0000015AEB1DBD16A668765D9800F9\u{2}KEYS\u{1}order-1\u{2}TAGS\u{1}TagA",
    );
    let counted = runtime.block_on(async {
        for _ in 0..warm_up {
            store.put(&msg).await.unwrap();
        }
        let before = allocations_on_this_thread();
        for _ in 0..puts {
            let r = store.put(&msg).await.unwrap();
            assert_eq!(r.status, PutStatus::PutOk);
        }
        allocations_on_this_thread() - before
    });
    store.shutdown().unwrap();
    counted
}

#[test]
fn async_flush_puts_do_not_allocate() {
    let n = count_put_allocations(FlushDiskType::AsyncFlush, 1_000, 20_000);
    assert_eq!(n, 0, "{n} allocations for 20 000 puts");
}

#[test]
fn sync_flush_puts_do_not_allocate() {
    let n = count_put_allocations(FlushDiskType::SyncFlush, 200, 2_000);
    assert_eq!(n, 0, "{n} allocations for 2 000 puts");
}
