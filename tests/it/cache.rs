//! The variant cache, coalescing, format negotiation, admission control and deadlines,
//! end to end (issue 5 items 1-4 and 7, issue 4 item 3): real servers over real HTTP,
//! observed through `X-Cache`, `Vary` and `/metrics`.

use std::time::{Duration, Instant};

use aperture::pipeline::probe;
use http::StatusCode;

use crate::support::{TestResponse, TestServer};

/// The value of an unlabelled sample (or one given with its labels) on `/metrics`.
pub(crate) async fn metric(s: &TestServer, sample: &str) -> f64 {
    let text = s.get("/metrics").await.text();
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

fn dims(r: &TestResponse) -> (u32, u32) {
    let p = probe::probe(&r.body, u64::MAX).expect("an image");
    (p.width, p.height)
}

/// An RGB PNG of `w` x `h` pseudo-random pixels: noise defeats compression, so
/// decoding and re-encoding it is slow on purpose (hundreds of ms for millions of px).
pub(crate) fn noise_png(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    for p in pixels.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *p = x as u8;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_compression(png::Compression::Fast);
    enc.write_header()
        .unwrap()
        .write_image_data(&pixels)
        .unwrap();
    out
}

fn assert_retry_503(r: &TestResponse, what: &str) {
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}",
        r.text()
    );
    assert_eq!(r.header("retry-after"), Some("1"), "{what}");
    assert!(!r.body.is_empty(), "{what}: 503 without a body");
}

