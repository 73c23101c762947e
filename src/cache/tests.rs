//! Tests of [`VariantCache`](super::VariantCache): coalescing, shared uncached errors,
//! producers surviving their callers, weight-bounded eviction, TTL.

use std::sync::atomic::AtomicUsize;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::*;

#[derive(Debug, PartialEq, Eq)]
enum TestError {
    Failed(u32),
    Lost(String),
}

impl From<ProducerLost> for TestError {
    fn from(e: ProducerLost) -> TestError {
        TestError::Lost(e.0)
    }
}

fn key(name: &str) -> VariantKey {
    VariantKey::new(format!("local://{name}"), None, "rs:fit:300:0", "webp")
}

fn variant(len: usize) -> Variant {
    Variant::new(Bytes::from(vec![7u8; len]), "image/webp", 300, 200)
}

/// A producer that counts its runs and takes 10 ms, so concurrent calls overlap.
fn counted(
    runs: &Arc<AtomicUsize>,
    len: usize,
) -> impl Future<Output = Result<Variant, TestError>> + Send + 'static {
    let runs = runs.clone();
    async move {
        runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(variant(len))
    }
}

/// Lets spawned tasks run until they block (paused clock: no real waiting).
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_hundred_concurrent_misses_run_the_producer_once() {
    let cache = VariantCache::new(1 << 20, None);
    let runs = Arc::new(AtomicUsize::new(0));
    let calls = (0..100).map(|_| {
        let (cache, producer) = (cache.clone(), counted(&runs, 1000));
        tokio::spawn(async move { cache.get_or_produce(key("a"), producer).await })
    });
    let results: Vec<_> = futures_util::future::join_all(calls).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let answers: Vec<_> = results.into_iter().map(|r| r.unwrap().unwrap()).collect();
    let first = &answers[0].0;
    assert!(answers.iter().all(|(v, _)| Arc::ptr_eq(v, first)));
    let misses = answers.iter().filter(|(_, o)| *o == Outcome::Miss).count();
    assert_eq!(misses, 1);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.coalesced), (0, 1, 99));

    let (again, outcome) = cache
        .get_or_produce(key("a"), counted(&runs, 1))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Hit);
    assert!(Arc::ptr_eq(&again, first));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn errors_are_shared_but_not_cached() {
    let cache = VariantCache::new(1 << 20, None);
    let runs = Arc::new(AtomicUsize::new(0));
    let calls = (0..10).map(|_| {
        let (cache, runs) = (cache.clone(), runs.clone());
        tokio::spawn(async move {
            let failing = async move {
                let n = runs.fetch_add(1, Ordering::SeqCst) as u32;
                tokio::time::sleep(Duration::from_millis(10)).await;
                Err::<Variant, _>(TestError::Failed(n))
            };
            cache.get_or_produce(key("a"), failing).await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(calls).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let errors: Vec<Arc<TestError>> = results
        .into_iter()
        .map(|r| r.unwrap().unwrap_err())
        .collect();
    assert_eq!(*errors[0], TestError::Failed(0));
    assert!(errors.iter().all(|e| Arc::ptr_eq(e, &errors[0])));

    let (_, outcome) = cache
        .get_or_produce(key("a"), counted(&runs, 10))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Miss, "the error was cached");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_producer_fails_every_waiter_and_is_not_cached() {
    let cache = VariantCache::new(1 << 20, None);
    let calls = (0..5).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move {
            let boom = async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                panic!("encoder bug");
            };
            cache.get_or_produce::<_, TestError>(key("a"), boom).await
        })
    });
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(
            *r.unwrap().unwrap_err(),
            TestError::Lost("encoder bug".into())
        );
    }
    let runs = Arc::new(AtomicUsize::new(0));
    assert!(
        cache
            .get_or_produce(key("a"), counted(&runs, 10))
            .await
            .is_ok()
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_goes_away_does_not_cancel_the_others() {
    let cache = VariantCache::new(1 << 20, None);
    let runs = Arc::new(AtomicUsize::new(0));
    let (finish, finished) = oneshot::channel::<()>();
    let gated = {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            let _ = finished.await;
            Ok::<_, TestError>(variant(100))
        }
    };
    let leaver = tokio::spawn({
        let cache = cache.clone();
        async move { cache.get_or_produce(key("a"), gated).await }
    });
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let stayer = tokio::spawn({
        let (cache, producer) = (cache.clone(), counted(&runs, 1));
        async move { cache.get_or_produce(key("a"), producer).await }
    });
    settle().await;
    leaver.abort(); // the client that started the work disconnects
    assert!(leaver.await.unwrap_err().is_cancelled());
    finish.send(()).unwrap();
    let (v, outcome) = stayer.await.unwrap().unwrap();
    assert_eq!((v.bytes.len(), outcome), (100, Outcome::Coalesced));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the work was restarted");
}

