//! Processed answers: fetch the whole source, run the image pipeline on the blocking
//! pool, and answer from memory with the same Range, HEAD and conditional rules as raw
//! bodies (`delivery::blob` with an in-memory [`Origin`]).
//!
//! The variant's validator is a strong ETag of its bytes (the first 16 bytes of their
//! SHA-256), so a revalidation that reproduces the same bytes answers 304. Without a
//! variant cache a 304 still costs the processing; the cache will save that.

use std::time::SystemTime;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Request, Response};
use hyper::body::Incoming;
use sha2::{Digest, Sha256};

use super::handler::source_path;
use crate::delivery::blob::{self, BlobAnswer, Origin};
use crate::delivery::body::ResponseBody;
use crate::delivery::headers;
use crate::error::{Error, Kind};
use crate::options::ProcessingOptions;
use crate::pipeline::{self, PipelineError};
use crate::source::BlobMeta;
use crate::state::App;
use crate::url::SourceRef;

pub async fn respond(
    app: &App,
    req: &Request<Incoming>,
    source: &SourceRef,
    opts: ProcessingOptions,
) -> Result<Response<ResponseBody>, Error> {
    // Options we cannot execute answer 501 before the source is fetched.
    pipeline::check_supported(&opts)?;
    let processing = &app.config.processing;
    let bytes = fetch(app, source, processing.max_src_file_size).await?;
    let (filename, attachment, expires) =
        (opts.filename.clone(), opts.return_attachment, opts.expires);
    let variant = pipeline::process(bytes, opts, processing.pipeline_settings()).await?;

    let digest = Sha256::digest(&variant.bytes);
    let meta = BlobMeta {
        len: variant.bytes.len() as u64,
        etag: Some(format!("\"{}\"", hex::encode(&digest[..16]))),
        last_modified: None,
        content_type: Some(variant.format.mime().to_string()),
    };
    let name = headers::variant_filename(
        filename.as_deref(),
        &source_path(source),
        variant.format.extension(),
    );
    let delivery = &app.config.delivery;
    let answer = BlobAnswer {
        method: req.method(),
        request_headers: req.headers(),
        meta: &meta,
        cache_control: headers::cache_control(
            &delivery.cache_control,
            expires.filter(|&t| t > 0),
            SystemTime::now(),
        ),
        content_disposition: headers::content_disposition(attachment, &name),
        max_ranges: delivery.max_ranges,
        prefetched: None,
    };
    blob::respond(answer, Origin::Memory(variant.bytes)).await
}

/// The whole source in memory, refused (422) past `limit` bytes (0 = no limit): a
/// local file by its size before reading, any other origin while its body arrives.
async fn fetch(app: &App, source: &SourceRef, limit: u64) -> Result<Bytes, Error> {
    let too_large = |len: u64| -> Error {
        PipelineError::TooLarge(format!(
            "source is {len} bytes or more, over the {limit}-byte limit (max_src_file_size)"
        ))
        .into()
    };
    if let SourceRef::Local { path } = source {
        let meta = app.sources.local.head(path).await?;
        if limit > 0 && meta.len > limit {
            return Err(too_large(meta.len));
        }
    }
    let mut stream = app.sources.read(source, None).await?;
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        total += chunk.len() as u64;
        if limit > 0 && total > limit {
            return Err(too_large(total));
        }
        chunks.push(chunk);
    }
    if total == 0 {
        return Err(Error::new(Kind::SourceEmpty, "source is empty (0 bytes)"));
    }
    // One chunk (a small local file, most S3 bodies under 1 MB) needs no copy.
    if chunks.len() == 1 {
        return Ok(chunks.swap_remove(0));
    }
    let mut all = Vec::with_capacity(total as usize);
    for c in &chunks {
        all.extend_from_slice(c);
    }
    Ok(Bytes::from(all))
}
