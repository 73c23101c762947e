//! Where source blobs come from: metadata (`head`) and ranged, streamed bodies (`read`).
//!
//! [`Sources`] dispatches a [`SourceRef`] to its backend. Backends are plain structs with
//! the same two async methods rather than a trait object: there are few of them, and
//! enum dispatch keeps the futures `Send` without boxing. S3 and HTTP origins plug in
//! here next to [`local::LocalSource`]. Backends never pick HTTP statuses: they return
//! [`SourceError`], which `error.rs` maps.

pub mod local;

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
    #[error("origin is throttling requests")]
    Throttled,
    #[error("origin timed out")]
    Timeout,
    #[error("origin unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Unsupported(String),
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
            SourceError::Unsupported(_) => Kind::UnsupportedSource,
            SourceError::Io(_) => Kind::SourceUnavailable,
        };
        let message = e.to_string();
        Error::new(kind, message).with_cause(e)
    }
}

/// All configured backends.
#[derive(Debug)]
pub struct Sources {
    pub local: local::LocalSource,
}

impl Sources {
    pub async fn head(&self, source: &SourceRef) -> Result<BlobMeta, SourceError> {
        match source {
            SourceRef::Local { path } => self.local.head(path).await,
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
        match source {
            SourceRef::Local { path } => self.local.read(path, range).await,
            other => Err(unsupported(other)),
        }
    }
}

fn unsupported(source: &SourceRef) -> SourceError {
    match source {
        SourceRef::S3 { .. } => {
            SourceError::Unsupported("s3:// sources are not enabled in this build".into())
        }
        _ => SourceError::Unsupported("http(s) sources are not supported".into()),
    }
}
