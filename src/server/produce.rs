//! Producing one variant on a cache miss: reserve the source's length from the source
//! budget ([`Admission::reserve_source`]), fetch the whole source, plan from its
//! headers, reserve the plan's peak memory (source included) and a worker
//! ([`Admission::run`]), then decode, resize and encode on the blocking pool, where the
//! source reservation is let go. So no byte of a source or of its pixels is in memory
//! without being counted in the budget first.
//!
//! A [`Job`] owns everything it needs (`'static`), because the variant cache runs it
//! in a task of its own that outlives any one request: coalesced waiters share it, and
//! a request that hits its deadline leaves it to finish into the cache. For the same
//! reason it never sees a request's deadline: its queue wait is bounded by
//! `queue_timeout` alone, so a run started by an impatient request is not refused for
//! the patient ones waiting on it.
//!
//! A `POST /warm` job is the same job in the [`Lane::Warm`]: it takes memory and a
//! worker only when no live job waits for them ([`Admission::run_warm`]), and it waits
//! at most `queue_timeout` too, because a live request may have coalesced onto it and
//! must not wait longer than it would have in its own line. A warm job refused that
//! way is not counted in `aperture_rejected_total` (no client was refused; the path
//! is simply not warmed, and its first GET makes it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;

use crate::cache::{DecodedCache, ProduceTimings, Variant};
use crate::error::{Error, Kind};
use crate::limits::{Admission, Deadline, Lane, Rejected};
use crate::options::{OutputFormat, ProcessingOptions};
use crate::pipeline::{self, PipelineError, Reuse, Settings};
use crate::source::Sources;
use crate::telemetry::metrics::Metrics;
use crate::url::SourceRef;

pub struct Job {
    pub sources: Arc<Sources>,
    pub source: SourceRef,
    /// `source.identity()` and the version (ETag) the variant is keyed by: where a
    /// decode may be reused from (`cache::decoded`), when the version is known.
    pub identity: String,
    pub version: Option<String>,
    pub decoded: DecodedCache,
    pub opts: ProcessingOptions,
    /// The negotiated format; `None` = the source's family.
    pub format: Option<OutputFormat>,
    pub settings: Settings,
    /// `max_src_file_size`; 0 = no limit.
    pub max_bytes: u64,
    /// The source's length from its metadata (HEAD/stat): what is reserved before the
    /// fetch, and the most the fetch may read.
    pub source_len: u64,
    pub admission: Admission,
    /// Live (a GET's miss) or warm (`POST /warm`).
    pub lane: Lane,
    pub queue_timeout: Duration,
    pub metrics: Arc<Metrics>,
}

impl Job {
    pub async fn run(self) -> Result<Variant, Error> {
        let m = &self.metrics.processing;
        let refused = |rejected: Rejected| -> Error {
            if self.lane == Lane::Live && !matches!(rejected, Rejected::Panicked(_)) {
                m.reject(rejected.reason());
            }
            rejected.into()
        };
        // Twice the queue timeout: each admission wait ends at the earlier of the two,
        // so the queue timeout decides and a refusal is labelled `queue_timeout`.
        let wait = self.queue_timeout.saturating_mul(2);
        let started = Instant::now();
        let source_held = self
            .admission
            .reserve_source(self.lane, self.source_len, Deadline::after(wait))
            .await
            .map_err(refused)?;
        let bytes = fetch(&self.sources, &self.source, self.source_len, self.max_bytes).await?;
        let fetched = started.elapsed();
        m.stage("fetch", fetched);

        // Headers only: cheap enough for an async thread, and it must precede the
        // reservation, which is sized from the plan.
        let prepared = pipeline::prepare(&bytes, &self.opts, self.format, &self.settings)?;
        let estimate = prepared.peak_bytes(bytes.len());
        let (opts, identity, version, decoded) =
            (self.opts, self.identity, self.version, self.decoded);
        let work = move || {
            // Admitted: `estimate` counts the source bytes from here on.
            drop(source_held);
            let reuse = version.as_deref().map(|version| Reuse {
                cache: &decoded,
                source: &identity,
                version,
            });
            prepared.execute_reusing(&bytes, &opts, reuse)
        };
        let job_deadline = Deadline::after(wait);
        let admitted = match self.lane {
            Lane::Live => self.admission.run(work, estimate, job_deadline).await,
            Lane::Warm => self.admission.run_warm(work, estimate, job_deadline).await,
        };
        let made = admitted.map_err(refused)??;
        m.stage("decode", made.timings.decode);
        m.stage("resize", made.timings.resize);
        m.stage("encode", made.timings.encode);
        let timings = ProduceTimings {
            fetch: fetched,
            decode: made.timings.decode,
            resize: made.timings.resize,
            encode: made.timings.encode,
        };
        Ok(
            Variant::new(made.bytes, made.format.mime(), made.width, made.height)
                .with_timings(timings),
        )
    }
}

/// The error for a source over `max_src_file_size` (422).
pub fn too_large(len: u64, limit: u64) -> Error {
    PipelineError::TooLarge(format!(
        "source is {len} bytes or more, over the {limit}-byte limit (max_src_file_size)"
    ))
    .into()
}

/// The whole source in memory, refused (422) past `limit` bytes (0 = no limit) while
/// its body arrives (the caller already checked the length the metadata announced),
/// and refused (502) past `expected` bytes: the object was replaced since its metadata
/// was read, and only `expected` bytes were reserved for it.
async fn fetch(
    sources: &Sources,
    source: &SourceRef,
    expected: u64,
    limit: u64,
) -> Result<Bytes, Error> {
    let mut stream = sources.read(source, None).await?;
    // The first chunk is kept as is: when it is the whole body (a small local file,
    // most S3 bodies under 1 MB) nothing is copied. Later chunks are copied into one
    // buffer of the announced length as they arrive and dropped, so the source is in
    // memory once, as reserved, not once in chunks and once more joined.
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        total += chunk.len() as u64;
        if limit > 0 && total > limit {
            return Err(too_large(total, limit));
        }
        if total > expected {
            return Err(Error::new(
                Kind::SourceUnavailable,
                "source changed while it was read: try again",
            ));
        }
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            earlier => {
                if let Some(earlier) = earlier {
                    joined.reserve_exact(expected as usize);
                    joined.extend_from_slice(&earlier);
                }
                joined.extend_from_slice(&chunk);
            }
        }
    }
    if total == 0 {
        return Err(Error::new(Kind::SourceEmpty, "source is empty (0 bytes)"));
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}
