//! Test harness: the real aperture server on 127.0.0.1:0, a real HTTP client, and
//! signing helpers. Every test gets its own server and its own source root.

#![allow(dead_code)]

pub mod child;
pub mod corpus;
pub mod fault_proxy;
pub mod logs;
pub mod s3;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aperture::cli::signed_path;
use aperture::config::Config;
use aperture::url::signature::Signer;
use aperture::{App, serve};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Key and salt of the signed test servers: hex of "secret" and "hello", the values of
/// imgproxy's documentation example.
pub const KEY_HEX: &str = "736563726574";
pub const SALT_HEX: &str = "68656c6c6f";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A source root in a temp dir, seeded with the fixtures.
pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Root {
    pub fn new() -> Root {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        for entry in std::fs::read_dir(fixtures()).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), root.join(entry.file_name())).unwrap();
            }
        }
        Root { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn write(&self, name: &str, bytes: &[u8]) {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, bytes).unwrap();
    }
}

/// A GET of a full URL (for servers other than a [`TestServer`], e.g. a child process).
pub async fn get_url(url: &str) -> TestResponse {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let req = Request::get(url).body(Empty::new()).expect("a valid URL");
    collect(client.request(req)).await
}

/// Awaits a response (30 s at most) and its whole body.
async fn collect<B>(
    resp: impl std::future::Future<
        Output = Result<http::Response<B>, hyper_util::client::legacy::Error>,
    >,
) -> TestResponse
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let resp = tokio::time::timeout(Duration::from_secs(30), resp)
        .await
        .expect("response within 30 s")
        .expect("request");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("complete body").to_bytes();
    TestResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub signer: Signer,
    pub root: Root,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    client: Client<HttpConnector, Empty<Bytes>>,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestServer {
    /// A server with signing on (key "secret", salt "hello").
    pub async fn signed() -> TestServer {
        TestServer::signed_with(|_| {}).await
    }

    /// A signed server with more changes to its configuration.
    pub async fn signed_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_with(|c| {
            c.security.pairs = vec![(
                hex::decode(KEY_HEX).unwrap(),
                hex::decode(SALT_HEX).unwrap(),
            )];
            c.security.allow_insecure = false;
            tweak(c);
        })
        .await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let root = Root::new();
        let mut config = Config::for_tests(root.path());
        tweak(&mut config);
        let s = &config.security;
        let signer = Signer::new(s.pairs.clone(), s.signature_size, s.allow_insecure);
        let app = App::new(config).expect("app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(serve(listener, app, async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            signer,
            root,
            shutdown: Some(tx),
            handle: Some(handle),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Signed path for `source` (as given to `aperture sign`) with `options`.
    pub fn sign(&self, source: &str, options: &str) -> String {
        signed_path(&self.signer, source, options, None, false)
    }

    /// Signed raw path for a file in the root.
    pub fn raw(&self, name: &str) -> String {
        self.sign(&format!("local:///{name}"), "raw:1")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut req = Request::builder().method(method).uri(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        collect(self.client.request(req.body(Empty::new()).unwrap())).await
    }

    /// A POST of `body` with the given `Content-Type`.
    pub async fn post(&self, path: &str, content_type: &str, body: &[u8]) -> TestResponse {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let req = Request::builder()
            .method(Method::POST)
            .uri(self.url(path))
            .header("content-type", content_type)
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap();
        collect(client.request(req)).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.request(Method::GET, path, headers).await
    }

    /// Sends raw bytes and reads until the server closes or `limit` passes; returns
    /// what was read and whether the server closed the connection.
    pub async fn raw_exchange(&self, request: &[u8], limit: Duration) -> (Vec<u8>, bool) {
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        s.write_all(request).await.unwrap();
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
                Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
                Err(_) => return (out, false),
            }
        }
    }

    /// HEAD of `path` answers 200 with no body and the same `names` headers as GET.
    pub async fn assert_head_matches_get(&self, path: &str, names: &[&str]) {
        let get = self.get(path).await;
        let head = self.request(Method::HEAD, path, &[]).await;
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        for name in names {
            assert_eq!(head.header(name), get.header(name), "{name}");
        }
    }

    /// Stops accepting and waits for the server task to finish draining.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), h).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
