//! S3 answers -> [`SourceError`] classes (and so HTTP statuses, see `crate::error`), plus
//! the small parsers for S3's validator and date headers.

use std::time::SystemTime;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};

use crate::source::SourceError;

/// S3 ETags are strong and quoted; make sure of the quotes.
pub(super) fn strong_etag(e: &str) -> String {
    let e = e.trim();
    if e.starts_with('"') || e.starts_with("W/\"") {
        e.to_owned()
    } else {
        format!("\"{e}\"")
    }
}

pub(super) fn to_system_time(d: &DateTime) -> Option<SystemTime> {
    SystemTime::try_from(*d).ok()
}

pub(super) fn parse_http_date(s: &str) -> Option<SystemTime> {
    DateTime::from_str(s.trim(), DateTimeFormat::HttpDate)
        .ok()
        .and_then(|d| to_system_time(&d))
}

/// The SDK reports a failed credentials lookup as a dispatch failure whose cause is a
/// `CredentialsError` (a type the SDK does not re-export), so look at the causes' text.
fn credentials_missing(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = err.source();
    while let Some(e) = next {
        if e.to_string().to_ascii_lowercase().contains("credential") {
            return true;
        }
        next = e.source();
    }
    false
}

const REFUSED_CODES: &[&str] = &[
    "AccessDenied",
    "AllAccessDisabled",
    "AccountProblem",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
    "InvalidSecurity",
    "RequestTimeTooSkewed",
    "InvalidObjectState",
];
const THROTTLE_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequests",
    "TooManyRequestsException",
    "ServiceUnavailable",
];
const NOT_FOUND_CODES: &[&str] = &["NoSuchKey", "NoSuchBucket", "NoSuchVersion", "NotFound"];

/// Map an SDK failure to the source's error classes (see [`SourceError`]'s HTTP mapping).
pub(super) fn map_sdk_error<E>(
    err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    bucket: &str,
) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) => return SourceError::Timeout,
        SdkError::DispatchFailure(d) if d.is_timeout() => return SourceError::Timeout,
        SdkError::DispatchFailure(d) if !d.is_io() && credentials_missing(&err) => {
            // No usable credentials in the provider chain: an operator problem like a
            // refused signature, so it is answered and logged the same way.
            return SourceError::Refused {
                detail: format!(
                    "bucket {bucket}: no usable AWS credentials: {}",
                    DisplayErrorContext(&err)
                ),
            };
        }
        SdkError::DispatchFailure(_) => {
            return SourceError::Unavailable(format!(
                "bucket {bucket}: {}",
                DisplayErrorContext(&err)
            ));
        }
        SdkError::ConstructionFailure(_) => {
            return SourceError::Unsupported(format!(
                "cannot build the S3 request for bucket {bucket:?}: {}",
                DisplayErrorContext(&err)
            ));
        }
        _ => {}
    }
    let Some(raw) = err.raw_response() else {
        return SourceError::Unavailable(format!("bucket {bucket}: {}", DisplayErrorContext(&err)));
    };
    let status = raw.status().as_u16();
    let delete_marker = raw.headers().get("x-amz-delete-marker") == Some("true");
    // a HEAD answer has no body, so no error code
    let code = err.code().unwrap_or("(no error code)");
    let detail = format!(
        "bucket {bucket}: HTTP {status} {code}{}{} (request id {})",
        if err.message().is_some() { ": " } else { "" },
        err.message().unwrap_or(""),
        err.request_id().unwrap_or("-"),
    );
    if status == 404 || NOT_FOUND_CODES.contains(&code) || delete_marker {
        SourceError::NotFound
    } else if status == 429 || status == 503 || THROTTLE_CODES.contains(&code) {
        SourceError::Throttled
    } else if status == 403 || REFUSED_CODES.contains(&code) {
        SourceError::Refused { detail }
    } else if status == 408 || code == "RequestTimeout" {
        SourceError::Timeout
    } else if (400..500).contains(&status) {
        SourceError::Rejected { detail }
    } else {
        // 5xx, 3xx (a wrong region or endpoint answers 301 PermanentRedirect), anything else
        SourceError::Unavailable(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_quoted() {
        assert_eq!(strong_etag("abc"), "\"abc\"");
        assert_eq!(strong_etag("\"abc-2\""), "\"abc-2\"");
    }
}
