//! `POST /warm`: make variants before anyone asks for them (issue 5 item 5).
//!
//! The body is `{"paths": ["/SIGNATURE/OPTIONS/plain/SOURCE", ...]}`. Every path is
//! checked the way a GET of it would be ([`handler::resolve`]: signature, grammar,
//! options, expiry) plus what warm-up cannot do (`raw:1`, redirects, options the
//! pipeline does not support yet). The request is all or nothing: one bad path is a
//! 400 naming its index and reason, and a queue without room for every path is a 429;
//! either way nothing is queued. Otherwise the answer is `202 {"queued": N}` at once
//! and the variants are made in the background.
//!
//! **Priority.** Each path goes through the variant cache's `get_or_produce` (so a
//! live request for the same variant coalesces onto the warm run instead of
//! duplicating it) with a producer in the warm lane ([`Lane::Warm`]): it only takes
//! memory and a worker no live job is waiting for. How many warm runs are in flight
//! at once is bounded by the [`WarmQueue`](crate::limits::WarmQueue)'s runners.
//!
//! **Format.** Warm-up has no `Accept` header. A path warms the variant a current
//! browser would get on its first page view: the URL's explicit format if it names one,
//! else what [`WARM_ACCEPT`] negotiates (WebP with `APERTURE_AUTO_WEBP` on, the default),
//! else the source's family. An old browser or curl without `image/webp` in its
//! `Accept` gets the source-family variant, which warm-up does not make; name the
//! format in the URL (`f:jpg`) to warm exactly that one.
//!
//! **Body.** Only `application/json`; read with the size limit enforced while the
//! bytes arrive (`APERTURE_WARM_MAX_BODY_BYTES`, 413 past it, also when the
//! `Content-Length` announces more) and within `APERTURE_REQUEST_TIMEOUT`, so a client
//! trickling a body cannot hold a connection and a buffer forever.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde::Deserialize;

use super::resolved::Resolved;
use super::{handler, processed};
use crate::delivery::body::ResponseBody;
use crate::error::{Error, Kind};
use crate::limits::Lane;
use crate::limits::warm_queue::Ticket;
use crate::options::OutputFormat;
use crate::pipeline::{self, negotiate};
use crate::state::App;

/// The `Accept` header warm-up negotiates with: a current browser's image types.
pub const WARM_ACCEPT: &str = "image/avif,image/webp";

/// What a client is told to wait when the queue is full. Longer than the live 503's
/// second: a full warm queue holds thousands of paths and drains at processing speed.
const RETRY_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WarmRequest {
    paths: Vec<String>,
}

/// One accepted path, ready to run.
struct Warm {
    /// The path's source and options, as a GET of it resolves them.
    resolved: Arc<Resolved>,
    format: Option<OutputFormat>,
}

pub async fn handle(
    app: &Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Error> {
    check_content_type(req.headers())?;
    let limits = &app.config.limits;
    let body = read_body(req, limits.warm_max_body_bytes, limits.request_timeout).await?;
    let paths = parse(&body, limits.warm_max_paths)?;
    let warms = paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            check_path(app, path)
                .map_err(|e| Error::new(Kind::BadRequest, format!("paths[{i}]: {e}")))
        })
        .collect::<Result<Vec<Warm>, Error>>()?;
    let Some(tickets) = app.warm.try_enter(warms.len()) else {
        app.metrics.processing.reject("warm_queue_full");
        return Err(Error::new(
            Kind::TooManyRequests {
                retry_after: RETRY_AFTER,
            },
            format!(
                "warm-up queue full ({} paths pending, room for {}): try again later",
                app.warm.pending(),
                app.warm.capacity()
            ),
        ));
    };
    let queued = warms.len();
    for (warm, ticket) in warms.into_iter().zip(tickets) {
        tokio::spawn(run(Arc::clone(app), warm, ticket));
    }
    Ok(accepted(queued))
}

/// `application/json`, parameters (`charset=utf-8`) allowed.
fn check_content_type(headers: &HeaderMap) -> Result<(), Error> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(Error::new(
        Kind::BadRequest,
        "expected Content-Type: application/json",
    ))
}

