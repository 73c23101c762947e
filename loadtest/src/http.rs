//! One HTTP exchange against aperture and the checks every response must pass: the
//! expected status (or an allowed 503 with `Retry-After`), a non-empty body, a
//! `Content-Length` equal to the bytes received, the `Content-Range` of a range answer,
//! and, when asked (sampled), the image header's format and dimensions.

use std::time::{Duration, Instant};

use aperture::pipeline::SourceFormat;
use aperture::pipeline::probe::probe;
use bytes::Bytes;
use http::Request;
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE, RETRY_AFTER};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::stats::Stats;

pub type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// Longer than aperture's 10 s request deadline: a request that outlives it is a server
/// that missed its deadline, which is exactly what the test must catch.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

pub fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    // keep every user's connection: the stampede alone holds 200 at once
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build(connector)
}

/// An image answer's expected header.
#[derive(Debug, Clone, Copy)]
pub struct Image {
    pub format: SourceFormat,
    pub width: u32,
    pub height: u32,
}

pub struct Expect {
    /// 200, or 206 for ranges.
    pub status: u16,
    /// Admission control may shed load with 503 + Retry-After (processed images only).
    pub allow_503: bool,
    pub image: Option<Image>,
    /// Probe this answer's header (the caller samples, e.g. every 10th).
    pub decode: bool,
    /// `(first, last, total)` of a single-range answer.
    pub range: Option<(u64, u64, u64)>,
}

impl Expect {
    /// A processed image: 200 (or a 503 with Retry-After), header probed when `decode`.
    pub fn image(image: Image, decode: bool) -> Expect {
        Expect {
            status: 200,
            allow_503: true,
            image: Some(image),
            decode,
            range: None,
        }
    }
}

/// GETs `base` + `path`, checks the answer against `expect` and records it in `stats`.
pub async fn fetch(
    client: &HttpClient,
    base: &str,
    path: &str,
    range: Option<(u64, u64)>,
    expect: &Expect,
    stats: &mut Stats,
) {
    let mut req = Request::get(format!("{base}{path}"));
    if let Some((a, b)) = range {
        req = req.header(RANGE, format!("bytes={a}-{b}"));
    }
    let req = req.body(Empty::new()).expect("request parts are valid");
    let start = Instant::now();
    let exchange = async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| format!("request: {e:?}"))?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok::<_, String>((parts, body))
    };
    stats.requests += 1;
    let (parts, body) = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Err(_) => {
            stats.timeouts += 1;
            stats.fail(format!("timeout after {REQUEST_TIMEOUT:?}: {path}"));
            return;
        }
        Ok(Err(e)) => {
            stats.errors += 1;
            stats.fail(format!("{path}: {e}"));
            return;
        }
        Ok(Ok(x)) => x,
    };
    let elapsed = start.elapsed();
    stats.latency(elapsed);
    stats.bytes += body.len() as u64;
    let status = parts.status.as_u16();
    *stats.by_status.entry(status).or_default() += 1;
    if let Some(v) = parts.headers.get("x-cache").and_then(|v| v.to_str().ok()) {
        *stats.x_cache.entry(v.to_owned()).or_default() += 1;
        if v == "HIT" {
            stats.hit_latency(elapsed);
        }
    }
    if body.is_empty() {
        stats.empty += 1;
        stats.fail(format!("{path}: empty body with status {status}"));
    }
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared != Some(body.len() as u64) {
        stats.mismatches += 1;
        stats.fail(format!(
            "{path}: Content-Length {declared:?} but {} bytes received",
            body.len()
        ));
    }
    if status != expect.status {
        if status == 503 && expect.allow_503 && parts.headers.contains_key(RETRY_AFTER) {
            stats.retry_503 += 1;
        } else {
            stats.unexpected += 1;
            stats.fail(format!(
                "{path}: status {status}, expected {}: {}",
                expect.status,
                snippet(&body)
            ));
        }
        return;
    }
    if let Some((a, b, total)) = expect.range {
        let want = format!("bytes {a}-{b}/{total}");
        let got = parts
            .headers
            .get(CONTENT_RANGE)
            .and_then(|v| v.to_str().ok());
        if got != Some(want.as_str()) || body.len() as u64 != b - a + 1 {
            stats.mismatches += 1;
            stats.fail(format!(
                "{path}: Content-Range {got:?} with {} bytes, expected `{want}`",
                body.len()
            ));
        }
    }
    if let (Some(img), true) = (expect.image, expect.decode) {
        stats.decoded += 1;
        match probe(&body, u64::MAX) {
            Ok(p) if p.format == img.format && (p.width, p.height) == (img.width, img.height) => {}
            Ok(p) => {
                stats.decode_failures += 1;
                stats.fail(format!(
                    "{path}: got {} {}x{}, expected {} {}x{}",
                    p.format.name(),
                    p.width,
                    p.height,
                    img.format.name(),
                    img.width,
                    img.height
                ));
            }
            Err(e) => {
                stats.decode_failures += 1;
                stats.fail(format!("{path}: header does not decode: {e}"));
            }
        }
    }
}

/// GETs a text document (used for `/metrics`).
pub async fn get_text(client: &HttpClient, url: &str) -> Result<String, String> {
    let req = Request::get(url)
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("{url}: status {}", resp.status()));
        }
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&body.to_bytes()).into_owned())
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{url}: timeout"))?
}

/// The value of an unlabelled Prometheus sample, e.g. `aperture_cache_misses_total`.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

fn snippet(body: &Bytes) -> String {
    let end = body.len().min(120);
    String::from_utf8_lossy(&body[..end]).trim().to_owned()
}
