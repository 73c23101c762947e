//! The variant cache: encoded variants kept in memory, weighted by bytes
//! (`APERTURE_CACHE_MB`), with concurrent misses for one key coalesced into one
//! producer run.
//!
//! Owns: the moka cache, its weighing and eviction policy, coalescing, and the
//! hit/miss/coalesced counters. Leaves to others: what the key is made of
//! ([`key`]), producing a variant (the pipeline, under `limits::Admission`), and
//! answering Range/HEAD/304 from it (`delivery`).
//!
//! **Coalescing and disconnects.** moka's `try_get_with` runs one caller's init
//! future and parks the others on it; errors are handed to every parked caller and are
//! not cached. But moka drives the init inside whichever caller's future got there
//! first, so if that client disconnects (its future is dropped), the work is cancelled
//! and a waiter starts it again. So every miss runs `try_get_with` in a spawned task
//! that nobody aborts: a caller that goes away (disconnect, deadline) only drops its
//! `JoinHandle`, the run completes into the cache, and the retry is a hit. Hits never
//! spawn.
//!
//! **Eviction.** LRU rather than moka's default TinyLFU: TinyLFU may refuse to admit a
//! newly produced entry that has been seen only once, and a variant made by
//! `POST /warm` has been seen exactly once, yet must be there for the first page view.

mod decoded;
mod key;
mod variant;

pub use decoded::{DecodedCache, DecodedKey};
pub use key::VariantKey;
pub use variant::{ProduceTimings, Variant};

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use moka::future::Cache;
use moka::policy::EvictionPolicy;

use crate::error::Error;

/// Weight added to every entry's body length: moka's per-entry bookkeeping, the two
/// `Arc`s and the structs themselves. An estimate; it keeps a cache of tiny variants
/// from holding far more memory than its byte capacity says.
const ENTRY_OVERHEAD: usize = 256;

/// How a `get_or_produce` call was answered (for the request log and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Found in the cache.
    Hit,
    /// This call ran the producer.
    Miss,
    /// Another call's in-flight producer answered this one (or, rarely, it finished
    /// and inserted between this call's lookup and its wait).
    Coalesced,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Coalesced => "coalesced",
        }
    }
}

/// The producer ended without an answer: it panicked, or its task was cancelled at
/// runtime shutdown. Producer error types convert from it, so every waiter gets an
/// error instead of a hang or a second panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variant producer failed: {0}")]
pub struct ProducerLost(pub String);

impl From<ProducerLost> for Error {
    fn from(e: ProducerLost) -> Error {
        Error::internal("internal error").with_cause(e)
    }
}

/// Turns the shared error every coalesced caller receives back into an owned
/// [`Error`] with the same kind and public message (the shared one stays the cause).
pub fn unshare(e: Arc<Error>) -> Error {
    Arc::try_unwrap(e).unwrap_or_else(|shared| {
        Error::new(shared.kind.clone(), shared.public_message()).with_cause(shared)
    })
}

/// Counters and gauges for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub coalesced: u64,
    /// Entries and weighted bytes; moka updates these in batches, so they may lag by
    /// a few operations.
    pub entries: u64,
    pub bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
}

/// The shared variant cache; clones share the same entries and counters.
#[derive(Clone)]
pub struct VariantCache {
    entries: Cache<VariantKey, Arc<Variant>>,
    counters: Arc<Counters>,
    capacity: u64,
}

impl VariantCache {
    /// A cache holding at most `capacity_bytes` of variants (bodies plus per-entry
    /// overhead), each for at most `ttl` when given.
    pub fn new(capacity_bytes: u64, ttl: Option<Duration>) -> VariantCache {
        let mut builder = Cache::builder()
            .max_capacity(capacity_bytes)
            .weigher(weigh)
            .eviction_policy(EvictionPolicy::lru());
        if let Some(ttl) = ttl {
            builder = builder.time_to_live(ttl);
        }
        VariantCache {
            entries: builder.build(),
            counters: Arc::default(),
            capacity: capacity_bytes,
        }
    }

    /// The cached variant for `key`, or the one `producer` makes. Concurrent calls for
    /// one key share one producer run and its result, success or error; errors are
    /// not cached, so the next call tries again. The producer runs in its own task and
    /// finishes even if every caller has gone away.
    pub async fn get_or_produce<F, E>(
        &self,
        key: VariantKey,
        producer: F,
    ) -> Result<(Arc<Variant>, Outcome), Arc<E>>
    where
        F: Future<Output = Result<Variant, E>> + Send + 'static,
        E: From<ProducerLost> + Send + Sync + 'static,
    {
        if let Some(v) = self.hit(&key).await {
            return Ok((v, Outcome::Hit));
        }
        let (entries, counters) = (self.entries.clone(), self.counters.clone());
        let run = tokio::spawn(async move {
            let mut ran = false;
            let result = entries
                .try_get_with(key, async {
                    ran = true;
                    match AssertUnwindSafe(producer).catch_unwind().await {
                        Ok(made) => made.map(Arc::new),
                        Err(panic) => {
                            let message = crate::limits::panic_message(panic.as_ref());
                            Err(E::from(ProducerLost(message)))
                        }
                    }
                })
                .await;
            // Counted here, not in the caller, so a run whose callers all left still counts.
            let (counter, outcome) = if ran {
                (&counters.misses, Outcome::Miss)
            } else {
                (&counters.coalesced, Outcome::Coalesced)
            };
            counter.fetch_add(1, Ordering::Relaxed);
            result.map(|v| (v, outcome))
        });
        match run.await {
            Ok(result) => result,
            Err(join) => Err(Arc::new(E::from(ProducerLost(join.to_string())))),
        }
    }

    /// The cached variant for `key`, counted as a hit; `None` (and nothing counted) on
    /// a miss, which the caller then hands to [`get_or_produce`](Self::get_or_produce).
    pub async fn hit(&self, key: &VariantKey) -> Option<Arc<Variant>> {
        let v = self.entries.get(key).await?;
        self.counters.hits.fetch_add(1, Ordering::Relaxed);
        Some(v)
    }

    /// A look without producing or counting (e.g. "is this warm already?").
    pub async fn get(&self, key: &VariantKey) -> Option<Arc<Variant>> {
        self.entries.get(key).await
    }

    pub async fn invalidate(&self, key: &VariantKey) {
        self.entries.invalidate(key).await;
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }

    /// Weighted bytes held (`aperture_cache_bytes`).
    pub fn weighted_size(&self) -> u64 {
        self.entries.weighted_size()
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.counters.hits.load(Ordering::Relaxed),
            misses: self.counters.misses.load(Ordering::Relaxed),
            coalesced: self.counters.coalesced.load(Ordering::Relaxed),
            entries: self.entry_count(),
            bytes: self.weighted_size(),
        }
    }

    /// Applies moka's pending evictions and size updates now (tests; a metrics scrape
    /// that wants exact gauges).
    pub async fn run_pending_tasks(&self) {
        self.entries.run_pending_tasks().await;
    }
}

fn weigh(key: &VariantKey, v: &Arc<Variant>) -> u32 {
    let bytes = v.bytes.len() + v.etag.len() + key.heap_bytes() + ENTRY_OVERHEAD;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
