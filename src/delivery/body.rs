//! The one response body type, and the owner of the never-empty rule.
//!
//! Every response aperture sends has a [`ResponseBody`]. It is either a buffer
//! (errors, health, metrics, later image variants), a stream with a promised length
//! (blobs), or nothing (HEAD, 304). Two guarantees live here and nowhere else:
//!
//! 1. [`enforce_never_empty`] turns any 2xx response whose body would be empty into a
//!    500 with a body, before the headers leave. The handlers should never produce
//!    one; this is the net that makes "200 with an empty body" impossible.
//! 2. A stream that fails, ends early or runs long yields an error frame. hyper then
//!    aborts the connection (HTTP/1) or resets the stream (HTTP/2) instead of ending
//!    the message, so a client or CDN sees a failed transfer and never caches a short
//!    200/206.
//!
//! The body also carries the request's [`RequestLog`], so the access log line and the
//! metrics are written when the last byte is sent (or the transfer dies), with the
//! bytes actually sent.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http::{Method, Response, StatusCode};
use http_body::{Frame, SizeHint};

use crate::source::{BodyStream, SourceError};
use crate::telemetry::RequestLog;

/// Why a body stopped before its promised end; hyper aborts the connection on it.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("source failed mid-body: {0}")]
    Source(#[from] SourceError),
    #[error("source ended {missing} bytes short of the promised length")]
    Short { missing: u64 },
    #[error("source sent more bytes than promised")]
    Long,
}

enum Inner {
    Empty,
    Full(Option<Bytes>),
    Stream { stream: BodyStream, remaining: u64 },
}

pub struct ResponseBody {
    inner: Inner,
    log: Option<RequestLog>,
}

impl ResponseBody {
    /// No body: HEAD answers, 304, and the like.
    pub fn empty() -> ResponseBody {
        ResponseBody {
            inner: Inner::Empty,
            log: None,
        }
    }

    pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
        let bytes = bytes.into();
        ResponseBody {
            inner: if bytes.is_empty() {
                Inner::Empty
            } else {
                Inner::Full(Some(bytes))
            },
            log: None,
        }
    }

    /// A stream that must deliver exactly `len` bytes.
    pub fn stream(stream: BodyStream, len: u64) -> ResponseBody {
        ResponseBody {
            inner: if len == 0 {
                Inner::Empty
            } else {
                Inner::Stream {
                    stream,
                    remaining: len,
                }
            },
            log: None,
        }
    }

    /// Bytes this body will deliver.
    pub fn len(&self) -> u64 {
        match &self.inner {
            Inner::Empty => 0,
            Inner::Full(b) => b.as_ref().map_or(0, |b| b.len() as u64),
            Inner::Stream { remaining, .. } => *remaining,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn attach_log(&mut self, mut log: RequestLog) {
        log.set_expected_bytes(self.len());
        self.log = Some(log);
    }

    fn record(&mut self, n: usize) {
        if let Some(log) = &mut self.log {
            log.add_bytes(n as u64);
        }
    }

    fn fail(&mut self, e: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.inner = Inner::Empty;
        if let Some(log) = &mut self.log {
            log.aborted(&e);
        }
        Poll::Ready(Some(Err(e)))
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        match &mut this.inner {
            Inner::Empty => Poll::Ready(None),
            Inner::Full(bytes) => match bytes.take() {
                Some(b) => {
                    this.record(b.len());
                    Poll::Ready(Some(Ok(Frame::data(b))))
                }
                None => Poll::Ready(None),
            },
            Inner::Stream { stream, remaining } => match Pin::new(stream).poll_next(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    let n = chunk.len() as u64;
                    if n > *remaining {
                        return this.fail(BodyError::Long);
                    }
                    *remaining -= n;
                    if *remaining == 0 {
                        this.inner = Inner::Empty;
                    }
                    this.record(chunk.len());
                    Poll::Ready(Some(Ok(Frame::data(chunk))))
                }
                Poll::Ready(Some(Err(e))) => this.fail(BodyError::Source(e)),
                Poll::Ready(None) => {
                    let missing = *remaining;
                    this.fail(BodyError::Short { missing })
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Empty => true,
            Inner::Full(b) => b.is_none(),
            Inner::Stream { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len())
    }
}

/// The never-empty rule: a 2xx answer to anything but HEAD must carry bytes. Runs on
/// every response just before it is sent; the replacement is a 500 with a body, and
/// the handler's mistake is logged as a bug.
pub fn enforce_never_empty(
    method: &Method,
    response: Response<ResponseBody>,
    make_error: impl FnOnce() -> Response<ResponseBody>,
) -> Response<ResponseBody> {
    let status = response.status();
    let bodiless = *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status.is_informational();
    if status.is_success() && !bodiless && response.body().is_empty() {
        tracing::error!(%status, "bug: a handler produced an empty success body; sent 500");
        return make_error();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn chunks(parts: Vec<Result<&'static [u8], SourceError>>) -> BodyStream {
        Box::pin(futures_util::stream::iter(
            parts.into_iter().map(|r| r.map(Bytes::from_static)),
        ))
    }

    #[tokio::test]
    async fn exact_stream_passes() {
        let b = ResponseBody::stream(chunks(vec![Ok(b"ab"), Ok(b"cd")]), 4);
        assert_eq!(http_body::Body::size_hint(&b).exact(), Some(4));
        let out = b.collect().await.unwrap().to_bytes();
        assert_eq!(&out[..], b"abcd");
    }

    #[tokio::test]
    async fn short_long_and_failing_streams_error() {
        let short = ResponseBody::stream(chunks(vec![Ok(b"ab")]), 4);
        assert!(matches!(
            short.collect().await,
            Err(BodyError::Short { missing: 2 })
        ));
        let long = ResponseBody::stream(chunks(vec![Ok(b"abcdef")]), 4);
        assert!(matches!(long.collect().await, Err(BodyError::Long)));
        let failing = ResponseBody::stream(chunks(vec![Ok(b"ab"), Err(SourceError::Timeout)]), 4);
        assert!(matches!(
            failing.collect().await,
            Err(BodyError::Source(SourceError::Timeout))
        ));
    }

    #[test]
    fn empty_success_becomes_an_error() {
        let make = || {
            Response::builder()
                .status(500)
                .body(ResponseBody::full("internal error\n"))
                .unwrap()
        };
        let ok_empty = Response::new(ResponseBody::full(Bytes::new()));
        let out = enforce_never_empty(&Method::GET, ok_empty, make);
        assert_eq!(out.status(), 500);
        assert!(!out.body().is_empty());

        let head = Response::new(ResponseBody::empty());
        assert_eq!(enforce_never_empty(&Method::HEAD, head, make).status(), 200);

        let not_modified = Response::builder()
            .status(304)
            .body(ResponseBody::empty())
            .unwrap();
        assert_eq!(
            enforce_never_empty(&Method::GET, not_modified, make).status(),
            304
        );

        let full = Response::new(ResponseBody::full("x"));
        assert_eq!(enforce_never_empty(&Method::GET, full, make).status(), 200);
    }
}
