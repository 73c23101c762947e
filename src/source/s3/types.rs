//! What callers pass to and get from [`super::S3Source::get`]: the range as the client
//! asked for it, conditional headers, and the outcome.

use std::fmt;
use std::time::SystemTime;

use crate::delivery::range::ByteRange;
use crate::source::{BlobMeta, BodyStream, SourceError};

/// A byte range as the client asked for it, forwarded verbatim to S3 (which resolves it
/// against the object's length, so no HEAD is needed first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// `bytes=start-end`, both inclusive
    Bounded { start: u64, end: u64 },
    /// `bytes=start-`
    From(u64),
    /// `bytes=-n`: the last n bytes
    Suffix(u64),
}

impl RangeRequest {
    pub(super) fn header_value(self) -> String {
        match self {
            RangeRequest::Bounded { start, end } => format!("bytes={start}-{end}"),
            RangeRequest::From(start) => format!("bytes={start}-"),
            RangeRequest::Suffix(n) => format!("bytes=-{n}"),
        }
    }

    pub(super) fn validate(self) -> Result<(), SourceError> {
        match self {
            RangeRequest::Bounded { start, end } if start > end => Err(SourceError::Unsupported(
                format!("invalid byte range {start}-{end}"),
            )),
            RangeRequest::Suffix(0) => Err(SourceError::Unsupported(
                "invalid suffix byte range -0".to_owned(),
            )),
            _ => Ok(()),
        }
    }

    /// Resolve against a known length; `None` when not satisfiable.
    pub fn resolve(self, len: u64) -> Option<ByteRange> {
        let (start, end) = match self {
            RangeRequest::Bounded { start, end } => (start, end.min(len.checked_sub(1)?)),
            RangeRequest::From(start) => (start, len.checked_sub(1)?),
            RangeRequest::Suffix(n) => (len.saturating_sub(n), len.checked_sub(1)?),
        };
        (start <= end).then_some(ByteRange { start, end })
    }
}

impl From<ByteRange> for RangeRequest {
    /// `end == u64::MAX` means open-ended (`bytes=start-`).
    fn from(r: ByteRange) -> Self {
        if r.end == u64::MAX {
            RangeRequest::From(r.start)
        } else {
            RangeRequest::Bounded {
                start: r.start,
                end: r.end,
            }
        }
    }
}

/// Options of [`S3Source::get`]; conditional fields are passed through to S3.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    pub version: Option<&'a str>,
    pub range: Option<RangeRequest>,
    /// the client's If-None-Match, verbatim (`"etag"`, `W/"etag"`, lists, `*`)
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<SystemTime>,
    /// strong ETag that must match, e.g. to implement If-Range with an ETag: on mismatch the
    /// outcome is [`GetOutcome::PreconditionFailed`] and the caller asks again without range
    pub if_match: Option<&'a str>,
}

/// A found object: metadata of the whole blob, the part served, and its bytes.
pub struct S3Object {
    /// `len` is the length of the whole blob, also for a ranged read.
    pub meta: BlobMeta,
    /// The part that `body` holds (inclusive); `None` = the whole blob.
    pub range: Option<ByteRange>,
    /// Exactly the bytes of `range` (or of the whole blob); an error item ends it (a
    /// connection lost mid-body, a stall longer than `first_byte_timeout`, a short body).
    pub body: BodyStream,
}

impl fmt::Debug for S3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Object")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum GetOutcome {
    Found(S3Object),
    /// 304: the validators S3 returned (serve 304 with them)
    NotModified {
        etag: Option<String>,
        last_modified: Option<SystemTime>,
    },
    /// 412: `if_match` did not match
    PreconditionFailed,
    /// 416: the range lies outside the blob; `meta.len` is the blob's length (for
    /// `Content-Range: bytes */len`)
    RangeNotSatisfiable {
        meta: BlobMeta,
    },
}

/// `bytes START-END/TOTAL` -> (range, total)
pub(super) fn parse_content_range(v: &str) -> Option<(ByteRange, u64)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, total) = (
        start.trim().parse::<u64>().ok()?,
        end.trim().parse::<u64>().ok()?,
        total.trim().parse::<u64>().ok()?,
    );
    (start <= end && end < total).then_some((ByteRange { start, end }, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(
            parse_content_range("bytes 0-99/1234"),
            Some((ByteRange { start: 0, end: 99 }, 1234))
        );
        assert_eq!(parse_content_range("bytes 5-4/10"), None);
        assert_eq!(parse_content_range("bytes 0-10/10"), None);
        assert_eq!(parse_content_range("bytes */10"), None);
    }

    #[test]
    fn range_resolution() {
        let b = |start, end| Some(ByteRange { start, end });
        assert_eq!(RangeRequest::Suffix(10).resolve(100), b(90, 99));
        assert_eq!(RangeRequest::Suffix(1000).resolve(100), b(0, 99));
        assert_eq!(RangeRequest::From(10).resolve(100), b(10, 99));
        assert_eq!(RangeRequest::From(100).resolve(100), None);
        assert_eq!(
            RangeRequest::Bounded { start: 5, end: 500 }.resolve(100),
            b(5, 99)
        );
        assert_eq!(RangeRequest::Suffix(5).resolve(0), None);
        assert_eq!(
            RangeRequest::from(ByteRange {
                start: 7,
                end: u64::MAX
            }),
            RangeRequest::From(7)
        );
        assert_eq!(RangeRequest::Suffix(7).header_value(), "bytes=-7");
    }
}
