//! One HTTP exchange against aperture and the checks every response must pass: an
//! accepted status (or an allowed 503 with `Retry-After`), a non-empty body, a
//! `Content-Length` equal to the bytes received, the `Content-Range` of a range answer,
//! one short line of text in a refusal, and, when asked (sampled), the image header's
//! format and dimensions; an answer later than the server's deadline (plus slack) is
//! counted as `late`.

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

/// How long the client waits at least for a complete answer (see [`Limits`]): past
/// aperture's 10 s request deadline, so that a late answer is counted as late.
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
    /// `None`: whatever the server picks (no extension asked for).
    pub format: Option<SourceFormat>,
    pub width: u32,
    pub height: u32,
    /// Exactly `width` x `height`; otherwise at most that on each side (`rs:fit` of a
    /// source whose oriented, animated or vector size the tool does not model).
    pub exact: bool,
}

impl Image {
    /// Exactly `width` x `height` in `format`.
    pub fn exactly(format: SourceFormat, width: u32, height: u32) -> Image {
        Image {
            format: Some(format),
            width,
            height,
            exact: true,
        }
    }

    /// At most `width` x `height`, in `format` when one is asked for.
    pub fn within(format: Option<SourceFormat>, width: u32, height: u32) -> Image {
        Image {
            format,
            width,
            height,
            exact: false,
        }
    }

    /// Whether a probed answer is this image; the message says how it is not.
    fn check(&self, format: SourceFormat, width: u32, height: u32) -> Result<(), String> {
        let format_ok = self.format.is_none_or(|f| f == format);
        let size_ok = if self.exact {
            (width, height) == (self.width, self.height)
        } else {
            (1..=self.width).contains(&width) && (1..=self.height).contains(&height)
        };
        if format_ok && size_ok {
            return Ok(());
        }
        Err(format!(
            "got {} {width}x{height}, expected {} {}{}x{}",
            format.name(),
            self.format.map_or("any format", SourceFormat::name),
            if self.exact { "" } else { "at most " },
            self.width,
            self.height
        ))
    }
}

/// Which statuses an answer may have (besides a 503 with `Retry-After` where
/// `Expect::allow_503`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Exactly this status: 200, or 206 for ranges.
    Status(u16),
    /// A refusal: any 4xx with a one-line text body (a corpus file that must be
    /// rejected).
    Refusal,
    /// A 200 image or a 4xx refusal (a corpus file whose outcome is tolerated).
    ImageOrRefusal,
}

/// What an answer's status makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The success status asked for: its body is checked (range, image).
    Success,
    /// An accepted 4xx: its body must be one short line of text.
    Refused,
    /// A 503 with `Retry-After` where allowed: admission control shedding load.
    Shed,
    Unexpected,
}

/// The one decision on a status: `retry_after` is whether the answer carries it.
pub fn verdict(accept: Accept, allow_503: bool, status: u16, retry_after: bool) -> Verdict {
    let success = match accept {
        Accept::Status(s) => s,
        Accept::Refusal | Accept::ImageOrRefusal => 200,
    };
    let refusal_ok = matches!(accept, Accept::Refusal | Accept::ImageOrRefusal);
    match status {
        s if s == success && accept != Accept::Refusal => Verdict::Success,
        400..=499 if refusal_ok => Verdict::Refused,
        503 if allow_503 && retry_after => Verdict::Shed,
        _ => Verdict::Unexpected,
    }
}

/// The longest error body that still counts as one short line.
const MAX_ERROR_LINE: usize = 300;

/// An error answer's body: one short line of UTF-8 text (a trailing newline allowed).
fn one_short_line(body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|_| "is not UTF-8 text".to_owned())?;
    let line = text.strip_suffix('\n').unwrap_or(text);
    if line.trim().is_empty() {
        Err("is blank".into())
    } else if line.contains(['\n', '\r']) {
        Err("has more than one line".into())
    } else if body.len() > MAX_ERROR_LINE {
        Err(format!("is {} bytes long", body.len()))
    } else {
        Ok(())
    }
}

