//! Response headers shared by every successful body: Cache-Control (capped by
//! `expires`), Content-Disposition (RFC 6266 with a UTF-8 `filename*`), validators and
//! the safety headers; and the error response every failure becomes.

use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

use super::body::ResponseBody;
use crate::error::Error;

/// Sandbox for SVG answered inline: an SVG opened directly must not run script or
/// load anything on our origin.
pub const SVG_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// Cache-Control for a signed URL; with `expires`, no lifetime outlives the URL: the
/// configured directives are kept, `max-age` and `s-maxage` capped at the time left
/// (`max-age` added when absent), and `immutable` dropped (the answer turns into a 410
/// then). `no-store` needs no cap.
pub fn cache_control(configured: &str, expires: Option<i64>, now: SystemTime) -> String {
    let Some(expires) = expires else {
        return configured.to_string();
    };
    let directives = || {
        configured
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
    };
    if directives().any(|d| d.eq_ignore_ascii_case("no-store")) {
        return configured.to_string();
    }
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let left = (expires - now).max(0);
    let mut has_max_age = false;
    let mut kept: Vec<String> = Vec::new();
    for d in directives() {
        let (name, value) = d.split_once('=').unwrap_or((d, ""));
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "immutable" => {}
            "max-age" | "s-maxage" => {
                has_max_age |= name == "max-age";
                let configured = value.trim().trim_matches('"').parse::<i64>().ok();
                kept.push(format!(
                    "{name}={}",
                    configured.map_or(left, |m| m.min(left))
                ));
            }
            _ => kept.push(d.to_string()),
        }
    }
    if !has_max_age {
        kept.push(format!("max-age={left}"));
    }
    kept.join(", ")
}

/// RFC 6266 / RFC 8187: an ASCII `filename` for old clients and `filename*` in UTF-8.
pub fn content_disposition(attachment: bool, filename: &str) -> String {
    const ATTR: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let kind = if attachment { "attachment" } else { "inline" };
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let ascii = if ascii.trim().is_empty() {
        "file".to_string()
    } else {
        ascii
    };
    if ascii == filename {
        format!("{kind}; filename=\"{ascii}\"")
    } else {
        let encoded = utf8_percent_encode(filename, ATTR);
        format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    }
}

/// The file name a response offers: the `filename` option, else the source's last path
/// segment; an extension matching the content type is added when it has none.
pub fn filename_for(option: Option<&str>, source_path: &str, content_type: &str) -> String {
    let base = match option {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => source_path
            .rsplit('/')
            .find(|s| !s.is_empty())
            .unwrap_or("file")
            .to_string(),
    };
    match (name_extension(&base), extension_for(content_type)) {
        (None, Some(ext)) => format!("{base}.{ext}"),
        _ => base,
    }
}

/// The extension of a file name (`a.jpg` -> `jpg`; `.profile` and `a.` have none).
pub fn name_extension(name: &str) -> Option<&str> {
    name.rsplit_once('.')
        .filter(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
        .map(|(_, ext)| ext)
}

/// The file name a processed variant offers, imgproxy's way: the `filename` option as
/// the stem, else the source's last path segment without its extension; then the
/// output format's extension (so a `.jpg` source served as WebP is offered as `.webp`).
pub fn variant_filename(option: Option<&str>, source_path: &str, extension: &str) -> String {
    let stem = match option {
        Some(name) if !name.is_empty() => name,
        _ => {
            let last = source_path
                .rsplit('/')
                .find(|s| !s.is_empty())
                .unwrap_or("image");
            match last.rsplit_once('.') {
                Some((stem, _)) if !stem.is_empty() => stem,
                _ => last,
            }
        }
    };
    format!("{stem}.{extension}")
}

fn extension_for(content_type: &str) -> Option<&'static str> {
    Some(match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/avif" => "avif",
        "image/svg+xml" => "svg",
        "image/bmp" => "bmp",
        "image/tiff" => "tiff",
        "image/x-icon" | "image/vnd.microsoft.icon" => "ico",
        "image/heif" => "heif",
        "application/pdf" => "pdf",
        _ => return None,
    })
}

/// A short, stable key of a source blob: the first 16 hex characters of the SHA-256
/// of its identity (`SourceRef::identity()`). Hashed because the identity may hold
/// characters a header list cannot (spaces, commas) and need not be disclosed.
pub fn source_key(identity: &str) -> String {
    let digest = Sha256::digest(identity.as_bytes());
    hex::encode(&digest[..8])
}

