//! [`Admission`]: who may run CPU work now, who waits, and who is refused.
//!
//! A job first reserves its estimated peak memory from the [`MemoryBudget`], then takes
//! one of `workers` slots (`APERTURE_WORKERS`, default = cores), then runs on one of
//! `workers` dedicated threads ([`WorkerPool`]) with panics caught; the async
//! runtime's threads never decode. Memory
//! comes before the slot so a job never idles a core while waiting for memory.
//!
//! Waiting is bounded twice: by `max_waiting` jobs (past it: `QueueFull` at once,
//! a fast 503 beats a slow one) and by time, the earlier of `queue_timeout` and the
//! request's deadline (`QueueTimeout` or `DeadlineExceeded`). Once a job has started,
//! it runs to the end even if its caller goes away (a blocking thread cannot be
//! interrupted anyway), and it keeps its memory and slot until then, so the budget
//! stays true to what is really allocated.
//!
//! **Warm lane.** Warm-up jobs never stand in a line that a live job stands in. They
//! take memory and a slot only with `try_` calls, only while no live job is waiting,
//! re-checking whenever a job finishes or the live queue empties; and at most
//! `warm_workers` run at once (default: half the workers, at least one), so with two
//! or more workers a live request always finds a free core or waits only behind
//! other live work. The alternative, a priority queue in front of one semaphore, would
//! be more code for the same guarantee.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::workers::{JobFailed, WorkerPool};
use super::{Deadline, MemoryBudget, Rejected, Reservation, panic_message};

/// Sizing of the worker pool and its queues.
#[derive(Debug, Clone)]
pub struct AdmissionConfig {
    /// Concurrent CPU jobs (`APERTURE_WORKERS`).
    pub workers: usize,
    /// Live jobs allowed to wait; one more is refused at once.
    pub max_waiting: usize,
    /// Longest a live job waits for memory and a worker.
    pub queue_timeout: Duration,
    /// Warm-up jobs running at once.
    pub warm_workers: usize,
    /// Warm-up jobs allowed to wait.
    pub max_warm_waiting: usize,
    /// Bytes of source images that may sit in memory before their jobs are admitted
    /// (fetched, or being fetched, and planned). Kept apart from the job budget: see
    /// [`Admission::reserve_source`].
    pub source_budget_bytes: u64,
    /// Resident size past which a worker hands freed memory back to the OS after its
    /// job (see [`WorkerPool::new`]); `None`: never.
    pub trim_above_bytes: Option<u64>,
}

impl AdmissionConfig {
    /// Defaults for `workers` slots (0 means "one per core").
    pub fn new(workers: usize) -> AdmissionConfig {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            workers
        };
        AdmissionConfig {
            workers,
            max_waiting: 64 * workers,
            queue_timeout: Duration::from_secs(2),
            warm_workers: (workers / 2).max(1),
            max_warm_waiting: 1024,
            // Unbounded unless the server sets it (a quarter of the budget, see state.rs).
            source_budget_bytes: u64::MAX,
            trim_above_bytes: None,
        }
    }
}

/// Which line a job stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Live,
    Warm,
}

/// Called with each started job's queue wait (for `aperture_queue_wait_seconds`).
pub type WaitObserver = Arc<dyn Fn(Lane, Duration) + Send + Sync>;

/// Gauges for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionStats {
    pub live_waiting: usize,
    pub warm_waiting: usize,
    pub busy_workers: usize,
    pub reserved_bytes: u64,
}

/// The worker pool gate; clones share it.
#[derive(Clone)]
pub struct Admission {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: AdmissionConfig,
    budget: MemoryBudget,
    /// Source bytes held before admission (see [`Admission::reserve_source`]).
    sources: MemoryBudget,
    workers: Arc<Semaphore>,
    /// The threads jobs run on, one per worker slot.
    pool: WorkerPool,
    warm_slots: Arc<Semaphore>,
    live_waiting: AtomicUsize,
    warm_waiting: AtomicUsize,
    /// Signalled when a job ends or the live queue empties: the warm lane's cue.
    freed: Notify,
    on_wait: Option<WaitObserver>,
}

/// A warm waiter re-checks at least this often, in case a release happened outside
/// admission (someone holding a budget reservation directly).
const WARM_RECHECK: Duration = Duration::from_millis(50);

