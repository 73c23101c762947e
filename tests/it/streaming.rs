//! Large bodies: flat memory while streaming, and aborted transfers on failure.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestServer;
use crate::support::child::ChildServer;

/// Reads a response over raw TCP, discarding the body; `sample` runs about every 4 MiB.
/// Returns (head, body bytes, clean end).
async fn stream_raw(addr: SocketAddr, path: &str, mut sample: impl FnMut()) -> (String, u64, bool) {
    let mut c = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    c.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut body = 0u64;
    let mut in_body = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let n = match tokio::time::timeout_at(deadline, c.read(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) => return (String::from_utf8_lossy(&head).into(), body, false),
            Err(_) => panic!("stream did not finish in 120 s"),
        };
        if n == 0 {
            break;
        }
        if !in_body {
            head.extend_from_slice(&buf[..n]);
            if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                body = (head.len() - i - 4) as u64;
                head.truncate(i);
                in_body = true;
            }
            assert!(head.len() < 64 * 1024, "response head too long");
        } else {
            if body % (4 << 20) < n as u64 {
                sample();
            }
            body += n as u64;
        }
    }
    (String::from_utf8_lossy(&head).into(), body, true)
}

/// The server runs as its own process so that its RSS is not shared with the tests
/// running beside this one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_sparse_file_streams_with_flat_memory() {
    let s = ChildServer::start(&[]);
    let size: u64 = 1 << 30;
    let f = std::fs::File::create(s.root.path().join("huge.bin")).unwrap();
    f.set_len(size).unwrap();
    // Warm up allocator pools and lazy statics first.
    stream_raw(s.addr, &s.raw("photo.jpg"), || {}).await;
    let before = s.rss_bytes();
    let mut peak = before;
    let (head, body, _) = stream_raw(s.addr, &s.raw("huge.bin"), || {
        peak = peak.max(s.rss_bytes());
    })
    .await;
    let after = peak.max(s.rss_bytes());
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {size}"))
    );
    assert_eq!(body, size);
    let growth = after.saturating_sub(before);
    assert!(growth < 32 << 20, "RSS grew by {} MiB", growth >> 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_failing_mid_body_aborts_the_connection() {
    let s = TestServer::signed().await;
    let size: u64 = 64 << 20;
    let file = s.root.path().join("shrinks.bin");
    std::fs::File::create(&file).unwrap().set_len(size).unwrap();
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let req = format!("GET {} HTTP/1.1\r\nHost: t\r\n\r\n", s.raw("shrinks.bin"));
    c.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = c.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // The client stops reading, the server's socket buffers fill, then the file shrinks.
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(1024)
        .unwrap();
    let mut total = n as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(k)) => total += k as u64,
            Err(_) => panic!("connection neither finished nor aborted"),
        }
    }
    assert!(
        total < size,
        "the body must be cut short, got {total} of {size}"
    );
}
