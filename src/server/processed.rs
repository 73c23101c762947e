//! Processed answers: negotiate the format, look the variant up in the cache (or
//! produce it once, see `produce`), and answer from memory with the same Range, HEAD
//! and conditional rules as raw bodies (`delivery::blob` with an in-memory
//! [`Origin`]). A 304 on a cached variant never re-runs the pipeline.
//!
//! **Cache key and source versions.** The key holds the source's ETag, so a replaced
//! source is not served stale. The ETag comes from a metadata request made before
//! the lookup: a `stat` for local files (also the size check), a HEAD for S3,
//! remembered for `APERTURE_SOURCE_VERSION_TTL` (`source::versions`), which bounds
//! how long a replaced source can still get its old variant. The alternative, keying
//! by the ETag of the GetObject answer, would know the version only after fetching,
//! so a hit could not tell whether the object had been replaced: it would serve the
//! old variant until evicted. A HEAD is small next to a GET plus a decode, and hits
//! are correct again one TTL after a replacement; a source pinned by `?versionId`
//! cannot change, so a future optimisation may skip the HEAD for those. (If the object is replaced between the
//! HEAD and the GET, the new object's variant is stored under the old ETag; the next
//! request sees the new ETag, misses and stores it correctly.)
//!
//! **Deadline.** The whole lookup runs under `APERTURE_REQUEST_TIMEOUT`; past it the
//! client gets 503 + Retry-After, while the producer (its own task) finishes into the
//! cache so the retry is a hit.

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{Request, Response};
use hyper::body::Incoming;

use super::handler::{blob_answer, source_path};
use super::produce::{self, Job};
use super::resolved::Resolved;
use crate::cache::{self, Outcome, Variant, VariantKey};
use crate::delivery::blob::{self, Origin};
use crate::delivery::body::ResponseBody;
use crate::delivery::headers;
use crate::error::{Error, Kind};
use crate::limits::{Deadline, Lane};
use crate::options::OutputFormat;
use crate::pipeline::{self, negotiate};
use crate::source::BlobMeta;
use crate::source::versions::SourceVersion;
use crate::state::App;
use crate::telemetry::timing::Timing;

pub async fn respond(
    app: &App,
    req: &Request<Incoming>,
    resolved: &Resolved,
) -> Result<Response<ResponseBody>, Error> {
    let (source, opts) = (&resolved.source, &resolved.opts);
    // Options we cannot execute answer 501 before the source is fetched.
    pipeline::check_supported(opts, app.watermark.is_some())?;
    let auto = auto_formats(app);
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let negotiated = negotiate::negotiate(opts.format, accept, auto);

    let format = negotiated.format;
    let (variant, outcome) = match remembered_hit(app, resolved, format).await {
        Some(hit) => (hit, Outcome::Hit),
        None => {
            let deadline = Deadline::after(app.config.limits.request_timeout);
            match deadline
                .run(lookup(app, resolved, format, Lane::Live))
                .await
            {
                Ok(found) => found?,
                Err(late) => {
                    app.metrics.processing.reject(late.reason());
                    return Err(late.into());
                }
            }
        }
    };

    let meta = BlobMeta {
        len: variant.bytes.len() as u64,
        etag: Some(variant.etag.clone()),
        last_modified: None,
        content_type: Some(variant.content_type.to_string()),
    };
    let name = headers::variant_filename(
        opts.filename.as_deref(),
        &source_path(source),
        extension_of(variant.content_type),
    );
    let answer = blob_answer(app, req, &meta, opts, &name, None);
    let mut response = blob::respond(answer, Origin::Memory(variant.bytes.clone())).await?;
    let ran = (outcome != Outcome::Hit).then_some(variant.timings);
    response.extensions_mut().insert(Timing {
        cache: Some(outcome),
        fetch: ran.map(|t| t.fetch),
        stages: ran.map(|t| [t.decode, t.resize, t.encode]),
    });
    let h = response.headers_mut();
    h.insert("x-cache", HeaderValue::from_static(x_cache(outcome)));
    if negotiated.vary_accept {
        h.insert(header::VARY, HeaderValue::from_static("accept"));
    }
    Ok(response)
}

