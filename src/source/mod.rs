//! Where source blobs come from: metadata (`head`) and ranged, streamed bodies (`read`).
//!
//! [`Sources`] dispatches a [`SourceRef`] to its backend. Backends are plain structs with
//! the same two async methods rather than a trait object: there are few of them, and
//! enum dispatch keeps the futures `Send` without boxing. [`local::LocalSource`] serves
//! `local://`, [`s3::LazyS3`] serves `s3://` (when enabled); HTTP origins plug in here
//! next. Backends never pick HTTP statuses: they return [`SourceError`], which
//! `error.rs` maps.

pub mod local;
pub mod s3;
pub mod versions;

use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::Stream;

use crate::delivery::range::ByteRange;
use crate::error::{Error, Kind};
use crate::url::SourceRef;

/// What is known about a blob before reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub len: u64,
    /// Strong entity tag, quoted (`"abc"`).
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
    /// From the origin's metadata or sniffed from the first bytes; never from a name.
    pub content_type: Option<String>,
}

/// A body streamed chunk by chunk; an `Err` item means the source failed mid-way.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, SourceError>> + Send + 'static>>;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source not found")]
    NotFound,
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("origin refused access")]
    Refused { detail: String },
    /// The origin found the request itself invalid (a 4xx other than 403/404/408/429).
    #[error("origin rejected the request")]
    Rejected { detail: String },
    #[error("origin is throttling requests")]
    Throttled,
    #[error("origin timed out")]
    Timeout,
    #[error("origin unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Unsupported(String),
    /// The blob's version is no longer the one its metadata (and the response headers
    /// already decided) described.
    #[error("source changed while it was being served; try again")]
    Changed,
    #[error("i/o error reading source")]
    Io(#[from] std::io::Error),
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Error {
        let kind = match &e {
            SourceError::NotFound => Kind::SourceNotFound,
            SourceError::NotAllowed(_) => Kind::SourceNotAllowed,
            SourceError::InvalidPath(_) => Kind::InvalidUrl,
            SourceError::Refused { .. } => Kind::SourceRefused,
            SourceError::Throttled => Kind::SourceThrottled,
            SourceError::Timeout => Kind::SourceTimeout,
            SourceError::Unavailable(_) => Kind::SourceUnavailable,
            SourceError::Unsupported(_) | SourceError::Rejected { .. } => Kind::UnsupportedSource,
            SourceError::Changed | SourceError::Io(_) => Kind::SourceUnavailable,
        };
        match e {
            // The public message stays short and generic; the detail (bucket, S3 error
            // code, request id, SDK error chain) goes to the log through the cause chain.
            SourceError::Refused { detail } => {
                Error::new(kind, "origin refused access").with_cause(Detail(detail))
            }
            SourceError::Unavailable(detail) => {
                Error::new(kind, "origin unavailable").with_cause(Detail(detail))
            }
            SourceError::Rejected { detail } => {
                Error::new(kind, "origin rejected the request").with_cause(Detail(detail))
            }
            e => {
                // one line: a public message never spans lines
                let message = e.to_string().lines().next().unwrap_or_default().to_owned();
                Error::new(kind, message).with_cause(e)
            }
        }
    }
}

/// The private detail of a source failure, for the log only.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Detail(String);

/// All configured backends.
#[derive(Debug)]
pub struct Sources {
    pub local: local::LocalSource,
    /// `None` when S3 is disabled (`s3.enabled = false`).
    pub s3: Option<s3::LazyS3>,
}

impl Sources {
    /// The S3 backend, or the error that s3:// URLs get when it is disabled.
    pub fn s3(&self) -> Result<&s3::LazyS3, SourceError> {
        self.s3.as_ref().ok_or_else(|| {
            SourceError::Unsupported(
                "s3:// sources are disabled on this server (s3.enabled = false)".into(),
            )
        })
    }

    pub async fn head(&self, source: &SourceRef) -> Result<BlobMeta, SourceError> {
        match source {
            SourceRef::Local { path } => self.local.head(path).await,
            SourceRef::S3 {
                bucket,
                key,
                version,
            } => self.s3()?.head(bucket, key, version.as_deref()).await,
            other => Err(unsupported(other)),
        }
    }

    /// Reads `range` (or everything) of the blob. The stream yields exactly the range's
    /// bytes or ends with an `Err`; callers must not assume a short stream is complete.
    pub async fn read(
        &self,
        source: &SourceRef,
        range: Option<ByteRange>,
    ) -> Result<BodyStream, SourceError> {
        self.read_pinned(source, range, None).await
    }

    /// [`Sources::read`] of the version whose ETag is `etag`: `Err(Changed)` if the blob
    /// is another one now (S3: `If-Match` on the GetObject; local: the ETag of the file
    /// opened). For answers whose headers came from an earlier HEAD: the parts of a
    /// multipart answer, an `If-Range` resume, a conditional GET, must all be one version.
    pub async fn read_pinned(
        &self,
        source: &SourceRef,
        range: Option<ByteRange>,
        etag: Option<&str>,
    ) -> Result<BodyStream, SourceError> {
        match source {
            SourceRef::Local { path } => self.local.read_pinned(path, range, etag).await,
            SourceRef::S3 {
                bucket,
                key,
                version,
            } => {
                self.s3()?
                    .read_pinned(bucket, key, version.as_deref(), range, etag)
                    .await
            }
            other => Err(unsupported(other)),
        }
    }
}

fn unsupported(_source: &SourceRef) -> SourceError {
    SourceError::Unsupported("http(s) sources are not supported".into())
}