impl Admission {
    pub fn new(cfg: AdmissionConfig, budget: MemoryBudget, on_wait: Option<WaitObserver>) -> Self {
        let inner = Inner {
            workers: Arc::new(Semaphore::new(cfg.workers.max(1))),
            pool: WorkerPool::new(cfg.workers.max(1), cfg.trim_above_bytes),
            warm_slots: Arc::new(Semaphore::new(cfg.warm_workers.max(1))),
            live_waiting: AtomicUsize::new(0),
            warm_waiting: AtomicUsize::new(0),
            freed: Notify::new(),
            sources: MemoryBudget::new(cfg.source_budget_bytes),
            cfg,
            budget,
            on_wait,
        };
        Admission {
            inner: Arc::new(inner),
        }
    }

    pub fn budget(&self) -> &MemoryBudget {
        &self.inner.budget
    }

    pub fn stats(&self) -> AdmissionStats {
        let i = &self.inner;
        AdmissionStats {
            live_waiting: i.live_waiting.load(Ordering::Relaxed),
            warm_waiting: i.warm_waiting.load(Ordering::Relaxed),
            busy_workers: i.cfg.workers.max(1) - i.workers.available_permits(),
            reserved_bytes: i.budget.reserved_bytes() + i.sources.reserved_bytes(),
        }
    }

    /// Holds `bytes` of the source budget for a source about to be read into memory,
    /// until the caller drops it, which it does once its job has been admitted (the
    /// job's estimate counts the source bytes again from then on).
    ///
    /// Why a budget of its own: if sources were reserved from the job budget, a burst
    /// of cold requests could fill it with fetched sources whose jobs then wait for
    /// decode memory that only they hold (hold-and-wait), until all of them time out.
    /// With sources capped at their own share, at least `budget - share` always
    /// remains for admitted jobs, and the two together never pass the whole.
    ///
    /// Live requests wait in FIFO order, as for [`run`](Self::run); warm-up fetches
    /// only take bytes while no live request waits.
    pub async fn reserve_source(
        &self,
        lane: Lane,
        bytes: u64,
        deadline: Deadline,
    ) -> Result<Reservation, Rejected> {
        let i = &self.inner;
        i.sources.check_fits(bytes)?;
        let _queued = Queued::enter(self, lane)?;
        if lane == Lane::Live {
            let until = deadline.min(Deadline::after(i.cfg.queue_timeout));
            return i
                .sources
                .reserve(bytes, until)
                .await
                .map_err(|_| timed_out(deadline));
        }
        loop {
            if i.live_waiting.load(Ordering::Acquire) == 0
                && let Some(held) = i.sources.try_reserve(bytes)?
            {
                return Ok(held);
            }
            if deadline.is_past() {
                return Err(timed_out(deadline));
            }
            tokio::time::sleep_until(deadline.instant().min(Instant::now() + WARM_RECHECK)).await;
        }
    }

    /// Runs a live request's CPU job once `estimated_bytes` of memory and a worker are
    /// free, waiting at most until the earlier of `queue_timeout` and `deadline`.
    pub async fn run<T, F>(
        &self,
        job: F,
        estimated_bytes: u64,
        deadline: Deadline,
    ) -> Result<T, Rejected>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let i = &self.inner;
        i.budget.check_fits(estimated_bytes)?;
        let queued = Queued::enter(self, Lane::Live)?;
        let until = deadline.min(Deadline::after(i.cfg.queue_timeout));
        let memory = i
            .budget
            .reserve(estimated_bytes, until)
            .await
            .map_err(|_| timed_out(deadline))?;
        let worker = tokio::time::timeout_at(until.instant(), i.workers.clone().acquire_owned())
            .await
            .map_err(|_| timed_out(deadline))?
            .map_err(|_| Rejected::QueueTimeout)?;
        let held = Held::new(self, memory, worker, None);
        queued.started();
        execute(&i.pool, job, held).await
    }

    /// Runs a warm-up job at low priority: only on memory and a worker that no live
    /// job is waiting for, waiting at most until `deadline`.
    pub async fn run_warm<T, F>(
        &self,
        job: F,
        estimated_bytes: u64,
        deadline: Deadline,
    ) -> Result<T, Rejected>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let i = &self.inner;
        i.budget.check_fits(estimated_bytes)?;
        let queued = Queued::enter(self, Lane::Warm)?;
        let slot =
            tokio::time::timeout_at(deadline.instant(), i.warm_slots.clone().acquire_owned())
                .await
                .map_err(|_| timed_out(deadline))?
                .map_err(|_| Rejected::QueueTimeout)?;
        loop {
            // Register for the wake-up before checking, so a release between the check
            // and the await is not missed.
            let freed = i.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some((memory, worker)) = self.take_if_idle(estimated_bytes)? {
                let held = Held::new(self, memory, worker, Some(slot));
                queued.started();
                return execute(&i.pool, job, held).await;
            }
            let recheck = Instant::now() + WARM_RECHECK;
            let wake = deadline.instant().min(recheck);
            if tokio::time::timeout_at(wake, freed).await.is_err() && deadline.is_past() {
                return Err(timed_out(deadline));
            }
        }
    }

    /// Memory and a worker, if both are free and no live job is waiting for them.
    fn take_if_idle(
        &self,
        bytes: u64,
    ) -> Result<Option<(Reservation, OwnedSemaphorePermit)>, Rejected> {
        let i = &self.inner;
        if i.live_waiting.load(Ordering::Acquire) > 0 {
            return Ok(None);
        }
        let Ok(worker) = i.workers.clone().try_acquire_owned() else {
            return Ok(None);
        };
        Ok(i.budget.try_reserve(bytes)?.map(|memory| (memory, worker)))
    }
}

