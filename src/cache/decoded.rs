//! Decoded sources, kept for a while so that sibling variants of one source decode
//! it once: the same picture in AVIF, WebP and JPEG for different `Accept` headers,
//! a new `cachebuster`, the several variants `POST /warm` makes at upload time.
//!
//! For a thumbnail the decode is most of the work (a 12 MP JPEG to 300 px: ~14 ms of
//! ~18 ms here, nearly all of it Huffman decoding, which shrink-on-load cannot skip),
//! and what it leaves is small: at the 1/8 JPEG reduction the same photo is
//! 500 x 375 pixels, 0.56 MB. So a few tens of MB hold the working set of a busy
//! page's sources.
//!
//! The key is the source's identity, its version (ETag: a replaced source never
//! reuses old pixels) and the decoder's reduction (JPEG's 1/1..1/8 DCT scaling; 1
//! for every other format), so variants share a decode exactly when they would have
//! decoded the same pixels. Entries are weighed by their pixel bytes against
//! `APERTURE_DECODED_CACHE_MB`, a memory of its own next to the variant cache and the
//! job budget; a bitmap bigger than an eighth of it is not kept, so one huge source
//! cannot flush the rest. The bitmap is copied in and out (a memcpy, ~0.1 ms per MB),
//! because every later step owns and changes its pixels.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use moka::sync::Cache;

use crate::pipeline::Bitmap;

/// Bookkeeping added to each entry's pixel bytes.
const ENTRY_OVERHEAD: u64 = 256;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecodedKey {
    /// `SourceRef::identity()`.
    pub source: String,
    /// The source's ETag.
    pub version: String,
    /// The decoder's reduction (see `pipeline::decode::reduction`).
    pub reduction: u32,
}

#[derive(Clone)]
pub struct DecodedCache {
    /// `None` when configured to 0 MB.
    entries: Option<Cache<DecodedKey, Arc<Bitmap>>>,
    /// Bitmaps above this many bytes are not kept.
    max_entry: u64,
    hits: Arc<AtomicU64>,
}

impl std::fmt::Debug for DecodedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedCache")
            .field("max_entry", &self.max_entry)
            .finish()
    }
}

impl DecodedCache {
    pub fn new(capacity_bytes: u64) -> DecodedCache {
        let entries = (capacity_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|_: &DecodedKey, b: &Arc<Bitmap>| {
                    u32::try_from(b.pixels.len() as u64 + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
                })
                .build()
        });
        DecodedCache {
            entries,
            max_entry: capacity_bytes / 8,
            hits: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A copy of the kept bitmap, if any.
    pub fn get(&self, key: &DecodedKey) -> Option<Bitmap> {
        let kept = self.entries.as_ref()?.get(key)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(Bitmap::clone(&kept))
    }

    /// Keeps a copy of `bitmap` when it is small enough to be worth it.
    pub fn keep(&self, key: DecodedKey, bitmap: &Bitmap) {
        let Some(entries) = &self.entries else {
            return;
        };
        if bitmap.pixels.len() as u64 + ENTRY_OVERHEAD > self.max_entry {
            return;
        }
        entries.insert(key, Arc::new(bitmap.clone()));
    }

    /// Decodes served from this cache (`aperture_decoded_cache_hits_total`).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Bytes held, after pending evictions (`aperture_decoded_cache_bytes`).
    pub fn weighted_size(&self) -> u64 {
        self.entries.as_ref().map_or(0, |e| {
            e.run_pending_tasks();
            e.weighted_size()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(reduction: u32) -> DecodedKey {
        DecodedKey {
            source: "local:///a.jpg".into(),
            version: "\"v1\"".into(),
            reduction,
        }
    }

    fn bitmap(w: u32, h: u32) -> Bitmap {
        Bitmap::new(vec![7; (w * h * 3) as usize], w, h, 3)
    }

    #[test]
    fn keeps_and_returns_copies_by_reduction() {
        let cache = DecodedCache::new(1 << 20);
        assert_eq!(cache.get(&key(8)), None);
        cache.keep(key(8), &bitmap(10, 10));
        assert_eq!(cache.get(&key(8)), Some(bitmap(10, 10)));
        assert_eq!(cache.get(&key(4)), None);
        assert_eq!(cache.hits(), 1);
        assert_eq!(cache.weighted_size(), 300 + ENTRY_OVERHEAD);
    }

    #[test]
    fn big_bitmaps_and_a_zero_capacity_keep_nothing() {
        let cache = DecodedCache::new(8 * 1000);
        cache.keep(key(1), &bitmap(20, 20)); // 1200 bytes + overhead > 1000
        assert_eq!(cache.get(&key(1)), None);
        let off = DecodedCache::new(0);
        off.keep(key(1), &bitmap(2, 2));
        assert_eq!(off.get(&key(1)), None);
        assert_eq!(off.weighted_size(), 0);
    }
}
