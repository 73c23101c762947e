//! The binary's serving model (`src/server/threads.rs`): several threads, each with its
//! own runtime and `SO_REUSEPORT` listener on one port. Tested on the real process: the
//! in-process `serve` the other tests use runs on the test's runtime instead.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::child::ChildServer;
use crate::support::fixtures;

/// The names of the process's threads that serve HTTP.
fn serving_threads(pid: u32) -> BTreeSet<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("aperture-io-"))
        .collect()
}

/// `count` keep-alive GETs of `path` on one new connection; returns each body's length.
async fn keep_alive_gets(addr: SocketAddr, path: &str, count: usize) -> Vec<usize> {
    let mut c = TcpStream::connect(addr).await.unwrap();
    let mut lengths = Vec::new();
    let mut buf = Vec::new();
    for _ in 0..count {
        let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
        c.write_all(req.as_bytes()).await.unwrap();
        let (head_len, body_len) = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                assert!(head.starts_with("http/1.1 200"), "{head}");
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse::<usize>().unwrap())
                    .expect("a content-length");
                break (i + 4, len);
            }
            read_more(&mut c, &mut buf).await;
        };
        while buf.len() < head_len + body_len {
            read_more(&mut c, &mut buf).await;
        }
        buf.drain(..head_len + body_len);
        lengths.push(body_len);
    }
    lengths
}

async fn read_more(c: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 64 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(30), c.read(&mut chunk))
        .await
        .expect("the server answered within 30 s")
        .unwrap();
    assert!(n > 0, "the server closed the connection mid-response");
    buf.extend_from_slice(&chunk[..n]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_thread_serves_one_port() {
    let s = ChildServer::start(&[("APERTURE_IO_THREADS", "3".into())]);
    // The listening line comes once the sockets listen; the threads start right after.
    let want: BTreeSet<String> = (0..3).map(|i| format!("aperture-io-{i}")).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while serving_threads(s.pid()) != want && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(serving_threads(s.pid()), want);

    let photo = std::fs::read(fixtures().join("photo.jpg")).unwrap();
    s.root.write("photo.jpg", &photo);
    let raw = s.raw("photo.jpg");
    let thumb = s.sign("local:///photo.jpg", "rs:fit:64:64");
    // Enough connections that the kernel hands some to each listener; every request on
    // every one of them must be answered in full.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (addr, path) = (
            s.addr,
            if i % 2 == 0 {
                raw.clone()
            } else {
                thumb.clone()
            },
        );
        tasks.push(tokio::spawn(async move {
            keep_alive_gets(addr, &path, 4).await
        }));
    }
    let mut thumb_len = None;
    for (i, t) in tasks.into_iter().enumerate() {
        let lengths = t.await.unwrap();
        assert_eq!(lengths.len(), 4);
        if i % 2 == 0 {
            assert!(lengths.iter().all(|&n| n == photo.len()), "{lengths:?}");
        } else {
            // One variant, produced once and then served from the cache by every thread.
            assert!(
                lengths.iter().all(|&n| n > 0 && n == lengths[0]),
                "{lengths:?}"
            );
            assert_eq!(*thumb_len.get_or_insert(lengths[0]), lengths[0]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_accepting_and_drains_every_thread() {
    let mut s = ChildServer::start(&[("APERTURE_IO_THREADS", "2".into())]);
    let size = 48 << 20;
    let f = std::fs::File::create(s.root.path().join("big.bin")).unwrap();
    f.set_len(size).unwrap();
    // A download in flight when the signal comes: it must finish in full.
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let req = format!("GET {} HTTP/1.1\r\nHost: t\r\n\r\n", s.raw("big.bin"));
    c.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        read_more(&mut c, &mut buf).await;
    }
    let head_len = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut body = (buf.len() - head_len) as u64;

    let pid = s.pid();
    let addr = s.addr;
    let waiter = std::thread::spawn(move || s.terminate(Duration::from_secs(30)));
    // Every listener closes at once: new connections are refused, whichever socket the
    // kernel would have picked.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            _ if tokio::time::Instant::now() > deadline => {
                panic!("pid {pid} still accepted connections 10 s after SIGTERM")
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), c.read(&mut chunk))
            .await
            .expect("the drain went on")
            .unwrap();
        if n == 0 {
            break;
        }
        body += n as u64;
    }
    assert_eq!(body, size, "the in-flight download was cut short");
    let status = tokio::task::spawn_blocking(move || waiter.join().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
}
