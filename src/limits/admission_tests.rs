//! Tests of [`Admission`](super::Admission): queue bounds, timeouts, panics, holding
//! resources until the job ends, and the warm lane yielding to live jobs. Jobs that
//! must stay busy block on a channel; while one runs, tokio's paused clock does not
//! auto-advance, so those tests move time with `advance`.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

const MIB: u64 = 1024 * 1024;

fn admission(
    workers: usize,
    budget_mib: u64,
    tweak: impl FnOnce(&mut AdmissionConfig),
) -> Admission {
    let mut cfg = AdmissionConfig::new(workers);
    tweak(&mut cfg);
    Admission::new(cfg, MemoryBudget::new(budget_mib * MIB), None)
}

fn far() -> Deadline {
    Deadline::after(Duration::from_secs(3600))
}

/// A job that blocks its worker until the returned sender is used or dropped.
fn blocking_job(
    log: Option<(Arc<Mutex<Vec<&'static str>>>, &'static str)>,
) -> (mpsc::Sender<()>, impl FnOnce() + Send) {
    let (tx, rx) = mpsc::channel::<()>();
    let job = move || {
        let _ = rx.recv();
        if let Some((log, name)) = log {
            log.lock().unwrap().push(name);
        }
    };
    (tx, job)
}

/// Yields (and lets real threads progress) until `cond` holds.
async fn wait_for(adm: &Admission, cond: impl Fn(AdmissionStats) -> bool) {
    for _ in 0..5000 {
        if cond(adm.stats()) {
            return;
        }
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("condition never held: {:?}", adm.stats());
}

fn idle() -> impl Fn(AdmissionStats) -> bool {
    |s| s.busy_workers == 0 && s.reserved_bytes == 0 && s.live_waiting == 0 && s.warm_waiting == 0
}

#[tokio::test(start_paused = true)]
async fn runs_the_job_and_releases_everything() {
    let adm = admission(2, 8, |_| {});
    assert_eq!(adm.run(|| 2 + 2, MIB, far()).await, Ok(4));
    wait_for(&adm, idle()).await;
}

#[tokio::test(start_paused = true)]
async fn too_large_is_refused_before_queueing() {
    let adm = admission(1, 8, |c| c.max_waiting = 0);
    let err = adm.run(|| (), 9 * MIB, far()).await.unwrap_err();
    assert!(matches!(err, Rejected::TooLarge { .. }), "{err:?}");
    let err = adm.run_warm(|| (), 9 * MIB, far()).await.unwrap_err();
    assert!(matches!(err, Rejected::TooLarge { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_at_once() {
    let adm = admission(1, 8, |c| c.max_waiting = 1);
    let (release, job) = blocking_job(None);
    let running = tokio::spawn({
        let adm = adm.clone();
        async move { adm.run(job, MIB, far()).await }
    });
    wait_for(&adm, |s| s.busy_workers == 1).await;
    let waiting = tokio::spawn({
        let adm = adm.clone();
        async move { adm.run(|| "second", MIB, far()).await }
    });
    wait_for(&adm, |s| s.live_waiting == 1).await;
    assert_eq!(
        adm.run(|| "third", MIB, far()).await,
        Err(Rejected::QueueFull)
    );
    release.send(()).unwrap();
    assert_eq!(running.await.unwrap(), Ok(()));
    assert_eq!(waiting.await.unwrap(), Ok("second"));
    wait_for(&adm, idle()).await;
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_worker_times_out() {
    let adm = admission(1, 8, |c| c.queue_timeout = Duration::from_secs(1));
    let (release, job) = blocking_job(None);
    let _running = tokio::spawn({
        let adm = adm.clone();
        async move { adm.run(job, MIB, far()).await }
    });
    wait_for(&adm, |s| s.busy_workers == 1).await;
    let waiting = tokio::spawn({
        let adm = adm.clone();
        async move { adm.run(|| (), MIB, far()).await }
    });
    wait_for(&adm, |s| s.live_waiting == 1).await;
    tokio::time::advance(Duration::from_millis(1001)).await;
    assert_eq!(waiting.await.unwrap(), Err(Rejected::QueueTimeout));
    assert_eq!(adm.stats().live_waiting, 0);
    release.send(()).unwrap();
    wait_for(&adm, idle()).await;
}

#[tokio::test(start_paused = true)]
async fn waiting_for_memory_times_out_at_the_earlier_deadline() {
    let adm = admission(2, 8, |c| c.queue_timeout = Duration::from_secs(2));
    let all = adm.budget().reserve(8 * MIB, far()).await.unwrap();
    let start = Instant::now();
    let err = adm.run(|| (), MIB, far()).await.unwrap_err();
    assert_eq!(
        (err, start.elapsed()),
        (Rejected::QueueTimeout, Duration::from_secs(2))
    );
    let start = Instant::now();
    let soon = Deadline::after(Duration::from_millis(500));
    let err = adm.run(|| (), MIB, soon).await.unwrap_err();
    assert_eq!(
        (err, start.elapsed()),
        (Rejected::DeadlineExceeded, Duration::from_millis(500))
    );
    drop(all);
    wait_for(&adm, idle()).await;
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_caught_and_frees_the_worker() {
    let adm = admission(1, 8, |_| {});
    let err = adm
        .run(|| -> u8 { panic!("decoder exploded") }, MIB, far())
        .await;
    assert_eq!(err, Err(Rejected::Panicked("decoder exploded".into())));
    wait_for(&adm, idle()).await;
    assert_eq!(adm.run(|| 1, MIB, far()).await, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn a_vanished_caller_keeps_memory_held_until_the_job_ends() {
    let adm = admission(1, 8, |_| {});
    let (release, job) = blocking_job(None);
    let caller = tokio::spawn({
        let adm = adm.clone();
        async move { adm.run(job, 3 * MIB, far()).await }
    });
    wait_for(&adm, |s| s.busy_workers == 1).await;
    caller.abort();
    let _ = caller.await;
    // The job is still running: its memory and worker must still be accounted for.
    assert_eq!(adm.stats().reserved_bytes, 3 * MIB);
    assert_eq!(adm.stats().busy_workers, 1);
    release.send(()).unwrap();
    wait_for(&adm, idle()).await;
}

#[tokio::test(start_paused = true)]
async fn queue_wait_is_observed() {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let observer: WaitObserver = {
        let waits = waits.clone();
        Arc::new(move |lane, d| waits.lock().unwrap().push((lane, d)))
    };
    let budget = MemoryBudget::new(8 * MIB);
    let adm = Admission::new(AdmissionConfig::new(1), budget.clone(), Some(observer));
    let all = budget.reserve(8 * MIB, far()).await.unwrap();
    let waiting = tokio::spawn({
        let adm = adm.clone();
        async move { adm.run(|| (), MIB, far()).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(all);
    waiting.await.unwrap().unwrap();
    assert_eq!(
        *waits.lock().unwrap(),
        [(Lane::Live, Duration::from_millis(300))]
    );
}

#[tokio::test(start_paused = true)]
async fn warm_jobs_run_when_idle() {
    let adm = admission(2, 8, |_| {});
    assert_eq!(adm.run_warm(|| "warm", MIB, far()).await, Ok("warm"));
    wait_for(&adm, idle()).await;
}

#[tokio::test(start_paused = true)]
async fn a_waiting_live_job_goes_before_an_earlier_warm_job() {
    let adm = admission(1, 8, |_| {});
    let log = Arc::new(Mutex::new(Vec::new()));
    let (release, job) = blocking_job(Some((log.clone(), "live-1")));
    let first = tokio::spawn({
        let adm = adm.clone();
        async move { adm.run(job, MIB, far()).await }
    });
    wait_for(&adm, |s| s.busy_workers == 1).await;
    // The warm job arrives first, the live one second; the live one must run first.
    let warm = tokio::spawn({
        let (adm, log) = (adm.clone(), log.clone());
        async move {
            adm.run_warm(move || log.lock().unwrap().push("warm"), MIB, far())
                .await
        }
    });
    wait_for(&adm, |s| s.warm_waiting == 1).await;
    let live = tokio::spawn({
        let (adm, log) = (adm.clone(), log.clone());
        async move {
            adm.run(move || log.lock().unwrap().push("live-2"), MIB, far())
                .await
        }
    });
    wait_for(&adm, |s| s.live_waiting == 1).await;
    release.send(()).unwrap();
    for t in [first, warm, live] {
        t.await.unwrap().unwrap();
    }
    assert_eq!(*log.lock().unwrap(), ["live-1", "live-2", "warm"]);
}

#[tokio::test(start_paused = true)]
async fn warm_jobs_leave_a_worker_free_for_live_ones() {
    // Two workers, so at most one warm job at a time: a live job never waits.
    let adm = admission(2, 8, |_| {});
    let (release_warm, warm_job) = blocking_job(None);
    let warm1 = tokio::spawn({
        let adm = adm.clone();
        async move { adm.run_warm(warm_job, MIB, far()).await }
    });
    wait_for(&adm, |s| s.busy_workers == 1).await;
    let warm2 = tokio::spawn({
        let adm = adm.clone();
        async move { adm.run_warm(|| (), MIB, far()).await }
    });
    wait_for(&adm, |s| s.warm_waiting == 1).await;
    tokio::time::advance(Duration::from_millis(200)).await;
    assert_eq!(
        adm.stats().busy_workers,
        1,
        "second warm job took the last worker"
    );
    let start = Instant::now();
    assert_eq!(adm.run(|| "live", MIB, far()).await, Ok("live"));
    assert_eq!(start.elapsed(), Duration::ZERO);
    release_warm.send(()).unwrap();
    warm1.await.unwrap().unwrap();
    warm2.await.unwrap().unwrap();
    wait_for(&adm, idle()).await;
}

#[tokio::test(start_paused = true)]
async fn the_warm_queue_is_bounded() {
    let adm = admission(1, 8, |c| c.max_warm_waiting = 1);
    let all = adm.budget().reserve(8 * MIB, far()).await.unwrap();
    let waiting = tokio::spawn({
        let adm = adm.clone();
        async move {
            adm.run_warm(|| (), MIB, Deadline::after(Duration::from_secs(5)))
                .await
        }
    });
    wait_for(&adm, |s| s.warm_waiting == 1).await;
    assert_eq!(
        adm.run_warm(|| (), MIB, far()).await,
        Err(Rejected::QueueFull)
    );
    assert_eq!(waiting.await.unwrap(), Err(Rejected::DeadlineExceeded));
    drop(all);
}

fn with_sources(workers: usize, job_mib: u64, source_mib: u64) -> Admission {
    admission(workers, job_mib, |c| {
        c.source_budget_bytes = source_mib * MIB
    })
}

#[tokio::test(start_paused = true)]
async fn a_source_larger_than_its_share_is_refused_at_once() {
    let adm = with_sources(1, 8, 2);
    let err = adm
        .reserve_source(Lane::Live, 2 * MIB + 1, far())
        .await
        .unwrap_err();
    assert!(matches!(err, Rejected::TooLarge { .. }), "{err:?}");
    assert_eq!(adm.stats().live_waiting, 0);
}

#[tokio::test(start_paused = true)]
async fn source_bytes_are_counted_and_waited_for_in_order() {
    let adm = with_sources(1, 8, 2);
    let first = adm
        .reserve_source(Lane::Live, 2 * MIB, far())
        .await
        .unwrap();
    assert_eq!(adm.stats().reserved_bytes, 2 * MIB);
    let second = tokio::spawn({
        let adm = adm.clone();
        async move { adm.reserve_source(Lane::Live, MIB, far()).await }
    });
    wait_for(&adm, |s| s.live_waiting == 1).await;
    // The job budget is separate: a job is admitted while sources fill their share.
    assert_eq!(adm.run(|| "job", 8 * MIB, far()).await, Ok("job"));
    drop(first);
    let second = second.await.unwrap().unwrap();
    assert_eq!(adm.stats().reserved_bytes, MIB);
    drop(second);
    wait_for(&adm, idle()).await;
}

#[tokio::test(start_paused = true)]
async fn waiting_for_source_bytes_times_out() {
    let adm = with_sources(1, 8, 2);
    let _all = adm
        .reserve_source(Lane::Live, 2 * MIB, far())
        .await
        .unwrap();
    let start = Instant::now();
    let err = adm
        .reserve_source(Lane::Live, MIB, far())
        .await
        .unwrap_err();
    assert_eq!(err, Rejected::QueueTimeout);
    assert_eq!(start.elapsed(), Duration::from_secs(2), "the queue timeout");
}

#[tokio::test(start_paused = true)]
async fn warm_fetches_yield_source_bytes_to_live_ones() {
    let adm = with_sources(1, 8, 2);
    let held = adm
        .reserve_source(Lane::Live, 2 * MIB, far())
        .await
        .unwrap();
    let live = tokio::spawn({
        let adm = adm.clone();
        async move { adm.reserve_source(Lane::Live, 2 * MIB, far()).await }
    });
    wait_for(&adm, |s| s.live_waiting == 1).await;
    let warm = tokio::spawn({
        let adm = adm.clone();
        async move {
            adm.reserve_source(Lane::Warm, MIB, Deadline::after(Duration::from_secs(1)))
                .await
        }
    });
    wait_for(&adm, |s| s.warm_waiting == 1).await;
    drop(held);
    let live = live.await.unwrap().unwrap();
    // The live fetch holds the whole share now; the warm one gives up at its deadline.
    assert_eq!(warm.await.unwrap().unwrap_err(), Rejected::DeadlineExceeded);
    drop(live);
    assert!(
        adm.reserve_source(Lane::Warm, MIB, far()).await.is_ok(),
        "idle: warm fetches proceed"
    );
}
