//! s3:// under failure and load: a TCP fault proxy between aperture and S3 (delayed first
//! byte, reset mid-body, throttling, 5xx), an endpoint nobody listens on, how many bytes a
//! small Range costs at S3, memory while streaming a 64 MiB object, and the binary's
//! per-event-loop S3 connection pools.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::s3::{raw, s3, server_with, source_url};
use crate::support::TestServer;
use crate::support::child::ChildServer;
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::s3::{ACCESS_KEY, BIG_KEY, BIG_LEN, BUCKET, REGION, SECRET_KEY, big_byte};

async fn proxy(fault: Fault) -> FaultProxy {
    FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], s3().port)), fault).await
}

/// aperture talking to S3 through `proxy`: one attempt, short first-byte timeout.
async fn via(proxy: &FaultProxy) -> TestServer {
    let endpoint = proxy.endpoint();
    server_with(|c| {
        s3().configure_endpoint(c, &endpoint);
        c.s3.max_attempts = 1;
        c.s3.first_byte_timeout = Duration::from_millis(500);
    })
    .await
}

#[tokio::test]
async fn a_small_range_reads_a_small_range_from_s3() {
    let p = proxy(Fault::None).await;
    let s = via(&p).await;
    let seed = s3().seed("medium.bin");
    let r = s
        .get_with(&raw(&s, "medium.bin"), &[("range", "bytes=1000-1099")])
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(&r.body[..], &seed.body[1000..1100]);
    let from_s3 = p.forwarded_bytes();
    assert!(from_s3 < 4096, "{from_s3} bytes came from S3 for 100");
    assert_eq!(p.connections(), 1, "one round trip, no HEAD first");
}

#[tokio::test]
async fn unreachable_endpoint_is_a_quick_502() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    // default attempts (3), retries with backoff included
    let s = server_with(|c| s3().configure_endpoint(c, &endpoint)).await;
    let t = Instant::now();
    let r = s.get(&raw(&s, "photo.jpg")).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.text(), "origin unavailable\n", "no internals in the body");
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
}

#[tokio::test]
async fn slow_first_byte_is_a_504() {
    let p = proxy(Fault::DelayFirstByte(Duration::from_secs(5))).await;
    let s = via(&p).await;
    let t = Instant::now();
    let r = s.get(&raw(&s, "photo.jpg")).await;
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(!r.body.is_empty());
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[tokio::test]
async fn throttling_is_a_503_with_retry_after() {
    let p = proxy(Fault::slow_down()).await;
    let s = via(&p).await;
    let r = s.get(&raw(&s, "photo.jpg")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert!(!r.body.is_empty());

    p.set_fault(Fault::internal_error());
    let r = s.get(&raw(&s, "photo.jpg")).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.text(), "origin unavailable\n");
}

/// Raw HTTP/1.1 GET; reads to the end or an abort. Returns (head, body bytes, content length).
async fn raw_get(addr: SocketAddr, path: &str, mut check: impl FnMut(u64, &[u8])) -> (String, u64) {
    let mut c = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    c.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let (mut head, mut body, mut in_body) = (Vec::new(), 0u64, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = match tokio::time::timeout_at(deadline, c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => n,
            Err(_) => panic!("neither finished nor aborted in 60 s"),
        };
        if in_body {
            check(body, &buf[..n]);
            body += n as u64;
            continue;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = head.split_off(i + 4);
            check(0, &rest);
            body = rest.len() as u64;
            in_body = true;
        }
    }
    (String::from_utf8_lossy(&head).into_owned(), body)
}

#[tokio::test]
async fn reset_mid_body_aborts_the_connection() {
    let p = proxy(Fault::ResetAfter(300_000)).await;
    let s = via(&p).await;
    let len = s3().seed("medium.bin").body.len() as u64;
    let (head, body) = raw_get(s.addr, &raw(&s, "medium.bin"), |_, _| {}).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {len}")),
        "{head}"
    );
    assert!(
        body < len,
        "a truncated body must not look complete: {body} of {len}"
    );
}

/// aperture as its own process, configured the way an operator would (environment only,
/// credentials from `AWS_*`), plus `extra`.
fn s3_child(extra: &[(&str, String)]) -> ChildServer {
    let mut env = vec![
        ("APERTURE_S3_ENABLED", "true".into()),
        ("APERTURE_S3_REGION", REGION.into()),
        ("APERTURE_S3_ENDPOINT", s3().endpoint.clone()),
        ("APERTURE_S3_FORCE_PATH_STYLE", "true".into()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
    ];
    env.extend(extra.iter().cloned());
    ChildServer::start(&env)
}

/// Each event loop has its own S3 connection pool (`aperture::io_lane`): requests arriving
/// on every loop, over many connections, all get their exact bytes, whole and ranged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_loop_reads_s3_through_its_own_pool() {
    let s = s3_child(&[("APERTURE_IO_THREADS", "3".into())]);
    let seed = s3().seed("photo.jpg");
    let path = s.sign(&source_url(BUCKET, "photo.jpg"), "raw:1");
    let mut tasks = Vec::new();
    for i in 0..18u64 {
        let (addr, path) = (s.addr, path.clone());
        let want = seed.body.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            let (head, len) = raw_get(addr, &path, |_, chunk| got.extend_from_slice(chunk)).await;
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            assert_eq!(len, want.len() as u64);
            assert!(got == want, "connection {i}: the bytes differ");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// The server runs as its own process so that its RSS is its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_object_streams_with_bounded_memory() {
    let s = s3_child(&[]);
    let raw = |key: &str| s.sign(&source_url(BUCKET, key), "raw:1");
    // warm up the client, pools and lazy statics first
    let (head, _) = raw_get(s.addr, &raw("photo.jpg"), |_, _| {}).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let before = s.rss_bytes();
    let mut peak = before;
    let mut checked = 0u64;
    let (head, body) = raw_get(s.addr, &raw(BIG_KEY), |offset, chunk| {
        // spot-check the bytes (every 4 KiB) and sample memory as it streams
        for (j, &b) in chunk.iter().enumerate().step_by(4096) {
            assert_eq!(b, big_byte(offset + j as u64), "byte {}", offset + j as u64);
            checked += 1;
        }
        if offset % (4 << 20) < chunk.len() as u64 {
            peak = peak.max(s.rss_bytes());
        }
    })
    .await;
    peak = peak.max(s.rss_bytes());
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, BIG_LEN);
    assert!(checked > 1000);
    let growth = peak.saturating_sub(before);
    assert!(growth < 40 << 20, "RSS grew by {} MiB", growth >> 20);
}
