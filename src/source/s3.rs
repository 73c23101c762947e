//! S3 source: `s3://bucket/key[?version]` read through aws-sdk-s3 (rustls + ring, the
//! standard AWS provider chain), streamed chunk by chunk with bounded memory.
//!
//! One SDK client is built per distinct (region, endpoint) pair and reused for every
//! request; each event loop has its own set of clients and connection pool
//! (`crate::io_lane`), so a body is read and sent on one thread. (`Sources` builds the
//! `S3Source` on the first s3:// request, so a server that never sees one needs no
//! credentials and no network.)
//!
//! The fast path for a ranged or conditional request is [`S3Source::get`]: a single
//! GetObject whose response carries everything the caller needs (total length from
//! `Content-Range`, ETag, Last-Modified, Content-Type), so no HEAD round trip precedes it.
//! Conditional headers (If-None-Match, If-Modified-Since, If-Match) are passed through to S3
//! and come back as [`GetOutcome::NotModified`] / [`GetOutcome::PreconditionFailed`].
//!
//! Submodules: `types` (range, options, outcome), `build` (clients), `body` (the
//! streamed body), `errors` (S3 errors -> [`SourceError`]).

mod body;
mod build;
mod errors;
mod lazy;
mod types;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::DateTime;

pub use build::{validate_bucket, validate_endpoint};
pub use lazy::LazyS3;
pub use types::{GetOutcome, RangeRequest, ReadOptions, S3Object};

use super::{BlobMeta, BodyStream, SourceError};
use crate::delivery::range::ByteRange;
use crate::delivery::sniff;
use body::body_stream;
use errors::{map_sdk_error, parse_http_date, strong_etag, to_system_time};
use types::parse_content_range;

/// Longest validity SigV4 allows for a presigned URL.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);
/// Region used when neither the configuration nor the provider chain names one (the usual
/// choice for S3-compatible servers).
pub const FALLBACK_REGION: &str = "us-east-1";

/// Per-bucket override of where a bucket lives; unset fields inherit the global values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketOverride {
    pub region: Option<String>,
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct S3Config {
    /// Default region; `None` = the provider chain's (env, profile, IMDS), else us-east-1.
    pub region: Option<String>,
    /// Custom endpoint (`http://127.0.0.1:8333`, MinIO, R2, ...); `None` = AWS.
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers.
    pub force_path_style: bool,
    pub buckets: BTreeMap<String, BucketOverride>,
    /// Empty = every bucket is allowed.
    pub allowed_buckets: Vec<String>,
    /// TCP (+TLS) connect timeout.
    pub connect_timeout: Duration,
    /// Time from sending a request to its response headers, and the longest pause between
    /// two body chunks while streaming.
    pub first_byte_timeout: Duration,
    /// Bound on one whole operation including retries (until the response headers; the
    /// body is then bounded by `first_byte_timeout` per chunk, so large blobs still stream).
    pub total_timeout: Duration,
    /// Default validity of presigned URLs (used when `presign_get` is given zero); capped
    /// at [`MAX_PRESIGN_EXPIRY`].
    pub presign_expiry: Duration,
    /// Attempts per operation (1 = no retries). Retries use the SDK's standard mode
    /// (exponential backoff with jitter, retry quota) on throttling, 5xx, connect errors.
    pub max_attempts: u32,
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            region: None,
            endpoint: None,
            force_path_style: false,
            buckets: BTreeMap::new(),
            allowed_buckets: Vec::new(),
            connect_timeout: Duration::from_secs(3),
            first_byte_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(9),
            presign_expiry: Duration::from_secs(300),
            max_attempts: 3,
        }
    }
}

/// The S3 source. Cheap to share (`Arc<S3Source>`); all methods take `&self`.
pub struct S3Source {
    /// `lanes[lane][i]`: per event loop (`io_lane`), one client per distinct (region,
    /// endpoint); a lane's clients share that lane's connection pool
    lanes: Vec<Vec<Client>>,
    /// (region, endpoint) of each client, for log lines
    client_keys: Vec<(String, Option<String>)>,
    default_client: usize,
    bucket_client: HashMap<String, usize>,
    /// `None` = every bucket
    allowed: Option<HashSet<String>>,
    idle_timeout: Duration,
    presign_expiry: Duration,
}

impl fmt::Debug for S3Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Source")
            .field("clients", &self.client_keys)
            .field("default_client", &self.default_client)
            .field("bucket_client", &self.bucket_client)
            .field("allowed", &self.allowed)
            .finish_non_exhaustive()
    }
}

