//! [`WarmQueue`]: how many `POST /warm` paths may be pending, and how many of them are
//! being worked on at once.
//!
//! Two counts, both semaphores:
//!
//! - **places** (`APERTURE_WARM_QUEUE`): a path holds one from the moment its request
//!   is accepted until its variant is made (or has failed). A request takes the places
//!   for all its paths at once or none ([`WarmQueue::try_enter`]), so "queue full"
//!   never half-queues a request. Counting running paths too (not only waiting ones)
//!   keeps the bound honest: it is the number of warm paths in the process, full stop.
//! - **runners** (the admission's `warm_workers`): how many paths go through the
//!   variant cache at once. The others wait here, *outside* the cache. That matters
//!   for live requests: a live request for a variant whose warm run is in flight
//!   coalesces onto it and waits for it, so only a handful of warm runs may be in
//!   flight; a live request for a path still waiting here does not see it at all and
//!   produces the variant itself at live priority (the warm run then finds a hit).
//!
//! Runners are taken in arrival order (tokio's semaphore is fair), so requests are
//! warmed first come, first served.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The warm-up queue's bounds; clones share them.
#[derive(Clone)]
pub struct WarmQueue {
    places: Arc<Semaphore>,
    runners: Arc<Semaphore>,
    capacity: usize,
}

/// One accepted path's place in the queue, released when dropped.
pub struct Ticket {
    place: OwnedSemaphorePermit,
    runners: Arc<Semaphore>,
}

/// A path being worked on: its place and a runner, both released when dropped.
pub struct Running {
    _place: OwnedSemaphorePermit,
    _runner: OwnedSemaphorePermit,
}

impl WarmQueue {
    /// A queue of `capacity` places worked by `runners` at once (each at least 1).
    pub fn new(capacity: usize, runners: usize) -> WarmQueue {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        WarmQueue {
            places: Arc::new(Semaphore::new(capacity)),
            runners: Arc::new(Semaphore::new(runners.max(1))),
            capacity,
        }
    }

    /// Places for `n` paths, all or none; `None` when fewer than `n` are free.
    pub fn try_enter(&self, n: usize) -> Option<Vec<Ticket>> {
        let n32 = u32::try_from(n).ok()?;
        let mut all = self.places.clone().try_acquire_many_owned(n32).ok()?;
        let mut tickets = Vec::with_capacity(n);
        for _ in 1..n {
            let place = all.split(1)?;
            tickets.push(self.ticket(place));
        }
        if n > 0 {
            tickets.push(self.ticket(all));
        }
        Some(tickets)
    }

    fn ticket(&self, place: OwnedSemaphorePermit) -> Ticket {
        Ticket {
            place,
            runners: Arc::clone(&self.runners),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Paths accepted and not yet finished.
    pub fn pending(&self) -> usize {
        self.capacity - self.places.available_permits()
    }
}

impl Ticket {
    /// Waits for a runner (in arrival order).
    pub async fn start(self) -> Running {
        let runner = self
            .runners
            .acquire_owned()
            .await
            .expect("the runner semaphore is never closed");
        Running {
            _place: self.place,
            _runner: runner,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_taken_all_or_none_and_freed_on_drop() {
        let q = WarmQueue::new(3, 1);
        let two = q.try_enter(2).expect("room for two");
        assert_eq!(two.len(), 2);
        assert_eq!(q.pending(), 2);
        assert!(q.try_enter(2).is_none(), "only one place left");
        assert_eq!(q.pending(), 2, "a refusal takes nothing");
        drop(two);
        assert_eq!(q.pending(), 0);
        assert!(q.try_enter(4).is_none(), "more than the capacity");
        assert_eq!(q.try_enter(0).map(|t| t.len()), Some(0));
    }

    #[tokio::test]
    async fn runners_bound_the_work_and_places_last_until_it_ends() {
        let q = WarmQueue::new(4, 1);
        let mut tickets = q.try_enter(2).unwrap().into_iter();
        let first = tickets.next().unwrap().start().await;
        let second = tickets.next().unwrap().start();
        tokio::pin!(second);
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(20), second.as_mut()).await;
        assert!(waited.is_err(), "one runner: the second waits");
        assert_eq!(q.pending(), 2);
        drop(first);
        let second = second.await;
        assert_eq!(q.pending(), 1);
        drop(second);
        assert_eq!(q.pending(), 0);
    }
}
