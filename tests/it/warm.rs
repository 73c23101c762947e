//! `POST /warm` end to end (issue 5 item 5): accepted paths become cache hits without a
//! GET, a bad path or a full queue queues nothing, and the body is bounded.

use std::time::{Duration, Instant};

use http::StatusCode;

use crate::cache::{metric, noise_png};
use crate::support::{TestResponse, TestServer};

const JSON: &str = "application/json";

fn body(paths: &[&str]) -> Vec<u8> {
    serde_json::json!({ "paths": paths })
        .to_string()
        .into_bytes()
}

async fn warm(s: &TestServer, paths: &[&str]) -> TestResponse {
    s.post("/warm", JSON, &body(paths)).await
}

/// Waits (bounded) until `n` pipeline runs have finished into the cache. Polling
/// `/metrics` rather than the image itself: a GET would make the variant on its own.
async fn wait_for_misses(s: &TestServer, n: f64) {
    let until = Instant::now() + Duration::from_secs(20);
    while metric(s, "aperture_cache_misses_total").await < n {
        assert!(Instant::now() < until, "warm-up did not finish in 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn warmed_paths_are_hits_on_the_first_view() {
    let s = TestServer::signed().await;
    // One path negotiated (no format in the URL), one with an explicit format.
    let auto = s.sign("local:///photo.jpg", "rs:fit:120:120");
    let png = s.sign("local:///badge.png", "rs:fit:16:16/f:png");
    let r = warm(&s, &[&auto, &png]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), r#"{"queued":2}"#);
    wait_for_misses(&s, 2.0).await;

    // A browser's first view: it accepts WebP, the variant warm-up makes.
    let browser = [("accept", "image/avif,image/webp,*/*")];
    let first = s.get_with(&auto, &browser).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-cache"), Some("HIT"));
    assert_eq!(first.header("content-type"), Some("image/webp"));
    let first = s.get(&png).await;
    assert_eq!(first.header("x-cache"), Some("HIT"));
    assert_eq!(first.header("content-type"), Some("image/png"));
    // Documented: a client without WebP gets the source-family variant, not warmed.
    let old = s.get_with(&auto, &[("accept", "*/*")]).await;
    assert_eq!(old.header("x-cache"), Some("MISS"));
}

#[tokio::test]
async fn one_bad_path_refuses_the_request_and_queues_nothing() {
    let s = TestServer::signed().await;
    let good = s.sign("local:///photo.jpg", "rs:fit:90:90");
    let mut forged = good.clone();
    forged.replace_range(1..3, if &good[1..3] == "AA" { "BB" } else { "AA" });
    let cases = [
        (forged, "forbidden"),
        (s.raw("photo.jpg"), "raw:1"),
        (s.sign("local:///photo.jpg", "rs:nonsense"), "paths[1]"),
        (s.sign("local:///photo.jpg", "wm:0.5"), "paths[1]"),
        ("http://example.com/x/y".to_string(), "not a full URL"),
        ("/unsigned".to_string(), "paths[1]"),
    ];
    for (bad, reason) in &cases {
        let r = warm(&s, &[&good, bad]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text());
        let text = r.text();
        assert!(text.starts_with("paths[1]: "), "{bad}: {text}");
        assert!(text.contains(reason), "{bad}: {text}");
    }
    // Give a wrongly queued run time to finish, then the good path must still be cold.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(metric(&s, "aperture_cache_misses_total").await, 0.0);
    let r = s.get_with(&good, &[("accept", "image/webp")]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-cache"), Some("MISS"));
}

#[tokio::test]
async fn malformed_bodies_are_refused_with_a_reason() {
    let s = TestServer::signed().await;
    let good = s.sign("local:///photo.jpg", "rs:fit:90:90");
    for (ct, body, want) in [
        (JSON, &b"{\"paths\": [\"/a\""[..], "malformed JSON"),
        (JSON, b"{\"paths\": []}", "empty"),
        (JSON, b"{\"paths\": [42]}", "malformed JSON"),
        (JSON, b"", "malformed JSON"),
        ("text/plain", &body(&[&good])[..], "application/json"),
    ] {
        let r = s.post("/warm", ct, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(r.text().contains(want), "{want}: {}", r.text());
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
}

#[tokio::test]
async fn too_many_paths_or_bytes_are_413() {
    let s = TestServer::signed_with(|c| {
        c.limits.warm_max_paths = 2;
        c.limits.warm_max_body_bytes = 600;
    })
    .await;
    let p = s.sign("local:///photo.jpg", "rs:fit:90:90");
    let r = warm(&s, &[&p, &p, &p]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(r.text().contains("3 paths"), "{}", r.text());

    let long = format!("/{}", "x".repeat(700));
    let r = warm(&s, &[&long]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(r.text().contains("600 bytes"), "{}", r.text());
}

#[tokio::test]
async fn a_full_queue_is_429_with_retry_after_until_it_drains() {
    let s = TestServer::signed_with(|c| {
        c.limits.workers = 1;
        c.limits.warm_queue = 2;
        c.limits.warm_max_paths = 2;
    })
    .await;
    // Noise decodes and encodes slowly: the two places stay taken for a while.
    s.root.write("slow1.png", &noise_png(2000, 2000, 11));
    s.root.write("slow2.png", &noise_png(2000, 2000, 12));
    let a = s.sign("local:///slow1.png", "rs:fit:100:100");
    let b = s.sign("local:///slow2.png", "rs:fit:100:100");
    let c = s.sign("local:///photo.jpg", "rs:fit:50:50");
    let r = warm(&s, &[&a, &b]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());

    let full = warm(&s, &[&c]).await;
    assert_eq!(
        full.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        full.text()
    );
    assert_eq!(full.header("retry-after"), Some("5"));
    assert!(full.text().contains("queue full"), "{}", full.text());
    let rejected = "aperture_rejected_total{reason=\"warm_queue_full\"}";
    assert_eq!(metric(&s, rejected).await, 1.0);

    // Places are given back as the work ends.
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let r = warm(&s, &[&c]).await;
        if r.status == StatusCode::ACCEPTED {
            break;
        }
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
        assert!(Instant::now() < until, "the warm queue never drained");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn warm_is_post_only() {
    let s = TestServer::signed().await;
    let r = s.get("/warm").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("POST"));
    assert!(!r.body.is_empty());
}
