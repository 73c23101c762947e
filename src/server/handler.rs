//! The image route, step by step: signature, URL, options, expiry, source, answer.
//! `raw:1` streams the source as is (here); everything else goes through the image
//! pipeline (`processed`).
//!
//! The signature is checked before anything else is parsed (as imgproxy does), so an
//! unsigned request learns nothing about our URL grammar.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::{Request, Response};
use hyper::body::Incoming;

use super::resolved::Resolved;
use crate::delivery::blob::{self, BlobAnswer, Origin, Prefetched};
use crate::delivery::body::ResponseBody;
use crate::delivery::headers;
use crate::delivery::redirect;
use crate::delivery::s3_open::{self, Opened};
use crate::error::{Error, Kind};
use crate::options::{self, Presets, ProcessingOptions};
use crate::source::BlobMeta;
use crate::state::App;
use crate::telemetry::timing::Timing;
use crate::url::{self, SourceRef};

pub async fn image(app: &App, req: &Request<Incoming>) -> Result<Response<ResponseBody>, Error> {
    let resolved = resolve(app, req.uri().path())?;
    let mut response = answer(app, req, &resolved).await?;
    // Every success (200, 206, 304, 307) names its source, so a CDN can purge all of
    // one blob's variants at once; errors are not stored and need no tag.
    headers::set_source_tags(response.headers_mut(), &resolved.source_tag);
    Ok(response)
}

async fn answer(
    app: &App,
    req: &Request<Incoming>,
    resolved: &Resolved,
) -> Result<Response<ResponseBody>, Error> {
    let (source, opts) = (&resolved.source, &resolved.opts);
    if opts.redirect {
        let SourceRef::S3 {
            bucket,
            key,
            version,
        } = source
        else {
            return Err(redirect::not_redirectable());
        };
        let target = redirect::Target {
            bucket,
            key,
            version: version.as_deref(),
        };
        let cc = &app.config.delivery.cache_control;
        return redirect::respond(
            &app.sources,
            req.method(),
            target,
            opts,
            cc,
            SystemTime::now(),
        )
        .await;
    }
    if !opts.raw {
        return super::processed::respond(app, req, resolved).await;
    }
    raw(app, req, source, opts).await
}

/// A signed path's source and options: signature, URL grammar, options, expiry, in
/// that order. Shared by GET and `POST /warm`, so a warmed path is accepted exactly
/// when a GET of it would be. The parse is remembered (`resolved`); the signature
/// and the expiry are checked on every call.
pub(super) fn resolve(app: &App, raw_path: &str) -> Result<Arc<Resolved>, Error> {
    let (signature, signed_path) = split_signature(raw_path);
    app.signer
        .verify(signature, signed_path)
        .map_err(|e| Error::new(Kind::BadSignature, format!("forbidden: {e}")))?;
    let resolved = app
        .resolved
        .get_or_parse(raw_path, || parse_image_path(raw_path, &app.presets))?;
    check_expiry(&resolved.opts, SystemTime::now())?;
    Ok(resolved)
}

/// The URL grammar and the options of a path whose signature was checked; an error is
/// the 400 the path is answered. `aperture sign` runs the paths it prints through this
/// too, so it never prints one the server would refuse.
pub fn parse_image_path(
    raw_path: &str,
    presets: &Presets,
) -> Result<(SourceRef, ProcessingOptions), Error> {
    let parsed = url::parse_path(raw_path)
        .map_err(|e| Error::new(Kind::InvalidUrl, format!("invalid URL: {e}")))?;
    let segments: Vec<&str> = parsed.option_segments.iter().map(String::as_str).collect();
    let mut opts = options::parse(&segments, presets)
        .map_err(|e| Error::new(Kind::InvalidOption, e.to_string()))?;
    if let Some(ext) = &parsed.extension {
        opts.apply_extension(ext)
            .map_err(|e| Error::new(Kind::InvalidOption, e.to_string()))?;
    }
    Ok((parsed.source, opts))
}

