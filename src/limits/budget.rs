//! [`MemoryBudget`]: the cap on memory in flight (`APERTURE_MEMORY_BUDGET_MB`).
//!
//! A job reserves its estimated peak bytes before it decodes anything and gives them
//! back when its [`Reservation`] drops. Waiting is FIFO: tokio's semaphore hands freed
//! permits to the oldest waiter first and never lets a small late request barge past a
//! large early one, so big photos are not starved by a stream of thumbnails.
//!
//! (A waiter at the head of the line already holds whatever permits were free when it
//! queued, which is how the semaphore stops barging; the `reserved_bytes` gauge counts
//! granted reservations only, so it is tracked separately.)
//!
//! Permits are KiB, rounded up: `acquire_many` takes a `u32`, and in KiB that still
//! spans 4 TiB, while in bytes it would stop at 4 GiB. Rounding up means the budget
//! is never overcommitted by the rounding.
//!
//! The budget only counts; the estimate comes from the pipeline's plan, and the
//! deciding of who may wait how long is [`admission`](super::admission)'s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use super::{Deadline, Rejected};

const UNIT: u64 = 1024;

/// Shared memory budget; clones share the same pool.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total_units: u32,
    reserved: Arc<AtomicU64>,
}

/// Bytes held from the budget; released when dropped.
#[derive(Debug)]
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
    units: u32,
    reserved: Arc<AtomicU64>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.reserved.fetch_sub(self.bytes(), Ordering::Relaxed);
    }
}

impl Reservation {
    /// The bytes held: the request rounded up to whole KiB.
    pub fn bytes(&self) -> u64 {
        u64::from(self.units) * UNIT
    }
}

impl MemoryBudget {
    /// A budget of `total_bytes`, rounded down to whole KiB and capped at 4 TiB.
    pub fn new(total_bytes: u64) -> MemoryBudget {
        let total_units = u32::try_from(total_bytes / UNIT).unwrap_or(u32::MAX);
        MemoryBudget {
            permits: Arc::new(Semaphore::new(total_units as usize)),
            total_units,
            reserved: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn total_bytes(&self) -> u64 {
        u64::from(self.total_units) * UNIT
    }

    /// Gauge for `aperture_memory_reserved_bytes`.
    pub fn reserved_bytes(&self) -> u64 {
        self.reserved.load(Ordering::Relaxed)
    }

    /// `Err(TooLarge)` when `bytes` could never be reserved, however long one waited.
    /// Callers check this first so an impossible job is refused (422) at once, before
    /// it takes a place in any queue.
    pub fn check_fits(&self, bytes: u64) -> Result<u32, Rejected> {
        let units = bytes.div_ceil(UNIT);
        match u32::try_from(units) {
            Ok(u) if u <= self.total_units => Ok(u),
            _ => Err(Rejected::TooLarge {
                requested: bytes,
                budget: self.total_bytes(),
            }),
        }
    }

    /// Waits, in FIFO order, until `bytes` are free; `TooLarge` at once if they never
    /// can be, `QueueTimeout` if `until` passes first (the place in line is given up).
    pub async fn reserve(&self, bytes: u64, until: Deadline) -> Result<Reservation, Rejected> {
        let units = self.check_fits(bytes)?;
        let acquire = self.permits.clone().acquire_many_owned(units);
        match tokio::time::timeout_at(until.instant(), acquire).await {
            Ok(Ok(permit)) => Ok(self.grant(permit, units)),
            // The semaphore is never closed; treat it like a timeout rather than panic.
            Ok(Err(_)) | Err(_) => Err(Rejected::QueueTimeout),
        }
    }

    /// Takes `bytes` only if they are free right now (`Ok(None)` otherwise). This
    /// ignores the FIFO line, so only callers that have checked nobody is waiting
    /// (the warm-up lane) may use it.
    pub fn try_reserve(&self, bytes: u64) -> Result<Option<Reservation>, Rejected> {
        let units = self.check_fits(bytes)?;
        match self.permits.clone().try_acquire_many_owned(units) {
            Ok(permit) => Ok(Some(self.grant(permit, units))),
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Ok(None),
        }
    }

    fn grant(&self, permit: OwnedSemaphorePermit, units: u32) -> Reservation {
        let r = Reservation {
            _permit: permit,
            units,
            reserved: self.reserved.clone(),
        };
        self.reserved.fetch_add(r.bytes(), Ordering::Relaxed);
        r
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;

    const KIB: u64 = 1024;

    fn far() -> Deadline {
        Deadline::after(Duration::from_secs(3600))
    }

    /// Lets every spawned task run until it blocks (the paused clock only advances
    /// when the runtime is idle).
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn rounds_up_to_kib_and_releases_on_drop() {
        let b = MemoryBudget::new(10 * KIB);
        let r = b.reserve(1, far()).await.unwrap();
        assert_eq!(r.bytes(), KIB);
        assert_eq!(b.reserved_bytes(), KIB);
        let r2 = b.reserve(3 * KIB + 1, far()).await.unwrap();
        assert_eq!(b.reserved_bytes(), 5 * KIB);
        drop(r);
        assert_eq!(b.reserved_bytes(), 4 * KIB);
        drop(r2);
        assert_eq!(b.reserved_bytes(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn larger_than_the_whole_budget_is_refused_at_once() {
        let b = MemoryBudget::new(10 * KIB);
        let _all = b.reserve(10 * KIB, far()).await.unwrap();
        let start = Instant::now();
        let err = b.reserve(10 * KIB + 1, far()).await.unwrap_err();
        assert_eq!(
            err,
            Rejected::TooLarge {
                requested: 10 * KIB + 1,
                budget: 10 * KIB
            }
        );
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert!(matches!(
            b.try_reserve(u64::MAX),
            Err(Rejected::TooLarge { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_times_out_and_gives_up_its_place() {
        let b = MemoryBudget::new(10 * KIB);
        let all = b.reserve(10 * KIB, far()).await.unwrap();
        let start = Instant::now();
        let err = b
            .reserve(KIB, Deadline::after(Duration::from_secs(2)))
            .await
            .unwrap_err();
        assert_eq!(err, Rejected::QueueTimeout);
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        // The timed-out waiter left the line: freed bytes are all available again.
        drop(all);
        assert_eq!(b.reserved_bytes(), 0);
        assert!(b.try_reserve(10 * KIB).unwrap().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_first_in_first_out() {
        let b = MemoryBudget::new(10 * KIB);
        let big = b.reserve(8 * KIB, far()).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // 5 KiB waits for `big`; the 1 KiB after it would fit now, but must queue.
        for (name, bytes) in [("five", 5 * KIB), ("one", KIB)] {
            let (b, order) = (b.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let r = b.reserve(bytes, far()).await.unwrap();
                order.lock().unwrap().push(name);
                r
            }));
            settle().await;
        }
        assert!(order.lock().unwrap().is_empty(), "the small one barged");
        assert_eq!(b.reserved_bytes(), 8 * KIB, "waiters are not counted");
        drop(big);
        let held: Vec<_> = futures_util::future::join_all(tasks).await;
        assert_eq!(*order.lock().unwrap(), ["five", "one"]);
        assert_eq!(b.reserved_bytes(), 6 * KIB);
        drop(held);
        assert_eq!(b.reserved_bytes(), 0);
    }

    #[test]
    fn huge_budgets_cap_instead_of_overflowing() {
        let b = MemoryBudget::new(u64::MAX);
        assert_eq!(b.total_bytes(), u64::from(u32::MAX) * KIB);
        assert_eq!(b.reserved_bytes(), 0);
    }
}
