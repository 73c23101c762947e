//! A short-lived memory of source versions (size and ETag), for processed lookups.
//!
//! A processed request keys its variant by the source's version, so it must know the
//! version before it can look the variant up: a `stat` for a local file, a HEAD for
//! S3. On a cache hit that question is most of the work left (measured on the hit
//! path: four of its six syscalls; for S3 a round trip, billed by AWS like a GET).
//! Remembering the answer for `cache.source_version_ttl` removes it from hits. The
//! cost is bounded staleness: a source replaced within that time can still be
//! answered with its old variant until the entry expires. Raw answers never use this
//! memory: they read the source anyway, and take its metadata from that read.
//!
//! Only successful answers are remembered, so a source that appears after a 404 is
//! found on the next request. Entries are small (a key, a length, an ETag), and their
//! number is capped, so this memory stays well under a megabyte per thousand sources.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use super::{SourceError, Sources};
use crate::url::SourceRef;

/// Sources remembered at once (about 200 bytes each).
const MAX_ENTRIES: u64 = 16_384;

/// What a processed lookup needs to know about a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceVersion {
    pub len: u64,
    /// Strong entity tag, quoted; `None` when the backend has none.
    pub etag: Option<String>,
}

#[derive(Clone)]
pub struct SourceVersions {
    /// `None` when the TTL is zero: every lookup asks the source.
    remembered: Option<Cache<String, Arc<SourceVersion>>>,
}

impl std::fmt::Debug for SourceVersions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceVersions")
            .field("enabled", &self.remembered.is_some())
            .finish()
    }
}

impl SourceVersions {
    pub fn new(ttl: Duration) -> SourceVersions {
        let remembered = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(ttl)
                .build()
        });
        SourceVersions { remembered }
    }

    /// The remembered version, if any: no I/O, no await (the cache-hit fast path).
    pub fn remembered(&self, identity: &str) -> Option<Arc<SourceVersion>> {
        self.remembered.as_ref()?.get(identity)
    }

    /// The source's version: remembered, or asked from the source (and remembered).
    /// `identity` is `source.identity()`, which the caller has already built.
    pub async fn get(
        &self,
        sources: &Sources,
        source: &SourceRef,
        identity: &str,
    ) -> Result<Arc<SourceVersion>, SourceError> {
        if let Some(known) = self.remembered(identity) {
            return Ok(known);
        }
        let meta = sources.head(source).await?;
        let version = Arc::new(SourceVersion {
            len: meta.len,
            etag: meta.etag,
        });
        if let Some(cache) = &self.remembered {
            cache.insert(identity.to_string(), Arc::clone(&version));
        }
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::local::LocalSource;

    fn sources(root: &std::path::Path) -> Sources {
        Sources {
            local: LocalSource::new(root).unwrap(),
            s3: None,
        }
    }

    fn local(path: &str) -> SourceRef {
        SourceRef::Local {
            path: path.to_string(),
        }
    }

    #[tokio::test]
    async fn remembers_within_the_ttl_and_asks_again_when_off() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), b"12345").unwrap();
        let sources = sources(dir.path());
        let src = local("/a.bin");
        let id = src.identity();

        let remembering = SourceVersions::new(Duration::from_secs(3600));
        let strict = SourceVersions::new(Duration::ZERO);
        assert_eq!(remembering.get(&sources, &src, &id).await.unwrap().len, 5);
        assert_eq!(strict.get(&sources, &src, &id).await.unwrap().len, 5);

        std::fs::write(dir.path().join("a.bin"), b"1234567").unwrap();
        assert_eq!(remembering.get(&sources, &src, &id).await.unwrap().len, 5);
        assert_eq!(strict.get(&sources, &src, &id).await.unwrap().len, 7);
    }

    #[tokio::test]
    async fn failures_are_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let sources = sources(dir.path());
        let src = local("/late.bin");
        let id = src.identity();
        let versions = SourceVersions::new(Duration::from_secs(3600));
        assert!(matches!(
            versions.get(&sources, &src, &id).await,
            Err(SourceError::NotFound)
        ));
        std::fs::write(dir.path().join("late.bin"), b"xy").unwrap();
        assert_eq!(versions.get(&sources, &src, &id).await.unwrap().len, 2);
    }
}
