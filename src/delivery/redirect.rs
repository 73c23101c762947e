//! `redirect:1` (`rd:1`) on an s3:// source: `307 Temporary Redirect` to a SigV4
//! presigned GetObject URL, so the client fetches the bytes from S3 itself.
//!
//! The presigned URL lives for `s3.presign_expiry`, and never longer than the signed
//! URL's own `expires`. The 307 may be cached for half of that at most (and never longer
//! than `delivery.cache_control` allows), so a CDN that stores the redirect never hands
//! out a link that has already expired. Presigning is local (no request to S3), so a
//! missing object is S3's 404 when the client follows the link.
//!
//! The link carries `response-content-disposition`, so S3 offers the same name, inline or
//! as an attachment, that a raw answer would. Like `raw:1`, `redirect:1` serves the
//! source as it is: processing options next to it are ignored.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};

use super::body::ResponseBody;
use super::headers::{self as h, set};
use crate::error::{Error, Kind};
use crate::options::ProcessingOptions;
use crate::source::Sources;

/// The S3 object to redirect to.
pub struct Target<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub version: Option<&'a str>,
}

pub async fn respond(
    sources: &Sources,
    method: &Method,
    target: Target<'_>,
    opts: &ProcessingOptions,
    configured_cache_control: &str,
    now: SystemTime,
) -> Result<Response<ResponseBody>, Error> {
    let s3 = sources.s3()?;
    let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let expiry = presign_expiry(s3.presign_expiry(), opts.expires, now_secs);
    let disposition = h::content_disposition(opts.return_attachment, &file_name(opts, target.key));
    let url = s3
        .presign_get(
            target.bucket,
            target.key,
            target.version,
            expiry,
            Some(&disposition),
            None,
        )
        .await?;
    let location = HeaderValue::from_str(&url)
        .map_err(|_| Error::internal("presigned URL is not a valid header value"))?;

    let max_age = expiry.as_secs() / 2;
    let cache_control = h::cache_control(
        configured_cache_control,
        Some((now_secs + max_age) as i64),
        now,
    );
    let body = format!("Redirecting to {url}\n");
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    let hd = response.headers_mut();
    hd.insert(header::LOCATION, location);
    set(hd, header::CACHE_CONTROL, &cache_control);
    hd.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    hd.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    hd.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if *method != Method::HEAD {
        *response.body_mut() = ResponseBody::full(body);
    }
    Ok(response)
}

/// The name S3 is asked to offer (`response-content-disposition`), as a raw answer
/// would offer it: the `filename` option or the key's last segment. Raw answers add the
/// extension of the sniffed type to a name without one; without a HEAD the type is not
/// known here, so the key's own extension stands in for it.
fn file_name(opts: &ProcessingOptions, key: &str) -> String {
    let name = h::filename_for(opts.filename.as_deref(), key, "");
    let key_name = key.rsplit('/').find(|s| !s.is_empty()).unwrap_or("");
    match (h::name_extension(&name), h::name_extension(key_name)) {
        (None, Some(ext)) => format!("{name}.{ext}"),
        _ => name,
    }
}

/// The configured expiry, shortened to the signed URL's remaining life (at least 1 s;
/// an expired URL was refused before getting here).
fn presign_expiry(configured: Duration, expires: Option<i64>, now_secs: u64) -> Duration {
    match expires.filter(|&t| t > 0) {
        Some(t) => {
            let left = (t as u64).saturating_sub(now_secs).max(1);
            configured.min(Duration::from_secs(left))
        }
        None => configured,
    }
}

/// The error for `redirect:1` on a source that is not in S3.
pub fn not_redirectable() -> Error {
    Error::new(
        Kind::InvalidOption,
        "invalid option `redirect`: only s3:// sources can be redirected to",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offered_name_is_the_one_a_raw_answer_offers() {
        let mut opts = ProcessingOptions::default();
        assert_eq!(file_name(&opts, "photos/cat.jpg"), "cat.jpg");
        opts.filename = Some("report".into());
        assert_eq!(file_name(&opts, "photos/cat.jpg"), "report.jpg");
        opts.filename = Some("report.png".into());
        assert_eq!(file_name(&opts, "photos/cat.jpg"), "report.png");
        opts.filename = Some("report".into());
        assert_eq!(file_name(&opts, "photos/cat"), "report");
    }

    #[test]
    fn expiry_follows_the_signed_url() {
        let five_min = Duration::from_secs(300);
        assert_eq!(presign_expiry(five_min, None, 1000), five_min);
        assert_eq!(presign_expiry(five_min, Some(0), 1000), five_min);
        assert_eq!(
            presign_expiry(five_min, Some(1060), 1000),
            Duration::from_secs(60)
        );
        assert_eq!(
            presign_expiry(five_min, Some(1000), 1000),
            Duration::from_secs(1)
        );
        assert_eq!(presign_expiry(five_min, Some(99_999), 1000), five_min);
    }
}
