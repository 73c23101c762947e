//! Answers for a source blob served as is, or for a processed variant held in memory:
//! 200, 206 (one range or multipart/byteranges), 304, 412 and 416, with the same headers
//! for GET and HEAD. Where the bytes come from is the [`Origin`]; the HTTP decisions
//! are the same for both.
//!
//! The source is opened only after the preconditions and ranges are settled, and only
//! for GET, so a 304, a 416 or a HEAD never reads the body. An origin that was already
//! asked for the body together with its metadata (S3's one-round-trip GET, see
//! `s3_open`) hands it in as [`Prefetched`]; it is used only when it holds exactly what
//! the decision here needs, and dropped otherwise, so the answer is the same either way.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use super::body::ResponseBody;
use super::conditional::{self, Precondition, Validators};
use super::headers::{SVG_CSP, set};
use super::multipart;
use super::range::{self, ByteRange, RangeOutcome};
use super::sniff::is_svg_type;
use crate::error::{Error, Kind};
use crate::source::{BlobMeta, BodyStream, SourceError, Sources};
use crate::url::SourceRef;

/// Everything about the request and the blob that decides the answer.
pub struct BlobAnswer<'a> {
    pub method: &'a Method,
    pub request_headers: &'a HeaderMap,
    pub meta: &'a BlobMeta,
    pub cache_control: String,
    pub content_disposition: String,
    pub max_ranges: usize,
    /// A body already opened with the metadata; `None` for origins without one.
    pub prefetched: Option<Prefetched>,
}

/// Bytes an origin already sent: the whole blob (`range: None`) or one range.
pub struct Prefetched {
    pub range: Option<ByteRange>,
    pub body: BodyStream,
}

/// Where the body's bytes come from.
#[derive(Clone)]
pub enum Origin {
    /// A source blob, read (ranged) only once the answer needs it.
    Source {
        sources: Arc<Sources>,
        source: SourceRef,
        /// The version the answer's headers describe: every read must be of it.
        etag: Option<String>,
    },
    /// Bytes already in memory (a processed variant); ranges are slices of them.
    Memory(Bytes),
}

impl Origin {
    /// The body for `range` (or everything), `len` bytes: bytes in memory go out as
    /// one frame, with no stream to box and poll; sources stream.
    async fn body(&self, range: Option<ByteRange>, len: u64) -> Result<ResponseBody, SourceError> {
        match self {
            Origin::Memory(bytes) => Ok(ResponseBody::full(match range {
                Some(r) => bytes.slice(r.start as usize..=r.end as usize),
                None => bytes.clone(),
            })),
            Origin::Source { .. } => Ok(ResponseBody::stream(self.read(range).await?, len)),
        }
    }

    async fn read(&self, range: Option<ByteRange>) -> Result<BodyStream, SourceError> {
        match self {
            Origin::Source {
                sources,
                source,
                etag,
            } => sources.read_pinned(source, range, etag.as_deref()).await,
            Origin::Memory(bytes) => {
                // ranges were evaluated against bytes.len(), so they are in bounds
                let part = match range {
                    Some(r) => bytes.slice(r.start as usize..=r.end as usize),
                    None => bytes.clone(),
                };
                Ok(Box::pin(stream::once(async move { Ok(part) })))
            }
        }
    }
}

