//! [`Variant`]: one encoded, ready-to-send processed image, as the pipeline produces
//! it and the cache keeps it. Plain data; answering Range, HEAD and conditional
//! requests against it is `delivery`'s job.

use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The encoded image; never empty (the pipeline fails rather than produce none).
    pub bytes: Bytes,
    /// MIME type of `bytes`, e.g. `image/webp`: one of a fixed set, hence `'static`.
    pub content_type: &'static str,
    /// Strong entity tag, quoted (`"…"`), as sent in the `ETag` header.
    pub etag: String,
    pub width: u32,
    pub height: u32,
    /// How long the run that made it took, per stage: reported (`Server-Timing`, access
    /// log) to the requests that ran or shared that run, not to later hits.
    pub timings: ProduceTimings,
}

/// Wall time of one pipeline run: source fetch, then decode, resize, encode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProduceTimings {
    pub fetch: Duration,
    pub decode: Duration,
    pub resize: Duration,
    pub encode: Duration,
}

impl Variant {
    /// A variant whose ETag is derived from its bytes: identical output, identical
    /// tag, whichever replica or restart produced it.
    pub fn new(bytes: Bytes, content_type: &'static str, width: u32, height: u32) -> Variant {
        let digest = Sha256::digest(&bytes);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Variant {
            bytes,
            content_type,
            etag,
            width,
            height,
            timings: ProduceTimings::default(),
        }
    }

    pub fn with_timings(mut self, timings: ProduceTimings) -> Variant {
        self.timings = timings;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_quoted_and_follows_the_bytes() {
        let a = Variant::new(Bytes::from_static(b"abc"), "image/png", 1, 1);
        let b = Variant::new(Bytes::from_static(b"abc"), "image/png", 1, 1);
        let c = Variant::new(Bytes::from_static(b"abd"), "image/png", 1, 1);
        assert_eq!(a.etag, b.etag);
        assert_ne!(a.etag, c.etag);
        assert!(a.etag.starts_with('"') && a.etag.ends_with('"'));
        assert_eq!(a.etag.len(), 34);
    }
}
