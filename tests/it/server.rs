//! Server behaviour: health, metrics, limits, HTTP/2, slow clients, graceful shutdown.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::support::TestServer;

#[tokio::test]
async fn health_and_metrics() {
    let s = TestServer::signed().await;
    let r = s.get("/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ok\n");
    s.get(&s.raw("photo.jpg")).await;
    s.get(&s.raw("missing.jpg")).await;
    // The access record (and its metrics) is written when the body finishes.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let m = s.get("/metrics").await;
    assert_eq!(m.status, 200);
    // The body is OpenMetrics (counter families named without `_total`, `# EOF`), so the
    // type must say so or Prometheus' text parser mismatches the TYPE lines.
    assert_eq!(
        m.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = m.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains(
            "aperture_http_requests_total{route=\"image\",method=\"GET\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "aperture_http_requests_total{route=\"image\",method=\"GET\",status=\"404\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("aperture_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(
        text.contains("aperture_errors_total{kind=\"SourceNotFound\",fault=\"client\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn long_urls_and_big_headers_get_a_body_unless_hyper_answers() {
    let s = TestServer::start_with(|c| {
        c.server.max_url_bytes = 512;
        c.server.max_header_bytes = 2048;
    })
    .await;
    let long = format!("/insecure/raw:1/plain/local:///{}.jpg", "a".repeat(600));
    let r = s.get(&long).await;
    assert_eq!(r.status, 414);
    assert!(!r.body.is_empty());
    let big = "x".repeat(3000);
    let r = s.get_with("/health", &[("x-big", &big)]).await;
    assert_eq!(r.status, 431);
    assert!(!r.body.is_empty());

    // README "HTTP behaviour": what hyper cannot parse never reaches our handlers;
    // hyper answers it itself, without a body, and closes the connection.
    let many: String = (0..101).map(|i| format!("x-{i}: 1\r\n")).collect();
    let many = format!("GET /health HTTP/1.1\r\nHost: a\r\n{many}\r\n");
    // A head that fills the read buffer, 2 x max(2048 + 512, 8192) bytes, unfinished.
    // Exactly that much, so nothing is left unread when hyper closes (unread bytes
    // would make the close a reset that can discard the answer before it is read).
    let mut huge = b"GET /health HTTP/1.1\r\nHost: a\r\nx-big: ".to_vec();
    huge.resize(2 * 8192, b'x');
    let cases = [
        (b"NOT A REQUEST LINE\r\n\r\n".to_vec(), "HTTP/1.1 400"),
        (many.into_bytes(), "HTTP/1.1 431"),
        (huge, "HTTP/1.1 431"),
    ];
    for (request, status) in cases {
        let (out, closed) = s.raw_exchange(&request, Duration::from_secs(5)).await;
        let out = String::from_utf8_lossy(&out);
        assert!(out.starts_with(status), "{out}");
        assert!(out.contains("content-length: 0\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\n"), "no body: {out}");
        assert!(closed, "{out}");
    }
}

#[tokio::test]
async fn an_http11_request_needs_exactly_one_host() {
    let s = TestServer::start_with(|_| {}).await;
    let exchange = |req: &'static [u8]| {
        let s = &s;
        async move {
            let (out, _) = s.raw_exchange(req, Duration::from_secs(2)).await;
            String::from_utf8_lossy(&out).into_owned()
        }
    };
    let out = exchange(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(out.ends_with("missing Host header\n"), "{out}");
    let two = b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n";
    let out = exchange(two).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    let out = exchange(b"GET /health HTTP/1.0\r\n\r\n").await;
    assert!(
        out.starts_with("HTTP/1.0 200"),
        "HTTP/1.0 may leave Host out: {out}"
    );
}

#[tokio::test]
async fn http2_prior_knowledge() {
    let s = TestServer::signed().await;
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Empty<Bytes>>();
    let resp = client
        .get(s.url(&s.raw("photo.jpg")).parse().unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let len: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), len);
}

#[tokio::test]
async fn silent_and_slow_clients_are_cut_off() {
    let s = TestServer::start_with(|c| {
        c.server.header_read_timeout = Duration::from_millis(500);
    })
    .await;
    // Connects and sends nothing.
    let (_, closed) = s.raw_exchange(b"", Duration::from_secs(5)).await;
    assert!(closed, "silent connection must be closed");
    // Sends half a request line and stalls.
    let (_, closed) = s.raw_exchange(b"GET /hea", Duration::from_secs(5)).await;
    assert!(closed, "stalled headers must be closed");
    // Idle keep-alive after a complete request.
    let (out, closed) = s
        .raw_exchange(
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    assert!(closed, "idle keep-alive connection must be closed");
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let s = TestServer::signed().await;
    let size = 32 * 1024 * 1024;
    let f = std::fs::File::create(s.root.path().join("big.bin")).unwrap();
    f.set_len(size).unwrap();
    let path = s.raw("big.bin");
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let resp = client.get(s.url(&path).parse().unwrap()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let addr = s.addr;
    // Shut down while the body is still being read.
    let stopper = tokio::spawn(s.shutdown());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len() as u64, size);
    stopper.await.unwrap();
    // New connections are refused after shutdown.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn connection_cap_holds_new_clients_in_the_backlog() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start_with(|c| c.server.max_connections = 1).await;
    let req = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut first = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    first.write_all(req).await.unwrap();
    let mut buf = [0u8; 512];
    let n = first.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // `first` stays open (keep-alive) and holds the only slot.
    let mut second = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    second.write_all(req).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(500), second.read(&mut buf)).await;
    assert!(
        waited.is_err(),
        "second client must wait while the cap is reached"
    );
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buf))
        .await
        .expect("served once the slot frees")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}
