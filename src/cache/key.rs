//! [`VariantKey`]: what makes two processed responses the same bytes.
//!
//! Four parts, each already canonical where it comes from: the source's identity
//! (`SourceRef::identity()`), the source's version (its ETag, when the backend told
//! us), the canonical processing options (`ProcessingOptions::canonical()`) and the
//! negotiated output format. This module only combines them; normalizing each part is
//! its owner's job.
//!
//! **Why the version is in the key.** A source object can be replaced under the same
//! name (same `local://` path, same S3 key without a `versionId`). Without the version,
//! the cache would keep serving variants of the old object until evicted or expired;
//! with it, the new object's ETag makes a new key, the first request for it is a miss,
//! and the stale entries simply age out. When the version is unknown (`None`), the
//! TTL is the only bound on staleness.

use std::fmt;

use sha2::{Digest, Sha256};

/// The cache key of one encoded variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariantKey {
    /// `SourceRef::identity()`: scheme, bucket/root, path, S3 version id.
    pub source_identity: String,
    /// The source's ETag when known; a replaced object gets a new key.
    pub source_version: Option<String>,
    /// `ProcessingOptions::canonical()`; `""` for all defaults.
    pub options: String,
    /// Negotiated output format extension (`jpg`, `webp`, `png`, ...).
    pub format: String,
}

impl VariantKey {
    pub fn new(
        source_identity: impl Into<String>,
        source_version: Option<String>,
        options: impl Into<String>,
        format: impl Into<String>,
    ) -> VariantKey {
        VariantKey {
            source_identity: source_identity.into(),
            source_version,
            options: options.into(),
            format: format.into(),
        }
    }

    /// A compact, stable form: 32 hex digits of SHA-256 over the length-prefixed parts.
    /// Stable across processes and releases (unlike `Hash`, which is seeded), so it
    /// can name the variant in logs, ETags or a future shared cache. Length prefixes
    /// make it unambiguous: no moving of text between parts yields the same digest.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let mut part = |tag: u8, text: &str| {
            h.update([tag]);
            h.update((text.len() as u64).to_be_bytes());
            h.update(text.as_bytes());
        };
        part(b's', &self.source_identity);
        match &self.source_version {
            Some(v) => part(b'v', v),
            // A distinct tag, so "unknown" never equals an empty ETag.
            None => part(b'-', ""),
        }
        part(b'o', &self.options);
        part(b'f', &self.format);
        hex::encode(&h.finalize()[..16])
    }

    /// Heap bytes held by the key, for the cache's weigher.
    pub fn heap_bytes(&self) -> usize {
        self.source_identity.len()
            + self.source_version.as_ref().map_or(0, String::len)
            + self.options.len()
            + self.format.len()
    }
}

/// Log form: `local://a.jpg@"etag" rs:fit:300:0 -> webp`.
impl fmt::Display for VariantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source_identity)?;
        if let Some(v) = &self.source_version {
            write!(f, "@{v}")?;
        }
        let options = if self.options.is_empty() {
            "-"
        } else {
            &self.options
        };
        write!(f, " {options} -> {}", self.format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, version: Option<&str>, options: &str, format: &str) -> VariantKey {
        VariantKey::new(id, version.map(str::to_string), options, format)
    }

    #[test]
    fn fingerprint_is_stable_across_releases() {
        // Pinned: changing it silently invalidates anything that stored it.
        let k = key("local://a.jpg", Some("\"abc\""), "rs:fit:300:0", "webp");
        assert_eq!(k.fingerprint(), "2b8972748c8b6a2b922770f82e0c6727");
        assert_eq!(k.fingerprint().len(), 32);
        assert_eq!(k.fingerprint(), k.clone().fingerprint());
    }

    #[test]
    fn every_part_distinguishes_keys() {
        let base = key("local://a.jpg", Some("\"v1\""), "rs:fit:300:0", "webp");
        let variants = [
            key("local://b.jpg", Some("\"v1\""), "rs:fit:300:0", "webp"),
            key("local://a.jpg", Some("\"v2\""), "rs:fit:300:0", "webp"),
            key("local://a.jpg", None, "rs:fit:300:0", "webp"),
            key("local://a.jpg", Some("\"v1\""), "rs:fit:301:0", "webp"),
            key("local://a.jpg", Some("\"v1\""), "rs:fit:300:0", "jpg"),
        ];
        for other in variants {
            assert_ne!(base, other);
            assert_ne!(base.fingerprint(), other.fingerprint(), "{other}");
        }
    }

    #[test]
    fn moving_text_between_parts_changes_the_fingerprint() {
        let a = key("local://a", Some(""), "bc", "webp");
        let b = key("local://ab", Some(""), "c", "webp");
        let c = key("local://a", None, "bc", "webp");
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint(), "unknown vs empty version");
    }

    #[test]
    fn display_is_one_readable_line() {
        let k = key("local://a.jpg", Some("\"v1\""), "", "png");
        assert_eq!(k.to_string(), "local://a.jpg@\"v1\" - -> png");
        assert_eq!(k.heap_bytes(), 13 + 4 + 3);
    }
}