/// Serves the source's bytes unchanged.
async fn raw(
    app: &App,
    req: &Request<Incoming>,
    source: &SourceRef,
    opts: &ProcessingOptions,
) -> Result<Response<ResponseBody>, Error> {
    let started = Instant::now();
    // S3 answers metadata and body in one round trip when it can (see s3_open), and a
    // small local file is read whole with its metadata (one open); every other case
    // asks for the metadata first and opens the body once the answer is known.
    let opened = match source {
        SourceRef::S3 {
            bucket,
            key,
            version,
        } => {
            let (method, headers) = (req.method(), req.headers());
            let version = version.as_deref();
            s3_open::open(&app.sources, bucket, key, version, method, headers).await?
        }
        SourceRef::Local { path } => {
            let (meta, bytes) = app.sources.local.open_small(path).await?;
            let prefetched = bytes.map(|b| Prefetched {
                range: None,
                body: Box::pin(futures_util::stream::once(async move { Ok(b) })),
            });
            Some(Opened::Blob { meta, prefetched })
        }
        _ => None,
    };
    let (meta, prefetched, known_len) = match opened {
        Some(Opened::Blob { meta, prefetched }) => (meta, prefetched, true),
        // validators only: blob::respond answers 304 before it looks at the length
        Some(Opened::NotModified { meta }) => (meta, None, false),
        None => (app.sources.head(source).await?, None, true),
    };
    if known_len && meta.len == 0 {
        return Err(Error::new(Kind::SourceEmpty, "source is empty (0 bytes)"));
    }
    let content_type = meta
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    let name = headers::filename_for(opts.filename.as_deref(), &source_path(source), content_type);
    let answer = blob_answer(app, req, &meta, opts, &name, prefetched);
    let origin = Origin::Source {
        sources: std::sync::Arc::clone(&app.sources),
        source: source.clone(),
        etag: meta.etag.clone(),
    };
    let mut response = blob::respond(answer, origin).await?;
    // Metadata plus the body opened: what the source cost before the first byte.
    response.extensions_mut().insert(Timing {
        fetch: Some(started.elapsed()),
        ..Timing::default()
    });
    Ok(response)
}

/// `/SIGNATURE/rest...` -> ("SIGNATURE", "/rest...").
/// What raw and processed answers share: the request, the blob's metadata, and the
/// headers the URL's options and the configuration decide.
pub(super) fn blob_answer<'a>(
    app: &App,
    req: &'a Request<Incoming>,
    meta: &'a BlobMeta,
    opts: &ProcessingOptions,
    name: &str,
    prefetched: Option<Prefetched>,
) -> BlobAnswer<'a> {
    let delivery = &app.config.delivery;
    BlobAnswer {
        method: req.method(),
        request_headers: req.headers(),
        meta,
        cache_control: headers::cache_control(
            &delivery.cache_control,
            opts.expires.filter(|&t| t > 0),
            SystemTime::now(),
        ),
        content_disposition: headers::content_disposition(opts.return_attachment, name),
        max_ranges: delivery.max_ranges,
        prefetched,
    }
}

fn split_signature(path: &str) -> (&str, &str) {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    match trimmed.find('/') {
        Some(i) => (&trimmed[..i], &trimmed[i..]),
        None => (trimmed, ""),
    }
}

fn check_expiry(opts: &ProcessingOptions, now: SystemTime) -> Result<(), Error> {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match opts.expires {
        Some(expires) if opts.is_expired(now) => Err(Error::new(
            Kind::Expired,
            format!("URL expired at {expires} (unix time)"),
        )),
        _ => Ok(()),
    }
}

pub(super) fn source_path(source: &SourceRef) -> String {
    match source {
        SourceRef::Local { path } => path.clone(),
        SourceRef::S3 { key, .. } => key.clone(),
        SourceRef::Http { url } => url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_split() {
        assert_eq!(
            split_signature("/sig/raw:1/plain/x"),
            ("sig", "/raw:1/plain/x")
        );
        assert_eq!(split_signature("/sig"), ("sig", ""));
        assert_eq!(split_signature("/"), ("", ""));
    }
}