/// The source's version, then the cached variant or the one a (shared) run makes,
/// at the priority of `lane` (`POST /warm` uses this too).
/// The common case, answered without I/O or a deadline timer: the source's version
/// is remembered (`source::versions`) and its variant is cached.
async fn remembered_hit(
    app: &App,
    resolved: &Resolved,
    format: Option<OutputFormat>,
) -> Option<Arc<Variant>> {
    let version = app.versions.remembered(&resolved.identity)?;
    // A remembered version that fails the size checks takes the slow path, which
    // answers the error.
    usable(app, &version).ok()?;
    app.cache
        .hit(&variant_key(resolved, &version, format))
        .await
}

/// The source's version, then the cached variant or the one a (shared) run makes,
/// at the priority of `lane` (`POST /warm` uses this too).
pub(super) async fn lookup(
    app: &App,
    resolved: &Resolved,
    format: Option<OutputFormat>,
    lane: Lane,
) -> Result<(Arc<Variant>, Outcome), Error> {
    let (source, identity, opts) = (&resolved.source, &resolved.identity, &resolved.opts);
    let processing = &app.config.processing;
    let version = app.versions.get(&app.sources, source, identity).await?;
    usable(app, &version)?;
    let key = variant_key(resolved, &version, format);
    // Hits return before a job is built: building one clones the options and
    // settings, and its future is kilobytes that every move would copy.
    if let Some(hit) = app.cache.hit(&key).await {
        return Ok((hit, Outcome::Hit));
    }
    let job = Job {
        sources: Arc::clone(&app.sources),
        source: source.clone(),
        identity: identity.to_string(),
        version: version.etag.clone(),
        decoded: app.decoded.clone(),
        opts: opts.clone(),
        format,
        settings: app.pipeline_settings(),
        max_bytes: processing.max_src_file_size,
        source_len: version.len,
        admission: app.admission.clone(),
        lane,
        queue_timeout: app.config.limits.queue_timeout,
        metrics: Arc::clone(&app.metrics),
    };
    let made = app
        .cache
        .get_or_produce(key, Box::pin(job.run()))
        .await
        .map_err(cache::unshare);
    if made.is_err() {
        // The remembered version may be what failed (a source replaced by a larger
        // one fails its fetch): the next request asks the source again.
        app.versions.forget(identity);
    }
    made
}

/// Sources too big for `max_src_file_size`, or empty, are refused before any fetch.
fn usable(app: &App, version: &SourceVersion) -> Result<(), Error> {
    let limit = app.config.processing.max_src_file_size;
    if limit > 0 && version.len > limit {
        return Err(produce::too_large(version.len, limit));
    }
    if version.len == 0 {
        return Err(Error::new(Kind::SourceEmpty, "source is empty (0 bytes)"));
    }
    Ok(())
}

/// Source identity and version, normalized options, and the output format ("auto":
/// the source's family, fixed for a given source version).
fn variant_key(
    resolved: &Resolved,
    version: &SourceVersion,
    format: Option<OutputFormat>,
) -> VariantKey {
    VariantKey::new(
        resolved.identity.as_str(),
        version.etag.clone(),
        resolved.canonical.as_str(),
        format.map_or("auto", |f| f.extension()),
    )
}

/// The automatic formats the configuration enables (`APERTURE_AUTO_*`).
pub(super) fn auto_formats(app: &App) -> negotiate::AutoFormats {
    let processing = &app.config.processing;
    negotiate::AutoFormats {
        avif: processing.prefer_avif,
        webp: processing.prefer_webp,
    }
}

fn x_cache(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Hit => "HIT",
        Outcome::Miss => "MISS",
        Outcome::Coalesced => "COALESCED",
    }
}

/// The file extension for a variant's MIME type (for `Content-Disposition`).
fn extension_of(content_type: &str) -> &'static str {
    OutputFormat::ALL
        .iter()
        .find(|f| f.mime() == content_type)
        .map_or("bin", |f| f.extension())
}
