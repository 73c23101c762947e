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
//! found on the next request. Entries are small (a key, a length, an ETag) and
//! weighed by their text against a 4 MB cap.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use super::{SourceError, Sources};
use crate::url::SourceRef;

/// Bytes of identities and versions remembered at once (weighed by their text, so
/// long keys count for what they hold).
const CAPACITY_BYTES: u64 = 4 << 20;
/// Bookkeeping per entry besides its text.
const ENTRY_OVERHEAD: usize = 160;

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
                .max_capacity(CAPACITY_BYTES)
                .weigher(|identity: &String, v: &Arc<SourceVersion>| {
                    let bytes = identity.len() + v.etag.as_ref().map_or(0, String::len);
                    u32::try_from(bytes + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build()
        });
        SourceVersions { remembered }
    }

    /// The remembered version, if any: no I/O, no await (the cache-hit fast path).
    pub fn remembered(&self, identity: &str) -> Option<Arc<SourceVersion>> {
        self.remembered.as_ref()?.get(identity)
    }

    /// Drops what is remembered of `identity`, so its next lookup asks the source.
    pub fn forget(&self, identity: &str) {
        if let Some(cache) = &self.remembered {
            cache.invalidate(identity);
        }
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
        remembering.forget(&id);
        assert_eq!(remembering.get(&sources, &src, &id).await.unwrap().len, 7);
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
