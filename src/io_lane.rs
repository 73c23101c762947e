//! Which of the binary's event loops ("lanes", one per core: `server::threads`) the
//! current thread runs. Resources that hold connections, such as the S3 client's
//! connection pool, keep one copy per lane: a pooled connection is driven by the loop that
//! opened it, so a request served on another loop would receive every body chunk through
//! a cross-thread wake-up (measured: twice the CPU per streamed byte).
//!
//! Tests and embedders that call `serve()` on their own runtime have one lane, 0.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

static LANES: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// Declares how many lanes the process runs; called once before they start.
pub fn set_count(lanes: usize) {
    LANES.store(lanes.max(1), Ordering::Relaxed);
}

/// The number of lanes (1 unless [`set_count`] said otherwise).
pub fn count() -> usize {
    LANES.load(Ordering::Relaxed)
}

/// Marks the calling thread as lane `index`'s event loop.
pub fn enter(index: usize) {
    CURRENT.with(|c| c.set(index));
}

/// The lane of the calling thread; 0 for threads that are not a lane's loop.
pub fn current() -> usize {
    CURRENT.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_lane_zero_until_it_enters_one() {
        std::thread::spawn(|| {
            assert_eq!(current(), 0);
            enter(3);
            assert_eq!(current(), 3);
        })
        .join()
        .unwrap();
        assert_eq!(current(), 0);
    }
}