pub async fn respond(
    mut answer: BlobAnswer<'_>,
    origin: Origin,
) -> Result<Response<ResponseBody>, Error> {
    let prefetched = answer.prefetched.take();
    let meta = answer.meta;
    let content_type = meta
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    let validators = Validators {
        etag: meta.etag.as_deref(),
        last_modified: meta.last_modified,
    };
    // The response's Date is this second or the next (hyper stamps it when it writes).
    let now = SystemTime::now();
    let honor_range =
        match conditional::evaluate(answer.method, answer.request_headers, &validators, now) {
            Precondition::NotModified => return Ok(not_modified(&answer)),
            Precondition::Failed => {
                return Err(Error::new(
                    Kind::PreconditionFailed,
                    "precondition failed: the source has changed",
                ));
            }
            Precondition::Proceed { honor_range } => honor_range,
        };
    // Range is defined for GET only (RFC 9110 14.2); HEAD answers as a full GET would.
    let range_header = range::range_field(answer.request_headers);
    let outcome = if honor_range && *answer.method == Method::GET {
        range::evaluate_range(range_header, meta.len)
    } else {
        RangeOutcome::Full
    };
    let outcome = match outcome {
        RangeOutcome::Partial(ranges) if ranges.len() > answer.max_ranges => RangeOutcome::Full,
        other => other,
    };

    let mut response = Response::new(ResponseBody::empty());
    let h = response.headers_mut();
    // Room for what the answer, the handler and `cdn::finish` add (~16 headers), so
    // the map is allocated once rather than grown step by step.
    h.reserve(20);
    common_headers(h, &answer, content_type);
    let head_only = *answer.method == Method::HEAD;

    match outcome {
        RangeOutcome::Unsatisfiable => {
            return Err(Error::new(
                Kind::RangeNotSatisfiable { len: meta.len },
                format!("range not satisfiable: the source is {} bytes", meta.len),
            ));
        }
        RangeOutcome::Full => {
            h.insert(header::CONTENT_TYPE, header_value(content_type));
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len));
            if !head_only {
                *response.body_mut() = match prefetched {
                    Some(p) if p.range.is_none() => ResponseBody::stream(p.body, meta.len),
                    _ => origin.body(None, meta.len).await?,
                };
            }
        }
        RangeOutcome::Partial(ranges) if ranges.len() == 1 => {
            let r = ranges[0];
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, header_value(content_type));
            set(
                h,
                header::CONTENT_RANGE,
                &range::content_range(&r, meta.len),
            );
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(r.len()));
            *response.body_mut() = match prefetched {
                Some(p) if p.range == Some(r) => ResponseBody::stream(p.body, r.len()),
                _ => origin.body(Some(r), r.len()).await?,
            };
        }
        RangeOutcome::Partial(ranges) => {
            let boundary = boundary_for(meta);
            let layout = multipart::layout(&ranges, meta.len, content_type, &boundary);
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = response.headers_mut();
            set(
                h,
                header::CONTENT_TYPE,
                &multipart::content_type_header(&boundary),
            );
            h.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(layout.content_length),
            );
            let len = layout.content_length;
            let stream = multipart_stream(layout, origin);
            *response.body_mut() = ResponseBody::stream(stream, len);
        }
    }
    Ok(response)
}

fn common_headers(h: &mut HeaderMap, answer: &BlobAnswer<'_>, content_type: &str) {
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(etag) = &answer.meta.etag {
        set(h, header::ETAG, etag);
    }
    if let Some(t) = answer.meta.last_modified {
        set(h, header::LAST_MODIFIED, &httpdate::fmt_http_date(t));
    }
    set(h, header::CACHE_CONTROL, &answer.cache_control);
    set(h, header::CONTENT_DISPOSITION, &answer.content_disposition);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_svg_type(content_type) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(SVG_CSP),
        );
    }
}

/// RFC 9110 15.4.5: a 304 carries the validators and caching headers a 200 would.
fn not_modified(answer: &BlobAnswer<'_>) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    let h = response.headers_mut();
    if let Some(etag) = &answer.meta.etag {
        set(h, header::ETAG, etag);
    }
    if let Some(t) = answer.meta.last_modified {
        set(h, header::LAST_MODIFIED, &httpdate::fmt_http_date(t));
    }
    set(h, header::CACHE_CONTROL, &answer.cache_control);
    response
}

fn header_value(v: &str) -> HeaderValue {
    HeaderValue::from_str(v)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// A boundary that cannot occur in practice and is stable for one blob version.
fn boundary_for(meta: &BlobMeta) -> String {
    let seed = meta.etag.as_deref().unwrap_or("");
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes().chain(nanos.to_le_bytes()) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    format!("aperture-{hash:016x}")
}

/// Part headers and range bytes in order, each range opened only when reached.
fn multipart_stream(layout: multipart::MultipartLayout, origin: Origin) -> BodyStream {
    let trailer = layout.trailer.clone();
    let parts = stream::iter(layout.parts).flat_map(move |(head, r): (Bytes, ByteRange)| {
        let origin = origin.clone();
        let body = stream::once(async move { origin.read(Some(r)).await }).try_flatten();
        stream::once(async move { Ok::<Bytes, SourceError>(head) }).chain(body)
    });
    Box::pin(parts.chain(stream::once(async move { Ok(trailer) })))
}