impl S3Source {
    /// Build the clients. Credentials come from the standard AWS provider chain (env,
    /// profile files, web identity / STS, ECS, IMDS), resolved lazily on first use and
    /// cached/refreshed by the SDK.
    pub async fn new(cfg: &S3Config) -> Result<S3Source, String> {
        Self::build(cfg, None).await
    }

    /// Like [`S3Source::new`] with explicit credentials instead of the provider chain (tests,
    /// or credentials from aperture's own configuration).
    pub async fn with_credentials(
        cfg: &S3Config,
        credentials: impl ProvideCredentials + 'static,
    ) -> Result<S3Source, String> {
        Self::build(cfg, Some(SharedCredentialsProvider::new(credentials))).await
    }

    /// `Err(NotAllowed)` unless the bucket is on the allow-list (or the list is empty).
    pub fn check_allowed(&self, bucket: &str) -> Result<(), SourceError> {
        match &self.allowed {
            Some(allowed) if !allowed.contains(bucket) => Err(SourceError::NotAllowed(format!(
                "bucket {bucket:?} is not allowed"
            ))),
            _ => Ok(()),
        }
    }

    fn client(&self, bucket: &str) -> &Client {
        let i = self
            .bucket_client
            .get(bucket)
            .copied()
            .unwrap_or(self.default_client);
        let lane = crate::io_lane::current() % self.lanes.len();
        &self.lanes[lane][i]
    }