#[tokio::test]
async fn second_request_is_a_hit_with_the_same_bytes() {
    let s = TestServer::signed().await;
    let path = s.sign("local:///photo.jpg", "rs:fit:100:100");
    let first = s.get(&path).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-cache"), Some("MISS"));
    let second = s.get(&path).await;
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("etag"), first.header("etag"));
    assert_eq!(metric(&s, "aperture_cache_hits_total").await, 1.0);
    assert_eq!(metric(&s, "aperture_cache_misses_total").await, 1.0);
    assert!(metric(&s, "aperture_cache_bytes").await >= first.body.len() as f64);
    let text = s.get("/metrics").await.text();
    for stage in ["fetch", "decode", "resize", "encode"] {
        let sample = format!("aperture_processing_seconds_count{{stage=\"{stage}\"}} 1");
        assert!(text.contains(&sample), "{sample}\n{text}");
    }
    assert!(
        text.contains("aperture_queue_wait_seconds_count 1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_stampede_runs_the_pipeline_once() {
    let s = std::sync::Arc::new(TestServer::signed().await);
    s.root.write("big.png", &noise_png(1200, 1200, 7));
    let path = s.sign("local:///big.png", "rs:fit:300:300");
    let n = 64;
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (s, path) = (s.clone(), path.clone());
        tasks.push(tokio::spawn(async move { s.get(&path).await }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        bodies.push(r.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    let misses = metric(&s, "aperture_cache_misses_total").await;
    let hits = metric(&s, "aperture_cache_hits_total").await;
    let coalesced = metric(&s, "aperture_coalesced_total").await;
    assert_eq!(misses, 1.0, "exactly one pipeline run");
    assert_eq!(hits + coalesced, (n - 1) as f64);
}

#[tokio::test]
async fn a_replaced_source_is_not_served_stale() {
    // With the version memory off, every request asks the source for its version.
    let s = TestServer::signed_with(|c| c.cache.source_version_ttl = Duration::ZERO).await;
    s.root.write("swap.png", &noise_png(40, 20, 1));
    let path = s.sign("local:///swap.png", "rs:fit:10:10");
    let old = s.get(&path).await;
    assert_eq!(dims(&old), (10, 5));
    assert_eq!(s.get(&path).await.header("x-cache"), Some("HIT"));
    s.root.write("swap.png", &noise_png(30, 60, 2));
    let new = s.get(&path).await;
    assert_eq!(new.header("x-cache"), Some("MISS"));
    assert_eq!(dims(&new), (5, 10));
}

#[tokio::test]
async fn within_the_version_ttl_a_replaced_source_keeps_its_variant() {
    // The documented trade: hits skip the source's stat/HEAD for the TTL, so a
    // replacement shows once the remembered version expires, not before.
    let s = TestServer::signed_with(|c| {
        c.cache.source_version_ttl = Duration::from_secs(3600);
    })
    .await;
    s.root.write("keep.png", &noise_png(40, 20, 1));
    let path = s.sign("local:///keep.png", "rs:fit:10:10");
    assert_eq!(dims(&s.get(&path).await), (10, 5));
    s.root.write("keep.png", &noise_png(30, 60, 2));
    let again = s.get(&path).await;
    assert_eq!(again.header("x-cache"), Some("HIT"));
    assert_eq!(dims(&again), (10, 5));
}

#[tokio::test]
async fn revalidating_a_hit_answers_304_without_processing() {
    let s = TestServer::signed().await;
    let path = s.sign("local:///photo.jpg", "w:120");
    let first = s.get(&path).await;
    let etag = first.header("etag").unwrap().to_string();
    for _ in 0..3 {
        let r = s.get_with(&path, &[("if-none-match", &etag)]).await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED);
        assert_eq!(r.header("x-cache"), Some("HIT"));
        assert!(r.body.is_empty());
    }
    let range = s.get_with(&path, &[("range", "bytes=0-9")]).await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.body, first.body.slice(0..10));
    assert_eq!(metric(&s, "aperture_cache_misses_total").await, 1.0);
}

#[tokio::test]
async fn accept_negotiates_webp_and_varies() {
    let s = TestServer::signed().await;
    let auto = s.sign("local:///photo.jpg", "w:100");
    let cases = [
        ("image/avif,image/webp,*/*;q=0.8", "image/webp"),
        ("image/webp;q=0", "image/jpeg"),
        ("*/*", "image/jpeg"),
        ("image/*", "image/jpeg"),
    ];
    for (accept, want) in cases {
        let r = s.get_with(&auto, &[("accept", accept)]).await;
        assert_eq!(r.status, 200, "{accept}");
        assert_eq!(r.header("content-type"), Some(want), "{accept}");
        assert_eq!(r.header("vary"), Some("accept"), "{accept}");
    }
    // No Accept at all: the source's family, still varying.
    let none = s.get(&auto).await;
    assert_eq!(none.header("content-type"), Some("image/jpeg"));
    assert_eq!(none.header("vary"), Some("accept"));
    // The two formats are two cache entries.
    let again = s.get_with(&auto, &[("accept", "image/webp")]).await;
    assert_eq!(again.header("x-cache"), Some("HIT"));
    assert_eq!(again.header("content-type"), Some("image/webp"));

    // An explicit format ignores Accept and does not vary.
    let explicit = s.sign("local:///photo.jpg", "w:100/f:png");
    let r = s.get_with(&explicit, &[("accept", "image/webp")]).await;
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(r.header("vary"), None);
}

#[tokio::test]
async fn avif_is_written_on_request_and_negotiated_when_enabled() {
    let s = TestServer::signed_with(|c| c.processing.prefer_avif = true).await;
    let explicit = s.get(&s.sign("local:///badge.png", "w:40/f:avif")).await;
    assert_eq!(explicit.status, 200, "{}", explicit.text());
    assert_eq!(explicit.header("content-type"), Some("image/avif"));
    assert_eq!(&explicit.body[4..12], b"ftypavif");
    let auto = s.sign("local:///photo.jpg", "w:60");
    let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
    let r = s.get_with(&auto, &[("accept", chrome)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("image/avif"));
    assert_eq!(r.header("vary"), Some("accept"));
    let webp_only = s.get_with(&auto, &[("accept", "image/webp")]).await;
    assert_eq!(webp_only.header("content-type"), Some("image/webp"));
}

#[tokio::test]
async fn negotiation_off_means_no_vary() {
    let s = TestServer::start_with(|c| c.processing.prefer_webp = false).await;
    let path = s.sign("local:///photo.jpg", "w:100");
    let r = s.get_with(&path, &[("accept", "image/webp")]).await;
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(r.header("vary"), None);
}

#[tokio::test]
async fn busy_workers_give_a_prompt_503() {
    let s = std::sync::Arc::new(
        TestServer::start_with(|c| {
            c.limits.workers = 1;
            c.limits.queue_timeout = Duration::from_millis(100);
        })
        .await,
    );
    s.root.write("slow.png", &noise_png(2400, 2400, 3));
    let slow = s.sign("local:///slow.png", "f:png");
    let busy = {
        let (s, slow) = (s.clone(), slow.clone());
        tokio::spawn(async move { s.get(&slow).await })
    };
    // Wait until the slow job holds the only worker (and its memory).
    let start = Instant::now();
    while metric(&s, "aperture_workers_busy").await == 0.0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "slow job never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let t = Instant::now();
    let r = s.get(&s.sign("local:///photo.jpg", "w:50")).await;
    assert_retry_503(&r, "queued behind the slow job");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let sample = "aperture_rejected_total{reason=\"queue_timeout\"}";
    assert_eq!(metric(&s, sample).await, 1.0);
    assert_eq!(busy.await.unwrap().status, 200);
}

#[tokio::test]
async fn past_the_deadline_503_then_the_retry_is_a_hit() {
    let s = TestServer::start_with(|c| c.limits.request_timeout = Duration::from_millis(200)).await;
    s.root.write("slow.png", &noise_png(2400, 2400, 5));
    let path = s.sign("local:///slow.png", "f:png");
    let t = Instant::now();
    let late = s.get(&path).await;
    assert_retry_503(&late, "past the deadline");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(
        metric(&s, "aperture_rejected_total{reason=\"deadline\"}").await,
        1.0
    );
    // The work went on in the background: once its run is counted, it is cached.
    let start = Instant::now();
    while metric(&s, "aperture_cache_misses_total").await < 1.0 {
        assert!(start.elapsed() < Duration::from_secs(30), "never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let retry = s.get(&path).await;
    assert_eq!(retry.status, 200, "{}", retry.text());
    assert_eq!(retry.header("x-cache"), Some("HIT"));
    assert_eq!(dims(&retry), (2400, 2400));
    assert_eq!(metric(&s, "aperture_cache_misses_total").await, 1.0);
}

#[tokio::test]
async fn a_source_larger_than_its_share_of_the_budget_is_a_422_before_it_is_read() {
    // 1 MiB budget: a quarter (256 KiB) may hold sources not yet admitted.
    let s = TestServer::start_with(|c| c.limits.memory_budget_bytes = 1024 * 1024).await;
    s.root.write("big.jpg", &vec![0xFF; 300 * 1024]);
    let r = s.get(&s.sign("local:///big.jpg", "w:50")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.text(), "image too large to process\n");
    let sample = "aperture_rejected_total{reason=\"too_large\"}";
    assert_eq!(metric(&s, sample).await, 1.0);
    assert_eq!(metric(&s, "aperture_memory_reserved_bytes").await, 0.0);
}

#[tokio::test]
async fn a_job_larger_than_the_budget_is_a_422() {
    let s = TestServer::start_with(|c| c.limits.memory_budget_bytes = 1024 * 1024).await;
    // 1200x800 decoded at full size is ~3.8 MB: more than the whole budget.
    let r = s.get(&s.sign("local:///photo.jpg", "q:70")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(!r.body.is_empty());
    let sample = "aperture_rejected_total{reason=\"too_large\"}";
    assert_eq!(metric(&s, sample).await, 1.0);
    // A thumbnail decodes at 1/8 scale and fits.
    let small = s.get(&s.sign("local:///photo.jpg", "w:50")).await;
    assert_eq!(small.status, 200, "{}", small.text());
}

#[tokio::test]
async fn sibling_variants_decode_the_source_once_and_change_no_byte() {
    // Three variants of one JPEG at the same shrink-on-load reduction: the first
    // decodes, the other two (another format, another cachebuster) reuse its pixels.
    let reusing = TestServer::signed().await;
    let fresh = TestServer::signed_with(|c| c.cache.decoded_bytes = 0).await;
    let paths = ["w:100", "w:100/f:webp", "w:100/cb:2"];
    for (i, opts) in paths.iter().enumerate() {
        let a = reusing.get(&reusing.sign("local:///photo.jpg", opts)).await;
        let b = fresh.get(&fresh.sign("local:///photo.jpg", opts)).await;
        assert_eq!(a.status, StatusCode::OK, "{opts}: {}", a.text());
        assert_eq!(
            a.body, b.body,
            "{opts}: reusing a decode changed the output"
        );
        let reused = metric(&reusing, "aperture_decoded_cache_hits_total").await;
        assert_eq!(reused, i as f64, "{opts}");
    }
    assert_eq!(
        metric(&fresh, "aperture_decoded_cache_hits_total").await,
        0.0
    );
    assert!(metric(&reusing, "aperture_decoded_cache_bytes").await > 0.0);
    // A share of APERTURE_CACHE_MB: no cache, no decoded sources either.
    let uncached = TestServer::signed_with(|c| c.cache.capacity_bytes = 0).await;
    for opts in paths {
        let r = uncached
            .get(&uncached.sign("local:///photo.jpg", opts))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{opts}");
    }
    let none = metric(&uncached, "aperture_decoded_cache_hits_total").await;
    assert_eq!(none, 0.0);
    // Another reduction (a bigger output) decodes again.
    let big = reusing.sign("local:///photo.jpg", "w:1000");
    assert_eq!(reusing.get(&big).await.status, StatusCode::OK);
    assert_eq!(
        metric(&reusing, "aperture_decoded_cache_hits_total").await,
        2.0
    );
}

#[tokio::test]
async fn a_source_grown_within_the_version_ttl_fails_once_then_recovers() {
    // A remembered version says the source is smaller than it now is: the miss that
    // reads it refuses the bigger body (only the remembered length was reserved),
    // says so, and forgets the version, so the retry asks the source again.
    let s = TestServer::signed_with(|c| {
        c.cache.source_version_ttl = Duration::from_secs(3600);
    })
    .await;
    s.root.write("grow.png", &noise_png(20, 10, 1));
    assert_eq!(
        s.get(&s.sign("local:///grow.png", "w:10")).await.status,
        StatusCode::OK
    );
    s.root.write("grow.png", &noise_png(200, 100, 2));
    let path = s.sign("local:///grow.png", "w:20");
    let first = s.get(&path).await;
    assert_eq!(first.status, StatusCode::BAD_GATEWAY, "{}", first.text());
    assert!(first.text().contains("changed"), "{}", first.text());
    let retry = s.get(&path).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text());
    assert_eq!(dims(&retry), (20, 10));
}
