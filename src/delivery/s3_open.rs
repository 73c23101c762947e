//! Opening an S3 blob for raw delivery in one round trip: a single GetObject with the
//! client's Range and its cache validators forwarded, whose answer carries the metadata
//! (length from `Content-Range`, ETag, Last-Modified, Content-Type) and the body at once.
//!
//! This is only an optimization of the HEAD-then-GET flow: `blob::respond` still makes
//! every decision (status, headers, ranges, preconditions) from the metadata, and uses the
//! prefetched body only when it holds exactly the bytes decided on. Requests whose answer
//! S3 could judge differently (If-Match, If-Unmodified-Since, If-Range, several ranges,
//! `If-None-Match: *`) and HEAD take the plain HEAD-then-GET path, where aperture alone
//! evaluates everything, as for local files.

use std::time::SystemTime;

use http::Method;
use http::header::{self, HeaderMap};

use super::blob::Prefetched;
use super::conditional::{self, Precondition, Validators};
use crate::source::s3::{GetOutcome, RangeRequest, ReadOptions};
use crate::source::{BlobMeta, SourceError, Sources};

/// What the one round trip learned.
pub enum Opened {
    /// The blob's metadata, with the body when S3 sent one.
    Blob {
        meta: BlobMeta,
        prefetched: Option<Prefetched>,
    },
    /// S3 answered 304 and aperture's own evaluation of the request against the
    /// validators S3 sent agrees. `meta` has the validators only (its `len` is unknown).
    NotModified { meta: BlobMeta },
}

/// `Ok(None)`: not eligible or inconclusive; the caller takes the HEAD-then-GET path.
pub async fn open(
    sources: &Sources,
    bucket: &str,
    key: &str,
    version: Option<&str>,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<Opened>, SourceError> {
    let Some(plan) = plan(method, headers) else {
        return Ok(None);
    };
    let opts = ReadOptions {
        version,
        range: plan.range,
        if_none_match: plan.if_none_match,
        if_modified_since: plan.if_modified_since,
        if_match: None,
    };
    Ok(match sources.s3()?.get(bucket, key, &opts).await? {
        GetOutcome::Found(obj) => Some(Opened::Blob {
            meta: obj.meta,
            prefetched: Some(Prefetched {
                range: obj.range,
                body: obj.body,
            }),
        }),
        // blob::respond answers 416 (or 422 for an empty blob) from the length alone
        GetOutcome::RangeNotSatisfiable { meta } => Some(Opened::Blob {
            meta,
            prefetched: None,
        }),
        // S3's 304 carries no length. The one ETag that says "empty" (the MD5 of no
        // bytes) goes the HEAD way, where an empty blob is the 422 it always is.
        GetOutcome::NotModified { etag, .. } if etag.as_deref() == Some(EMPTY_MD5_ETAG) => None,
        GetOutcome::NotModified {
            etag,
            last_modified,
        } => {
            let v = Validators {
                etag: etag.as_deref(),
                last_modified,
            };
            let agrees = conditional::evaluate(method, headers, &v, SystemTime::now())
                == Precondition::NotModified;
            agrees.then_some(Opened::NotModified {
                meta: BlobMeta {
                    len: 0,
                    etag,
                    last_modified,
                    content_type: None,
                },
            })
        }
        GetOutcome::PreconditionFailed => None,
    })
}

/// S3's ETag of an empty object uploaded in one part: the MD5 of no bytes.
const EMPTY_MD5_ETAG: &str = "\"d41d8cd98f00b204e9800998ecf8427e\"";

/// What to forward; `None` when the request is not eligible.
#[derive(Debug, PartialEq, Eq)]
struct Plan<'a> {
    range: Option<RangeRequest>,
    if_none_match: Option<&'a str>,
    if_modified_since: Option<SystemTime>,
}