    fn check(&self, bucket: &str, key: &str) -> Result<(), SourceError> {
        validate_bucket(bucket).map_err(SourceError::Unsupported)?;
        self.check_allowed(bucket)?;
        if key.is_empty() {
            return Err(SourceError::Unsupported("empty S3 object key".to_owned()));
        }
        if key.len() > 1024 {
            return Err(SourceError::Unsupported(
                "S3 object key longer than 1024 bytes".to_owned(),
            ));
        }
        // The SDK sends `.` and `..` segments as they are, and a store or proxy that
        // normalizes the path would read `bucket/../other/key` from another bucket,
        // past the allow-list.
        if key
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return Err(SourceError::InvalidPath(
                "S3 object key must not contain `.` or `..` segments".to_owned(),
            ));
        }
        Ok(())
    }

    /// HeadObject.
    pub async fn head(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<BlobMeta, SourceError> {
        self.check(bucket, key)?;
        let out = self
            .client(bucket)
            .head_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await
            .map_err(|e| map_sdk_error(e, bucket))?;
        let len = out
            .content_length()
            .and_then(|l| u64::try_from(l).ok())
            .ok_or_else(|| {
                SourceError::Unavailable(format!(
                    "bucket {bucket}: HeadObject response without Content-Length"
                ))
            })?;
        Ok(BlobMeta {
            len,
            etag: out.e_tag().map(strong_etag),
            last_modified: out.last_modified().and_then(to_system_time),
            content_type: out.content_type().map(sniff::declared_type),
        })
    }

    /// GetObject of the whole blob or of `range`, streamed. An open-ended range is
    /// `ByteRange { start, end: u64::MAX }`; `meta.len` is the whole blob's length. A range
    /// outside the blob is `Err(Unsupported)`; use [`S3Source::get`] to tell it apart.
    ///
    /// `if_match`: the ETag the blob must still have (`Err(Changed)` otherwise).
    pub async fn read(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        range: Option<ByteRange>,
        if_match: Option<&str>,
    ) -> Result<(BlobMeta, BodyStream), SourceError> {
        let opts = ReadOptions {
            version,
            range: range.map(RangeRequest::from),
            if_match,
            ..ReadOptions::default()
        };
        match self.get(bucket, key, &opts).await? {
            GetOutcome::Found(o) => Ok((o.meta, o.body)),
            GetOutcome::RangeNotSatisfiable { meta } => Err(SourceError::Unsupported(format!(
                "range not satisfiable: the blob has {} bytes",
                meta.len
            ))),
            GetOutcome::PreconditionFailed if if_match.is_some() => Err(SourceError::Changed),
            GetOutcome::NotModified { .. } | GetOutcome::PreconditionFailed => Err(
                SourceError::Unavailable(format!("bucket {bucket}: unexpected conditional answer")),
            ),
        }
    }

    /// One GetObject with range and conditions passed through: the single round trip for
    /// GET and ranged GET (no HEAD first). See [`GetOutcome`].
    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
        opts: &ReadOptions<'_>,
    ) -> Result<GetOutcome, SourceError> {
        self.check(bucket, key)?;
        if let Some(r) = opts.range {
            r.validate()?;
        }
        let result = self
            .client(bucket)
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(opts.version.map(str::to_owned))
            .set_range(opts.range.map(RangeRequest::header_value))
            .set_if_none_match(opts.if_none_match.map(str::to_owned))
            .set_if_modified_since(opts.if_modified_since.map(DateTime::from))
            .set_if_match(opts.if_match.map(str::to_owned))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(err) => {
                let status = err.raw_response().map(|r| r.status().as_u16());
                return match status {
                    Some(304) => {
                        let raw = err.raw_response().expect("has a response");
                        let headers = raw.headers();
                        Ok(GetOutcome::NotModified {
                            etag: headers.get("etag").map(strong_etag),
                            last_modified: headers.get("last-modified").and_then(parse_http_date),
                        })
                    }
                    Some(412) => Ok(GetOutcome::PreconditionFailed),
                    Some(416) => {
                        let raw = err.raw_response().expect("has a response");
                        let total = raw
                            .headers()
                            .get("content-range")
                            .and_then(|v| v.strip_prefix("bytes */"))
                            .and_then(|n| n.trim().parse::<u64>().ok());
                        let meta = match total {
                            Some(len) => BlobMeta {
                                len,
                                etag: raw.headers().get("etag").map(strong_etag),
                                last_modified: raw
                                    .headers()
                                    .get("last-modified")
                                    .and_then(parse_http_date),
                                content_type: None,
                            },
                            // S3 does not say the length in a 416: ask (rare path)
                            None => self.head(bucket, key, opts.version).await?,
                        };
                        Ok(GetOutcome::RangeNotSatisfiable { meta })
                    }
                    _ => Err(map_sdk_error(err, bucket)),
                };
            }
        };

        let body_len = out.content_length().and_then(|l| u64::try_from(l).ok());
        let (served, len) = match out.content_range() {
            Some(cr) => {
                let (r, total) = parse_content_range(cr).ok_or_else(|| {
                    SourceError::Unavailable(format!(
                        "bucket {bucket}: unparseable Content-Range {cr:?}"
                    ))
                })?;
                (Some(r), total)
            }
            None => (
                None,
                body_len.ok_or_else(|| {
                    SourceError::Unavailable(format!(
                        "bucket {bucket}: GetObject response without Content-Length"
                    ))
                })?,
            ),
        };
        let meta = BlobMeta {
            len,
            etag: out.e_tag().map(strong_etag),
            last_modified: out.last_modified().and_then(to_system_time),
            content_type: out.content_type().map(sniff::declared_type),
        };
        // A server that ignored Range sent the whole blob: cut the requested part out of it
        // so that callers always get what they asked for.
        let (served, skip) = match (opts.range, served) {
            (Some(want), None) => match want.resolve(len) {
                Some(r) => (Some(r), r.start),
                None => return Ok(GetOutcome::RangeNotSatisfiable { meta }),
            },
            (_, served) => (served, 0),
        };
        let take = served.map_or(len, |r| r.end - r.start + 1);
        let body = body_stream(out.body, body_len, skip, take, self.idle_timeout);
        Ok(GetOutcome::Found(S3Object {
            meta,
            range: served,
            body,
        }))
    }

    /// Presigned GetObject URL, valid for `expires` (zero = the configured default; capped
    /// at 7 days, and by the lifetime of temporary credentials). `content_disposition` /
    /// `content_type` become `response-content-disposition` / `response-content-type`.
    pub async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        expires: Duration,
        content_disposition: Option<&str>,
        content_type: Option<&str>,
    ) -> Result<String, SourceError> {
        self.check(bucket, key)?;
        let expires = if expires.is_zero() {
            self.presign_expiry
        } else {
            expires.min(MAX_PRESIGN_EXPIRY)
        };
        let presigning = PresigningConfig::expires_in(expires)
            .map_err(|e| SourceError::Unsupported(format!("presign: {e}")))?;
        let req = self
            .client(bucket)
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .set_response_content_disposition(content_disposition.map(str::to_owned))
            .set_response_content_type(content_type.map(str::to_owned))
            .presigned(presigning)
            .await
            .map_err(|e| map_sdk_error(e, bucket))?;
        Ok(req.uri().to_owned())
    }
}