/// [`source_key`] as a header value (hex digits: always valid).
pub fn source_tag(identity: &str) -> HeaderValue {
    HeaderValue::from_str(&source_key(identity)).expect("hex is a valid header value")
}

/// `Surrogate-Key` (Fastly) and `Cache-Tag` (Cloudflare, Akamai): every variant of
/// one source carries the same key ([`source_tag`]), so one purge drops them all.
pub fn set_source_tags(headers: &mut HeaderMap, tag: &HeaderValue) {
    headers.insert(
        header::HeaderName::from_static("surrogate-key"),
        tag.clone(),
    );
    headers.insert(header::HeaderName::from_static("cache-tag"), tag.clone());
}

/// Inserts a header whose value came from config or our own formatting; a value that
/// is not a valid header (cannot happen for validated config) is skipped, not a panic.
pub fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The response for any error: its status, the one-line public message as a short
/// text body, and headers that keep CDNs from caching a passing failure.
pub fn error_response(err: &Error, error_cache_control: &str) -> Response<ResponseBody> {
    let status = err.status();
    let mut body = err.public_message().to_string();
    if body.is_empty() {
        body = status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase();
    }
    body.push('\n');
    let mut response = Response::new(ResponseBody::full(body.clone()));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set(h, header::CACHE_CONTROL, error_cache_control);
    for (name, value) in err.kind.extra_headers() {
        set(h, name, &value);
    }
    if status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE || status == StatusCode::URI_TOO_LONG {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expires_caps_max_age() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let cc = "public, max-age=31536000, immutable";
        assert_eq!(cache_control(cc, None, now), cc);
        assert_eq!(cache_control(cc, Some(1_060), now), "public, max-age=60");
        assert_eq!(cache_control(cc, Some(900), now), "public, max-age=0");
        assert_eq!(
            cache_control("public, max-age=30", Some(1_060), now),
            "public, max-age=30"
        );
        assert_eq!(
            cache_control("public, s-maxage=20, max-age=600", Some(1_060), now),
            "public, s-maxage=20, max-age=60"
        );
        assert_eq!(
            cache_control("private, max-age=600", Some(1_060), now),
            "private, max-age=60"
        );
        assert_eq!(cache_control("no-store", Some(1_060), now), "no-store");
        assert_eq!(
            cache_control("no-cache", Some(1_060), now),
            "no-cache, max-age=60"
        );
    }

    #[test]
    fn source_keys_are_short_stable_hex() {
        let k = source_key("s3://bucket/photos/cat.jpg");
        assert_eq!(k.len(), 16);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(k, source_key("s3://bucket/photos/cat.jpg"));
        assert_ne!(k, source_key("s3://bucket/photos/dog.jpg"));
        let mut h = HeaderMap::new();
        set_source_tags(&mut h, &source_tag("local:///a.jpg"));
        assert_eq!(h["surrogate-key"], h["cache-tag"]);
    }

    #[test]
    fn dispositions() {
        assert_eq!(
            content_disposition(false, "a.jpg"),
            "inline; filename=\"a.jpg\""
        );
        assert_eq!(
            content_disposition(true, "my photo.jpg"),
            "attachment; filename=\"my photo.jpg\""
        );
        assert_eq!(
            content_disposition(false, "café \"x\".png"),
            "inline; filename=\"caf_ _x_.png\"; filename*=UTF-8''caf%C3%A9%20%22x%22.png"
        );
    }

    #[test]
    fn filenames() {
        assert_eq!(filename_for(None, "/a/b/cat.jpg", "image/jpeg"), "cat.jpg");
        assert_eq!(filename_for(Some("pic"), "/x.png", "image/png"), "pic.png");
        assert_eq!(
            filename_for(Some("pic.gif"), "/x.png", "image/png"),
            "pic.gif"
        );
        assert_eq!(
            filename_for(None, "/blob", "application/octet-stream"),
            "blob"
        );
        assert_eq!(filename_for(None, "/", "image/webp"), "file.webp");
    }

    #[test]
    fn variant_filenames_carry_the_output_extension() {
        assert_eq!(
            variant_filename(None, "/a/sunset.jpg", "webp"),
            "sunset.webp"
        );
        assert_eq!(variant_filename(None, "/a/b.c/noext", "png"), "noext.png");
        assert_eq!(variant_filename(None, "/.hidden", "jpg"), ".hidden.jpg");
        assert_eq!(variant_filename(Some("pic"), "/x.png", "webp"), "pic.webp");
        assert_eq!(variant_filename(None, "/", "jpg"), "image.jpg");
    }
}