/// A waiting deadline passed: whose deadline decides the label.
fn timed_out(deadline: Deadline) -> Rejected {
    if deadline.is_past() {
        Rejected::DeadlineExceeded
    } else {
        Rejected::QueueTimeout
    }
}

/// Runs the job on the worker threads; `held` travels with it, so memory and the worker
/// are released when the job ends, not when the (possibly vanished) caller stops
/// waiting.
async fn execute<T, F>(pool: &WorkerPool, job: F, held: Held) -> Result<T, Rejected>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let outcome = pool
        .run(move || {
            let out = std::panic::catch_unwind(AssertUnwindSafe(job));
            drop(held);
            out
        })
        .await;
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(payload)) | Err(JobFailed::Panicked(payload)) => {
            Err(Rejected::Panicked(panic_message(payload.as_ref())))
        }
        Err(JobFailed::NoWorkers) => Err(Rejected::Panicked(
            "no image worker thread is running".to_owned(),
        )),
    }
}

/// A place in a waiting line; leaving it (started, refused or caller gone) frees it.
struct Queued<'a> {
    admission: &'a Admission,
    lane: Lane,
    since: Instant,
}

impl<'a> Queued<'a> {
    fn enter(admission: &'a Admission, lane: Lane) -> Result<Queued<'a>, Rejected> {
        let (count, max) = admission.line(lane);
        // Increment first, then check: concurrent arrivals cannot both slip into the
        // last place.
        if count.fetch_add(1, Ordering::AcqRel) >= max {
            count.fetch_sub(1, Ordering::AcqRel);
            return Err(Rejected::QueueFull);
        }
        Ok(Queued {
            admission,
            lane,
            since: Instant::now(),
        })
    }

    fn started(self) {
        if let Some(observe) = &self.admission.inner.on_wait {
            observe(self.lane, self.since.elapsed());
        }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let (count, _) = self.admission.line(self.lane);
        if count.fetch_sub(1, Ordering::AcqRel) == 1 && self.lane == Lane::Live {
            self.admission.inner.freed.notify_waiters();
        }
    }
}

impl Admission {
    fn line(&self, lane: Lane) -> (&AtomicUsize, usize) {
        let i = &self.inner;
        match lane {
            Lane::Live => (&i.live_waiting, i.cfg.max_waiting),
            Lane::Warm => (&i.warm_waiting, i.cfg.max_warm_waiting),
        }
    }
}

/// What a running job holds; released in this order, then the warm lane is told.
struct Held {
    inner: Arc<Inner>,
    worker: Option<OwnedSemaphorePermit>,
    memory: Option<Reservation>,
    warm_slot: Option<OwnedSemaphorePermit>,
}

impl Held {
    fn new(
        admission: &Admission,
        memory: Reservation,
        worker: OwnedSemaphorePermit,
        warm_slot: Option<OwnedSemaphorePermit>,
    ) -> Held {
        Held {
            inner: admission.inner.clone(),
            worker: Some(worker),
            memory: Some(memory),
            warm_slot,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Explicit order: fields would only be dropped after this body, too late for
        // the notification below to see them free.
        self.worker.take();
        self.memory.take();
        self.warm_slot.take();
        self.inner.freed.notify_waiters();
    }
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