async fn read_body(req: Request<Incoming>, limit: usize, within: Duration) -> Result<Bytes, Error> {
    let too_large = || {
        Error::new(
            Kind::PayloadTooLarge,
            format!("request body larger than {limit} bytes"),
        )
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let body = Limited::new(req.into_body(), limit);
    match tokio::time::timeout(within, body.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(
            Error::new(Kind::BadRequest, "could not read the request body")
                .with_cause(BoxedCause(e)),
        ),
        Err(_) => Err(Error::new(
            Kind::BadRequest,
            format!("request body not received within {within:?}"),
        )),
    }
}

/// The paths of a well-formed body: a non-empty list of at most `max` strings.
fn parse(body: &[u8], max: usize) -> Result<Vec<String>, Error> {
    let req: WarmRequest = serde_json::from_slice(body)
        .map_err(|e| Error::new(Kind::BadRequest, format!("malformed JSON body: {e}")))?;
    if req.paths.is_empty() {
        return Err(Error::new(Kind::BadRequest, "`paths` is empty"));
    }
    if req.paths.len() > max {
        return Err(Error::new(
            Kind::PayloadTooLarge,
            format!(
                "{} paths, more than the {max} one request may warm",
                req.paths.len()
            ),
        ));
    }
    Ok(req.paths)
}

/// Accepts `path` exactly when a GET of it would be processed; the reason otherwise.
fn check_path(app: &App, path: &str) -> Result<Warm, String> {
    if !path.starts_with('/') {
        return Err("expected a path starting with `/` (not a full URL)".into());
    }
    let max = app.config.server.max_url_bytes;
    if path.len() > max {
        return Err(format!("longer than {max} bytes"));
    }
    let resolved = handler::resolve(app, path).map_err(|e| e.public_message().to_string())?;
    let opts = &resolved.opts;
    if opts.raw {
        return Err("raw:1 serves the source unchanged: nothing to warm".into());
    }
    if opts.redirect {
        return Err("a redirect is not processed: nothing to warm".into());
    }
    pipeline::check_supported(opts, app.watermark.is_some())
        .map_err(|e| Error::from(e).public_message().to_string())?;
    let auto = processed::auto_formats(app);
    let format = negotiate::negotiate(opts.format, Some(WARM_ACCEPT), auto).format;
    Ok(Warm { resolved, format })
}

/// Makes one variant in the background; failures are only logged (nobody is waiting,
/// and the path's first GET will report its error).
async fn run(app: Arc<App>, warm: Warm, ticket: Ticket) {
    let _running = ticket.start().await;
    let source = handler::source_path(&warm.resolved.source);
    match processed::lookup(&app, &warm.resolved, warm.format, Lane::Warm).await {
        Ok((_, outcome)) => tracing::debug!(source, outcome = outcome.as_str(), "warmed"),
        Err(e) => tracing::info!(
            source,
            status = e.status().as_u16(),
            error = %e,
            cause = e.cause_chain(),
            "warm-up failed"
        ),
    }
}

fn accepted(queued: usize) -> Response<ResponseBody> {
    let body = serde_json::json!({ "queued": queued }).to_string();
    let len = body.len();
    let mut r = Response::new(ResponseBody::full(body));
    *r.status_mut() = StatusCode::ACCEPTED;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// hyper's boxed body error as an `Error` cause (the box itself is not `Error`).
#[derive(Debug)]
struct BoxedCause(Box<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for BoxedCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BoxedCause {}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        h
    }

    #[test]
    fn only_json_is_accepted() {
        assert!(check_content_type(&headers("application/json")).is_ok());
        assert!(check_content_type(&headers("Application/JSON; charset=utf-8")).is_ok());
        for bad in ["text/plain", "application/jsonx", ""] {
            let e = check_content_type(&headers(bad)).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
        }
        assert!(check_content_type(&HeaderMap::new()).is_err());
    }

    #[test]
    fn bodies_are_parsed_strictly() {
        assert_eq!(parse(br#"{"paths":["/a/b"]}"#, 2).unwrap(), vec!["/a/b"]);
        for (body, status) in [
            (&br#"{"paths":[]}"#[..], 400),
            (b"{\"paths\":", 400),
            (br#"{"paths":[1]}"#, 400),
            (br#"{"path":["/a"]}"#, 400),
            (br#"["/a"]"#, 400),
            (br#"{"paths":["/a","/b","/c"]}"#, 413),
        ] {
            let e = parse(body, 2).unwrap_err();
            assert_eq!(e.status(), status, "{}", String::from_utf8_lossy(body));
            assert!(!e.public_message().contains('\n'));
        }
    }

    #[test]
    fn the_answer_is_json_with_a_length() {
        let r = accepted(2);
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(r.headers()[header::CONTENT_LENGTH], "12");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    }
}