pub struct Expect {
    pub accept: Accept,
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
            accept: Accept::Status(200),
            allow_503: true,
            image: Some(image),
            decode,
            range: None,
        }
    }
}

/// When an answer counts as late, and when the client gives up on it.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The server's deadline (`APERTURE_REQUEST_TIMEOUT`) plus a little slack: a
    /// complete answer that took longer is `late`.
    pub late_after: Duration,
    /// No complete answer by then: a timeout.
    pub timeout: Duration,
}

/// Slack on top of the server's deadline before an answer counts as late (the
/// deadline covers the pipeline; writing the answer and the loopback come after).
pub const LATE_SLACK: Duration = Duration::from_secs(1);

impl Limits {
    /// For a server whose request deadline is `deadline`; the client waits at least
    /// [`REQUEST_TIMEOUT`] and at least 1.5 deadlines, so that an answer a little
    /// past a long deadline is seen as late rather than cut off as a timeout.
    pub fn for_deadline(deadline: Duration) -> Limits {
        Limits {
            late_after: deadline + LATE_SLACK,
            timeout: REQUEST_TIMEOUT.max(deadline.mul_f64(1.5)),
        }
    }
}

/// GETs `base` + `path`, checks the answer against `expect` and records it in `stats`.
/// Returns the status, or `None` without a complete answer.
pub async fn fetch(
    client: &HttpClient,
    base: &str,
    path: &str,
    range: Option<(u64, u64)>,
    expect: &Expect,
    limits: Limits,
    stats: &mut Stats,
) -> Option<u16> {
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
    let (parts, body) = match tokio::time::timeout(limits.timeout, exchange).await {
        Err(_) => {
            stats.timeouts += 1;
            stats.fail(format!("timeout after {:?}: {path}", limits.timeout));
            return None;
        }
        Ok(Err(e)) => {
            stats.errors += 1;
            stats.fail(format!("{path}: {e}"));
            return None;
        }
        Ok(Ok(x)) => x,
    };
    let elapsed = start.elapsed();
    stats.latency(elapsed);
    stats.bytes += body.len() as u64;
    let status = parts.status.as_u16();
    *stats.by_status.entry(status).or_default() += 1;
    if elapsed > limits.late_after {
        stats.late += 1;
        stats.fail(format!(
            "{path}: answered {status} after {elapsed:.1?}, past the server's deadline + {LATE_SLACK:?} ({:?})",
            limits.late_after
        ));
    }
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
    let retry_after = parts.headers.contains_key(RETRY_AFTER);
    match verdict(expect.accept, expect.allow_503, status, retry_after) {
        Verdict::Success => {}
        Verdict::Shed => {
            stats.retry_503 += 1;
            return Some(status);
        }
        Verdict::Refused => {
            if let (Err(why), false) = (one_short_line(&body), body.is_empty()) {
                stats.unexpected += 1;
                stats.fail(format!(
                    "{path}: status {status} with a body that {why}: {}",
                    snippet(&body)
                ));
            }
            return Some(status);
        }
        Verdict::Unexpected => {
            stats.unexpected += 1;
            stats.fail(format!(
                "{path}: status {status}, expected {}: {}",
                describe(expect.accept),
                snippet(&body)
            ));
            return Some(status);
        }
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
        let checked = probe(&body, u64::MAX)
            .map_err(|e| format!("header does not decode: {e}"))
            .and_then(|p| img.check(p.format, p.width, p.height));
        if let Err(e) = checked {
            stats.decode_failures += 1;
            stats.fail(format!("{path}: {e}"));
        }
    }
    Some(status)
}

