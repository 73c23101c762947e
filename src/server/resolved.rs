//! A memory of parsed image paths: the source, its identity and the typed options,
//! by the exact path text.
//!
//! A page's image URLs repeat (every visitor of a page asks for the same variants),
//! and parsing one (base64 or percent-decoding the source, every option segment,
//! presets, the source's canonical identity) measured as about a third of the work
//! of a cache hit. What a parse yields depends only on the path and the presets,
//! which are fixed at start, so it is remembered. The signature is still checked on
//! every request before the memory is consulted, and `expires` against the clock;
//! failed parses are not remembered. Bounded in bytes, long URLs weighing more.

use std::sync::Arc;

use http::HeaderValue;
use moka::sync::Cache;

use crate::delivery::headers;

use crate::options::ProcessingOptions;
use crate::url::SourceRef;

/// Bytes of paths (and their parses, estimated) remembered at once: a few thousand
/// typical paths, and still a few hundred of the longest a URL may be.
const CAPACITY_BYTES: u64 = 4 << 20;
/// Estimated bytes of one parse besides its path (options, source, identity).
const ENTRY_OVERHEAD: usize = 1024;

/// One parsed image path.
#[derive(Debug)]
pub struct Resolved {
    pub source: SourceRef,
    /// `source.identity()`: the cache keys' and CDN tags' name for the source.
    pub identity: String,
    /// `Surrogate-Key` / `Cache-Tag` (`delivery::headers::source_tag`).
    pub source_tag: HeaderValue,
    pub opts: ProcessingOptions,
    /// `opts.canonical()`: the options' part of the variant cache key.
    pub canonical: String,
}

#[derive(Clone)]
pub struct ResolvedPaths {
    entries: Cache<String, Arc<Resolved>>,
}

impl std::fmt::Debug for ResolvedPaths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedPaths").finish_non_exhaustive()
    }
}

impl Default for ResolvedPaths {
    fn default() -> Self {
        ResolvedPaths {
            entries: Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|path: &String, r: &Arc<Resolved>| {
                    let bytes = 2 * path.len() + r.identity.len() + ENTRY_OVERHEAD;
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }
}

impl ResolvedPaths {
    /// The remembered parse of `path`, or `parse`'s answer (remembered when Ok).
    pub fn get_or_parse<E>(
        &self,
        path: &str,
        parse: impl FnOnce() -> Result<(SourceRef, ProcessingOptions), E>,
    ) -> Result<Arc<Resolved>, E> {
        if let Some(known) = self.entries.get(path) {
            return Ok(known);
        }
        let (source, opts) = parse()?;
        let identity = source.identity();
        let resolved = Arc::new(Resolved {
            source_tag: headers::source_tag(&identity),
            identity,
            canonical: opts.canonical(),
            source,
            opts,
        });
        self.entries.insert(path.to_string(), Arc::clone(&resolved));
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed() -> Result<(SourceRef, ProcessingOptions), String> {
        Ok((
            SourceRef::Local {
                path: "/a b.jpg".into(),
            },
            ProcessingOptions::default(),
        ))
    }

    #[test]
    fn parses_once_and_forgets_failures() {
        let paths = ResolvedPaths::default();
        let mut calls = 0;
        for _ in 0..3 {
            let r = paths
                .get_or_parse("/sig/w:1/plain/x", || {
                    calls += 1;
                    parsed()
                })
                .unwrap();
            assert_eq!(r.identity, "local:///a%20b.jpg");
        }
        assert_eq!(calls, 1);
        for _ in 0..2 {
            let failed = paths.get_or_parse("/sig/bad", || {
                calls += 1;
                Err::<(SourceRef, ProcessingOptions), _>("no".to_string())
            });
            assert!(failed.is_err());
        }
        assert_eq!(calls, 3);
    }
}