fn plan<'a>(method: &Method, headers: &'a HeaderMap) -> Option<Plan<'a>> {
    if *method != Method::GET
        || [
            header::IF_MATCH,
            header::IF_UNMODIFIED_SINCE,
            header::IF_RANGE,
        ]
        .iter()
        .any(|h| headers.contains_key(h))
    {
        return None;
    }
    let range = match single(headers, &header::RANGE)? {
        None => None,
        Some(v) => Some(single_range(v)?),
    };
    let if_none_match = single(headers, &header::IF_NONE_MATCH)?;
    // `*` matches any existing blob, even an empty one that aperture answers 422
    if if_none_match.is_some_and(|v| v.contains('*')) {
        return None;
    }
    // RFC 9110 13.1.3: If-Modified-Since is ignored when If-None-Match is present
    let if_modified_since = match if_none_match {
        Some(_) => None,
        None => single(headers, &header::IF_MODIFIED_SINCE)?
            .and_then(|v| httpdate::parse_http_date(v).ok()),
    };
    Some(Plan {
        range,
        if_none_match,
        if_modified_since,
    })
}

/// `Some(None)`: absent; `None`: repeated or not text (let the slow path judge it).
fn single<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<Option<&'a str>> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Some(None),
        (Some(v), None) => v.to_str().ok().map(Some),
        _ => None,
    }
}

/// A `bytes=` header with exactly one satisfiable-looking range; anything else (lists,
/// other units, syntax that `range::evaluate_range` would ignore, `-0`) is `None`.
fn single_range(v: &str) -> Option<RangeRequest> {
    let (unit, set) = v.trim_matches([' ', '\t']).split_once('=')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut elements = set
        .split(',')
        .map(|e| e.trim_matches([' ', '\t']))
        .filter(|e| !e.is_empty());
    let (Some(spec), None) = (elements.next(), elements.next()) else {
        return None;
    };
    let digits = |s: &str| -> Option<u64> {
        // no saturation here: a number this long is left to the slow path
        (!s.is_empty() && s.len() < 19 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if let Some(n) = spec.strip_prefix('-') {
        return digits(n).filter(|&n| n > 0).map(RangeRequest::Suffix);
    }
    let (first, last) = spec.split_once('-')?;
    let start = digits(first)?;
    if last.is_empty() {
        return Some(RangeRequest::From(start));
    }
    let end = digits(last)?;
    (end >= start).then_some(RangeRequest::Bounded { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn single_ranges_only() {
        use RangeRequest::*;
        assert_eq!(
            single_range("bytes=0-99"),
            Some(Bounded { start: 0, end: 99 })
        );
        assert_eq!(single_range("BYTES= 5- , "), Some(From(5)));
        assert_eq!(single_range("bytes=-7"), Some(Suffix(7)));
        for v in [
            "bytes=-0",
            "bytes=5-1",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=abc",
            "bytes",
            "bytes=",
            "bytes=99999999999999999999-",
        ] {
            assert_eq!(single_range(v), None, "{v}");
        }
    }

    #[test]
    fn eligibility() {
        let get = Method::GET;
        assert!(plan(&get, &headers(&[])).is_some());
        assert!(plan(&Method::HEAD, &headers(&[])).is_none());
        for h in ["if-match", "if-unmodified-since", "if-range"] {
            assert!(plan(&get, &headers(&[(h, "\"x\"")])).is_none(), "{h}");
        }
        assert!(plan(&get, &headers(&[("if-none-match", "*")])).is_none());
        assert!(
            plan(
                &get,
                &headers(&[("range", "bytes=0-1"), ("range", "bytes=2-3")])
            )
            .is_none()
        );
        let h = headers(&[
            ("if-none-match", "\"a\""),
            ("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT"),
        ]);
        let p = plan(&get, &h).unwrap();
        assert_eq!(p.if_none_match, Some("\"a\""));
        assert_eq!(p.if_modified_since, None, "ignored next to If-None-Match");
        let h = headers(&[("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT")]);
        assert!(plan(&get, &h).unwrap().if_modified_since.is_some());
    }
}
