//! The per-request [`Deadline`]: one instant, fixed when the request arrives, that
//! every wait and every pipeline step is measured against.
//!
//! It owns only time arithmetic and the "run this future, but not past the deadline"
//! helper. What to do when the deadline passes (answer 503, let shared work finish in
//! the background) is the handler's and the cache's business.
//!
//! Built on `tokio::time::Instant`, not `std`, so tests on tokio's paused clock can
//! drive it, and so it agrees with `tokio::time::timeout_at` to the tick.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::Rejected;

/// The instant by which a request must have been answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// A deadline `timeout` from now (`APERTURE_REQUEST_TIMEOUT` for a request).
    pub fn after(timeout: Duration) -> Deadline {
        Deadline::at(Instant::now() + timeout)
    }

    pub fn at(at: Instant) -> Deadline {
        Deadline { at }
    }

    pub fn instant(&self) -> Instant {
        self.at
    }

    /// Time left; zero once past (never negative, never panics).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    pub fn is_past(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The earlier of two deadlines, e.g. the request deadline and a queue timeout.
    pub fn min(self, other: Deadline) -> Deadline {
        if other.at < self.at { other } else { self }
    }

    /// For synchronous code (pipeline steps): `Err(DeadlineExceeded)` once past, so a
    /// step list can `deadline.check()?` between steps.
    pub fn check(&self) -> Result<(), Rejected> {
        if self.is_past() {
            Err(Rejected::DeadlineExceeded)
        } else {
            Ok(())
        }
    }

    /// Runs `fut` until it finishes or the deadline passes, whichever is first. On
    /// timeout `fut` is dropped: pass a `JoinHandle` (or the cache's shared future) if
    /// the work itself must outlive this caller.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, Rejected> {
        tokio::time::timeout_at(self.at, fut)
            .await
            .map_err(|_| Rejected::DeadlineExceeded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn remaining_counts_down_and_saturates() {
        let d = Deadline::after(Duration::from_secs(10));
        assert_eq!(d.remaining(), Duration::from_secs(10));
        assert!(!d.is_past());
        assert!(d.check().is_ok());
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(d.remaining(), Duration::from_secs(6));
        tokio::time::advance(Duration::from_secs(7)).await;
        assert_eq!(d.remaining(), Duration::ZERO);
        assert!(d.is_past());
        assert_eq!(d.check(), Err(Rejected::DeadlineExceeded));
    }

    #[tokio::test(start_paused = true)]
    async fn run_returns_the_output_in_time() {
        let d = Deadline::after(Duration::from_secs(1));
        let out = d
            .run(async {
                tokio::time::sleep(Duration::from_millis(999)).await;
                7
            })
            .await;
        assert_eq!(out, Ok(7));
    }

    #[tokio::test(start_paused = true)]
    async fn run_times_out_at_the_deadline() {
        let start = Instant::now();
        let d = Deadline::after(Duration::from_secs(1));
        let out = d.run(tokio::time::sleep(Duration::from_secs(5))).await;
        assert_eq!(out, Err(Rejected::DeadlineExceeded));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn min_picks_the_earlier() {
        let a = Deadline::after(Duration::from_secs(1));
        let b = Deadline::after(Duration::from_secs(2));
        assert_eq!(a.min(b), a);
        assert_eq!(b.min(a), a);
    }
}