#[tokio::test(start_paused = true)]
async fn work_outliving_a_deadline_lands_in_the_cache() {
    let cache = VariantCache::new(1 << 20, None);
    let runs = Arc::new(AtomicUsize::new(0));
    let slow = {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, TestError>(variant(10))
        }
    };
    let deadline = crate::limits::Deadline::after(Duration::from_secs(1));
    let late = deadline.run(cache.get_or_produce(key("a"), slow)).await;
    assert_eq!(late.unwrap_err(), crate::limits::Rejected::DeadlineExceeded);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, outcome) = cache
        .get_or_produce(key("a"), counted(&runs, 1))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Hit, "the retry should be a hit");
    assert_eq!(cache.stats().misses, 1);
}

#[tokio::test]
async fn weight_bounds_the_bytes_held() {
    let capacity = 100 * 1024;
    let cache = VariantCache::new(capacity, None);
    for i in 0..50 {
        let made = async { Ok::<_, TestError>(variant(10 * 1024)) };
        cache
            .get_or_produce(key(&i.to_string()), made)
            .await
            .unwrap();
    }
    cache.run_pending_tasks().await;
    assert!(
        cache.weighted_size() <= capacity,
        "{}",
        cache.weighted_size()
    );
    assert!(
        (1..10).contains(&cache.entry_count()),
        "{}",
        cache.entry_count()
    );
    // The most recent entry stays (LRU admits every new variant).
    assert!(cache.get(&key("49")).await.is_some());

    // Larger than the whole cache: still answered, just not kept.
    let huge = async { Ok::<_, TestError>(variant(200 * 1024)) };
    let (v, _) = cache.get_or_produce(key("huge"), huge).await.unwrap();
    assert_eq!(v.bytes.len(), 200 * 1024);
    cache.run_pending_tasks().await;
    assert!(cache.get(&key("huge")).await.is_none());
    assert!(cache.weighted_size() <= capacity);
}

#[tokio::test]
async fn entries_expire_after_the_ttl() {
    // moka keeps its own (real) clock, so this one test waits for real.
    let cache = VariantCache::new(1 << 20, Some(Duration::from_millis(250)));
    let runs = Arc::new(AtomicUsize::new(0));
    cache
        .get_or_produce(key("a"), counted(&runs, 1))
        .await
        .unwrap();
    assert!(cache.get(&key("a")).await.is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(cache.get(&key("a")).await.is_none());
    let (_, outcome) = cache
        .get_or_produce(key("a"), counted(&runs, 1))
        .await
        .unwrap();
    assert_eq!((outcome, runs.load(Ordering::SeqCst)), (Outcome::Miss, 2));
}

#[tokio::test(start_paused = true)]
async fn works_with_the_service_error_type() {
    use crate::error::Kind;
    let cache = VariantCache::new(1 << 20, None);
    let failing = async { Err::<Variant, _>(Error::new(Kind::SourceNotFound, "source not found")) };
    let shared = cache.get_or_produce(key("a"), failing).await.unwrap_err();
    let owned = unshare(shared);
    assert_eq!(
        (&owned.kind, owned.public_message()),
        (&Kind::SourceNotFound, "source not found")
    );
    let lost = Error::from(ProducerLost("boom".into()));
    assert_eq!(lost.status().as_u16(), 500);
    assert!(!lost.public_message().contains("boom"));
}
