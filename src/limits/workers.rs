//! The CPU threads image jobs run on: `workers` named OS threads (`aperture-worker-N`)
//! fed by one queue, living as long as the [`Admission`](super::Admission) that owns
//! them.
//!
//! Why not tokio's blocking pool: glibc malloc gives every thread that allocates its
//! own arena (up to 8 per core), and an arena keeps the pages its frees leave behind.
//! Jobs spread over tokio's blocking threads (one pool per serving runtime, dozens of
//! threads over time) left decoded bitmaps' pages in a dozen arenas: a random mix of
//! sizes and formats held 1.1-1.6 GB of RSS for ~400 MB of budget and cache
//! (docs/memory.md, "Allocator"). On a fixed set of threads the big buffers live in
//! as many arenas as there are workers, and each reuses its own pages.
//!
//! Admission hands a job over only once it holds a worker slot, so the queue here is
//! never longer than the slots free up; the pool has exactly as many threads as slots.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of worker threads; dropping the last handle lets them exit.
pub struct WorkerPool {
    queue: mpsc::Sender<Job>,
}

/// Why a job produced no value.
#[derive(Debug)]
pub enum JobFailed {
    /// The job panicked; the payload, for its message.
    Panicked(Box<dyn Any + Send>),
    /// The pool's threads are gone (they could not be started).
    NoWorkers,
}

impl WorkerPool {
    /// Starts `threads` workers (at least one). A thread that cannot be started is
    /// logged; the others still serve the queue. With `trim_above`, a worker whose job
    /// leaves the process's resident size over that many bytes asks the allocator to
    /// return its free pages ([`trim_if_over`]).
    pub fn new(threads: usize, trim_above: Option<u64>) -> WorkerPool {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            let started = std::thread::Builder::new()
                .name(format!("aperture-worker-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking a job, never while running it.
                        let job = match jobs.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // every handle dropped
                        }
                        if let Some(limit) = trim_above {
                            trim_if_over(limit);
                        }
                    }
                });
            if let Err(e) = started {
                tracing::error!(error = %e, "cannot start an image worker thread");
            }
        }
        WorkerPool { queue }
    }

    /// Runs `job` on a worker and waits for its value. The job runs to its end even if
    /// this future is dropped (a thread cannot be interrupted), so whatever it owns is
    /// released when the work is done, not when the caller leaves.
    ///
    /// The wait itself sits on one of tokio's blocking threads, which allocates nothing
    /// worth an arena: that keeps tokio aware of work in flight, as `spawn_blocking`
    /// did (its paused test clock does not jump past a running job).
    pub async fn run<T, F>(&self, job: F) -> Result<T, JobFailed>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let queue = self.queue.clone();
        let waited = tokio::task::spawn_blocking(move || {
            let (done, value) = mpsc::sync_channel(1);
            let wrapped: Job = Box::new(move || {
                let _ = done.send(std::panic::catch_unwind(AssertUnwindSafe(job)));
            });
            queue.send(wrapped).map_err(|_| JobFailed::NoWorkers)?;
            match value.recv() {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(payload)) => Err(JobFailed::Panicked(payload)),
                // Dropped unrun: every worker thread failed to start or died.
                Err(_) => Err(JobFailed::NoWorkers),
            }
        })
        .await;
        // A join error only happens at runtime shutdown.
        waited.unwrap_or(Err(JobFailed::NoWorkers))
    }
}

/// Returns free heap pages to the OS when the resident size is over `limit`.
///
/// glibc keeps freed pages in its arenas, and cached variants (long-lived, allocated by
/// the same workers) pin the heaps so they cannot shrink from the top: under a random
/// mix of large variants the kept pages came to ~130 MB over budget + caches
/// (docs/memory.md, "Allocator and threads"). `malloc_trim(0)` hands back every free
/// page; the next job that needs them faults them in again (a fixed mmap threshold,
/// which does that on every job, cost 15-18 % CPU on large variants), so it only runs
/// while the process is over what the budget and caches account for.
fn trim_if_over(limit: u64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if resident_bytes().is_some_and(|rss| rss > limit) {
        // SAFETY: malloc_trim only walks glibc's own arenas, under their locks.
        unsafe { libc::malloc_trim(0) };
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = limit;
}

/// The process's resident set size, from /proc/self/statm (one small read).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_a_plausible_resident_size() {
        let rss = resident_bytes().unwrap();
        assert!(rss > 1 << 20 && rss < 1 << 40, "{rss}");
    }

    #[tokio::test]
    async fn trimming_workers_still_run_jobs() {
        // A limit of 0 trims after every job: the job's value must come through intact.
        let pool = WorkerPool::new(1, Some(0));
        let v = pool.run(|| vec![7u8; 8 << 20]).await.unwrap();
        assert_eq!((v.len(), v[0]), (8 << 20, 7));
    }

    #[tokio::test]
    async fn runs_jobs_on_named_worker_threads() {
        let pool = WorkerPool::new(2, None);
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("aperture-worker-"));
    }

    #[tokio::test]
    async fn a_panic_is_returned_and_the_worker_survives() {
        let pool = WorkerPool::new(1, None);
        let failed = pool.run(|| -> u32 { panic!("boom") }).await;
        match failed {
            Err(JobFailed::Panicked(p)) => {
                assert_eq!(crate::limits::panic_message(p.as_ref()), "boom")
            }
            other => panic!("want a panic, got {other:?}"),
        }
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn jobs_run_in_parallel_up_to_the_thread_count() {
        let pool = Arc::new(WorkerPool::new(2, None));
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let (a, b) = (Arc::clone(&barrier), Arc::clone(&barrier));
        // Both must be running at once for the barrier to let either go.
        let (x, y) = tokio::join!(pool.run(move || a.wait()), pool.run(move || b.wait()));
        assert!(x.is_ok() && y.is_ok());
    }
}
