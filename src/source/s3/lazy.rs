//! [`LazyS3`]: the S3 source as `Sources` holds it. The SDK clients are built on the first
//! s3:// request, not at start-up, so a server that never serves S3 needs no credentials,
//! no region lookup and no network. Every S3 call of the service goes through here, which
//! is also where a refused request is logged (with the bucket, for the operator).

use std::time::Duration;

use aws_sdk_s3::config::Credentials;
use tokio::sync::OnceCell;

use super::{GetOutcome, ReadOptions, S3Config, S3Source};
use crate::delivery::range::ByteRange;
use crate::source::{BlobMeta, BodyStream, SourceError};

pub struct LazyS3 {
    config: S3Config,
    /// `None` = the standard AWS provider chain.
    credentials: Option<Credentials>,
    cell: OnceCell<S3Source>,
}

impl std::fmt::Debug for LazyS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyS3")
            .field("config", &self.config)
            .field("built", &self.cell.initialized())
            .finish_non_exhaustive()
    }
}

impl LazyS3 {
    pub fn new(config: S3Config, credentials: Option<Credentials>) -> LazyS3 {
        LazyS3 {
            config,
            credentials,
            cell: OnceCell::new(),
        }
    }

    /// The configured default expiry of presigned URLs.
    pub fn presign_expiry(&self) -> Duration {
        self.config.presign_expiry.min(super::MAX_PRESIGN_EXPIRY)
    }

    async fn source(&self) -> Result<&S3Source, SourceError> {
        self.cell
            .get_or_try_init(|| async {
                let built = match &self.credentials {
                    Some(c) => S3Source::with_credentials(&self.config, c.clone()).await,
                    None => S3Source::new(&self.config).await,
                };
                built.map_err(|e| {
                    tracing::error!(error = %e, "s3: cannot build the S3 client");
                    SourceError::Unavailable(format!("S3 client not available: {e}"))
                })
            })
            .await
    }

    pub async fn head(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<BlobMeta, SourceError> {
        logged(self.source().await?.head(bucket, key, version).await)
    }

    /// GetObject of `range` (or everything), streamed; with `etag`, sent with
    /// `If-Match: etag`, so an object that changed is `Err(Changed)`.
    pub async fn read_pinned(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        range: Option<ByteRange>,
        etag: Option<&str>,
    ) -> Result<BodyStream, SourceError> {
        let source = self.source().await?;
        let read = source.read(bucket, key, version, range, etag).await;
        logged(read.map(|(_, body)| body))
    }

    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
        opts: &ReadOptions<'_>,
    ) -> Result<GetOutcome, SourceError> {
        logged(self.source().await?.get(bucket, key, opts).await)
    }

    /// See [`S3Source::presign_get`]; `expires` zero = the configured default.
    pub async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        expires: Duration,
        content_disposition: Option<&str>,
        content_type: Option<&str>,
    ) -> Result<String, SourceError> {
        let source = self.source().await?;
        logged(
            source
                .presign_get(
                    bucket,
                    key,
                    version,
                    expires,
                    content_disposition,
                    content_type,
                )
                .await,
        )
    }
}

/// A refusal is an operator problem (credentials, bucket policy): log it loudly with the
/// detail that names the bucket; the client only learns that the origin refused.
fn logged<T>(result: Result<T, SourceError>) -> Result<T, SourceError> {
    if let Err(SourceError::Refused { detail }) = &result {
        tracing::error!(%detail, "s3: origin refused access; check credentials and bucket policy");
    }
    result
}