fn describe(accept: Accept) -> String {
    match accept {
        Accept::Status(s) => s.to_string(),
        Accept::Refusal => "a 4xx".into(),
        Accept::ImageOrRefusal => "200 or a 4xx".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_by_status_class() {
        use Verdict::*;
        let (image, range) = (Accept::Status(200), Accept::Status(206));
        let (reject, either) = (Accept::Refusal, Accept::ImageOrRefusal);
        // (accept, 503 allowed, status, Retry-After, verdict)
        let cases = [
            (image, true, 200, false, Success),
            (image, true, 422, false, Unexpected),
            (image, true, 503, true, Shed),
            (image, true, 503, false, Unexpected),
            (image, false, 503, true, Unexpected),
            (image, true, 500, false, Unexpected),
            (range, false, 206, false, Success),
            (range, false, 200, false, Unexpected),
            // a file that must be refused: any 4xx, never an image, no 5xx but a shed
            (reject, true, 400, false, Refused),
            (reject, true, 413, false, Refused),
            (reject, true, 415, false, Refused),
            (reject, true, 422, false, Refused),
            (reject, true, 429, true, Refused),
            (reject, true, 200, false, Unexpected),
            (reject, true, 503, true, Shed),
            (reject, true, 503, false, Unexpected),
            (reject, true, 500, false, Unexpected),
            (reject, true, 502, false, Unexpected),
            (reject, true, 504, false, Unexpected),
            // a tolerated file: an image or a refusal
            (either, true, 200, false, Success),
            (either, true, 422, false, Refused),
            (either, true, 503, true, Shed),
            (either, true, 500, false, Unexpected),
            (either, true, 204, false, Unexpected),
            (either, true, 302, false, Unexpected),
        ];
        for (accept, allow_503, status, retry_after, want) in cases {
            assert_eq!(
                verdict(accept, allow_503, status, retry_after),
                want,
                "{accept:?} allow_503={allow_503} {status} retry_after={retry_after}"
            );
        }
    }

    #[test]
    fn refusal_bodies_are_one_short_line() {
        assert!(one_short_line(b"source image cannot be decoded\n").is_ok());
        assert!(one_short_line(b"no newline at the end").is_ok());
        assert!(one_short_line(b"\n").is_err());
        assert!(one_short_line(b"   ").is_err());
        assert!(one_short_line(b"two\nlines\n").is_err());
        assert!(one_short_line(b"cr\r\n").is_err());
        assert!(one_short_line(b"\xff\xd8\xff").is_err());
        assert!(one_short_line(&[b'x'; MAX_ERROR_LINE + 1]).is_err());
        assert!(one_short_line(&[b'x'; MAX_ERROR_LINE]).is_ok());
    }

    #[test]
    fn image_checks_exact_and_bounded_sizes() {
        use SourceFormat::{Jpeg, Png, Webp};
        let exact = Image::exactly(Webp, 120, 120);
        assert!(exact.check(Webp, 120, 120).is_ok());
        assert!(exact.check(Webp, 120, 119).is_err());
        assert!(exact.check(Jpeg, 120, 120).is_err());
        let fit = Image::within(Some(Jpeg), 300, 300);
        assert!(fit.check(Jpeg, 300, 200).is_ok());
        assert!(fit.check(Jpeg, 1, 300).is_ok());
        assert!(fit.check(Jpeg, 301, 200).is_err());
        assert!(fit.check(Jpeg, 0, 200).is_err());
        assert!(fit.check(Png, 300, 200).is_err());
        let any = Image::within(None, 300, 300);
        assert!(any.check(Png, 64, 32).is_ok());
        let e = any.check(Png, 640, 427).unwrap_err();
        assert!(e.contains("any format at most 300x300"), "{e}");
    }

    #[test]
    fn limits_follow_the_deadline() {
        let l = Limits::for_deadline(Duration::from_secs(10));
        assert_eq!(l.late_after, Duration::from_secs(11));
        assert_eq!(l.timeout, REQUEST_TIMEOUT);
        let l = Limits::for_deadline(Duration::from_millis(500));
        assert_eq!(l.late_after, Duration::from_millis(1500));
        assert_eq!(l.timeout, REQUEST_TIMEOUT);
        // a long deadline: the client still waits past the late mark
        let l = Limits::for_deadline(Duration::from_secs(30));
        assert_eq!(l.late_after, Duration::from_secs(31));
        assert_eq!(l.timeout, Duration::from_secs(45));
    }
}
