//! Parsing of imgproxy-compatible request paths into signature, signed path,
//! processing-option segments, source reference and output extension.
//!
//! Grammar (imgproxy "Generating the URL", `options/url.go`):
//! - `/{signature}/{options...}/plain/{percent-encoded source}[@{ext}]`
//! - `/{signature}/{options...}/{base64url source, may be split by /}[.{ext}]`
//!
//! Option segments are those containing `:`; the first segment that is
//! `plain` or has no `:` starts the source. Option segments are returned raw
//! (still percent-encoded): interpreting them belongs to the options parser.
//! Signature checking is left to [`signature::Signer::verify`] so callers can
//! choose the order of checks, but the exact bytes to verify are provided
//! in [`ParsedUrl::signed_path`].

pub mod signature;
pub mod source_ref;

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

pub use signature::{SignatureError, Signer};
pub use source_ref::SourceRef;

/// Public, one-line reasons: safe to show to clients (they never echo input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("path must start with '/'")]
    NotAbsolute,
    #[error("missing source URL")]
    MissingSource,
    #[error("source URL is not valid base64")]
    InvalidBase64,
    #[error("source URL has invalid percent-encoding")]
    InvalidPercentEncoding,
    #[error("source URL is not valid UTF-8")]
    InvalidUtf8,
    #[error("source URL contains a control character")]
    ControlCharacter,
    #[error("unsupported source URL scheme")]
    UnsupportedScheme,
    #[error("invalid source URL: {0}")]
    InvalidSource(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl {
    /// The first segment, as received; may be empty (`verify` reports that).
    pub signature: String,
    /// Everything after the signature segment, leading `/` included, exactly
    /// as received: the HMAC input.
    pub signed_path: String,
    pub option_segments: Vec<String>,
    pub source: SourceRef,
    pub extension: Option<String>,
}

const PLAIN: &str = "plain";

/// Like Go's `base64.RawURLEncoding` that imgproxy uses: no padding (imgproxy
/// trims `=` first) and non-zero trailing bits tolerated. Leniency here is
/// harmless because the signature covers the raw path, not the decoded URL.
const BASE64_SOURCE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// `raw_path` is the request URI path as received (percent-encoded), without
/// the query string.
pub fn parse_path(raw_path: &str) -> Result<ParsedUrl, UrlError> {
    let rest = raw_path.strip_prefix('/').ok_or(UrlError::NotAbsolute)?;
    let (signature, signed_path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let segments: Vec<&str> = match signed_path.strip_prefix('/') {
        Some(s) if !s.is_empty() => s.split('/').collect(),
        _ => return Err(UrlError::MissingSource),
    };
    let n_opts = segments
        .iter()
        .take_while(|s| s.contains(':') && **s != PLAIN)
        .count();
    let option_segments = segments[..n_opts].iter().map(|s| s.to_string()).collect();
    let source_segments = &segments[n_opts..];

    let (decoded, extension) = match source_segments {
        [] => return Err(UrlError::MissingSource),
        [first, ..] if *first == PLAIN => {
            let prefix: usize = segments[..=n_opts].iter().map(|s| s.len() + 1).sum();
            decode_plain(signed_path.get(prefix + 1..).unwrap_or_default())?
        }
        _ => decode_base64(source_segments)?,
    };

    Ok(ParsedUrl {
        signature: signature.to_owned(),
        signed_path: signed_path.to_owned(),
        option_segments,
        source: SourceRef::parse(&decoded)?,
        extension,
    })
}

/// The extension follows the LAST `@`, so a raw `@` inside the source URL
/// (userinfo, S3 keys) survives as long as an extension is given. A suffix
/// containing `/` cannot be an extension; then the `@` belongs to the URL
/// (imgproxy would instead fail with an unknown format). Splitting happens
/// before unescaping, like imgproxy, so `%40` never splits.
fn decode_plain(encoded: &str) -> Result<(String, Option<String>), UrlError> {
    let (url, extension) = match encoded.rsplit_once('@') {
        Some((url, ext)) if !ext.contains('/') => (url, non_empty(ext)),
        _ => (encoded, None),
    };
    if url.is_empty() {
        return Err(UrlError::MissingSource);
    }
    Ok((percent_decode_strict(url)?, extension))
}

/// imgproxy joins the segments without separators, then takes what follows
/// the `.` as the extension; a `.` elsewhere fails base64 decoding.
fn decode_base64(segments: &[&str]) -> Result<(String, Option<String>), UrlError> {
    let (last, init) = segments.split_last().ok_or(UrlError::MissingSource)?;
    let (last_body, extension) = match last.rsplit_once('.') {
        Some((body, ext)) => (body, non_empty(ext)),
        None => (*last, None),
    };
    let mut encoded: String = init.concat();
    encoded.push_str(last_body);
    let encoded = encoded.trim_end_matches('=');
    if encoded.is_empty() {
        return Err(UrlError::MissingSource);
    }
    let bytes = BASE64_SOURCE
        .decode(encoded)
        .map_err(|_| UrlError::InvalidBase64)?;
    let url = String::from_utf8(bytes).map_err(|_| UrlError::InvalidUtf8)?;
    Ok((url, extension))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// One round of percent-decoding that, like Go's `url.PathUnescape`, rejects
/// a `%` not followed by two hex digits (the `percent-encoding` crate would
/// pass it through silently) and leaves `+` alone. The result must be UTF-8.
pub fn percent_decode_strict(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !matches!(bytes.get(i + 1..i + 3), Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit())
        {
            return Err(UrlError::InvalidPercentEncoding);
        }
    }
    percent_encoding::percent_decode(bytes)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| UrlError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (raw path, signature, option segments, source, extension)
    type Case = (
        &'static str,
        &'static str,
        Vec<&'static str>,
        SourceRef,
        Option<&'static str>,
    );

    fn http(url: &str) -> SourceRef {
        SourceRef::Http {
            url: url.to_owned(),
        }
    }

    #[test]
    fn parses_valid_paths() {
        let s3 = |key: &str, version: Option<&str>| SourceRef::S3 {
            bucket: "bucket".into(),
            key: key.into(),
            version: version.map(Into::into),
        };
        let local = |p: &str| SourceRef::Local { path: p.into() };
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            // imgproxy docs example (base64 split by '/').
            ("/sig/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png",
             "sig", vec!["rs:fill:300:400:0", "g:sm"], http("http://example.com/images/curiosity.jpg"), Some("png")),
            // Unsplit, padded, no extension, no options.
            ("/_/aHR0cDovL2V4YW1wbGUuY29tL2ltYWdlcy9jdXJpb3NpdHkuanBn==", "_", vec![],
             http("http://example.com/images/curiosity.jpg"), None),
            // Base64 source: its path is unescaped once, in SourceRef.
            ("/s/bG9jYWw6Ly8v/YSUyMGIuanBn.webp", "s", vec![], local("/a b.jpg"), Some("webp")),
            ("/s/czM6Ly9idWNrZXQvaz92ZXJzaW9uSWQ9dg", "s", vec![], s3("k", Some("v")), None),
            // Empty extension after '.' means none.
            ("/s/aHR0cDovL2EvYg.", "s", vec![], http("http://a/b"), None),
            ("/s/rs:fit:300:300/plain/http://example.com/a.jpg@png", "s", vec!["rs:fit:300:300"],
             http("http://example.com/a.jpg"), Some("png")),
            ("/s/plain/http%3A%2F%2Fexample.com%2Fa.jpg%3Fx%3D1", "s", vec![],
             http("http://example.com/a.jpg?x=1"), None),
            // Last '@' wins; a '@' followed by '/' belongs to the URL.
            ("/s/plain/http://u@example.com/a.jpg@webp", "s", vec![], http("http://u@example.com/a.jpg"), Some("webp")),
            ("/s/plain/http://u@example.com/a.jpg", "s", vec![], http("http://u@example.com/a.jpg"), None),
            ("/s/plain/http://example.com/a%40b.jpg", "s", vec![], http("http://example.com/a@b.jpg"), None),
            ("/s/plain/local:///a.jpg@", "s", vec![], local("/a.jpg"), None),
            // Plain source: unescaped once here, its path once more in SourceRef.
            ("/s/plain/local:///dir/a%2520b.jpg", "s", vec![], local("/dir/a b.jpg"), None),
            ("/s/plain/local:///a%20b+c.jpg@avif", "s", vec![], local("/a b+c.jpg"), Some("avif")),
            ("/s/plain/s3://bucket/caf%C3%A9.jpg", "s", vec![], s3("café.jpg", None), None),
            ("/s/plain/s3://bucket/100%252525.jpg", "s", vec![], s3("100%25.jpg", None), None),
            ("/s/plain/s3://bucket/k.jpg%3FversionId%3Dv1@png", "s", vec![], s3("k.jpg", Some("v1")), Some("png")),
            ("/s/w:1/h:2/plain/s3://bucket/a/b/c.png", "s", vec!["w:1", "h:2"], s3("a/b/c.png", None), None),
            // Empty signature is a verify-time error, not a parse error.
            ("//plain/local:///x", "", vec![], local("/x"), None),
        ];
        for (raw, sig, opts, source, ext) in cases {
            let got = parse_path(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(got.signature, sig, "{raw}");
            assert_eq!(got.signed_path, raw[1 + sig.len()..], "{raw}");
            assert_eq!(got.option_segments, opts, "{raw}");
            assert_eq!(got.source, source, "{raw}");
            assert_eq!(got.extension.as_deref(), ext, "{raw}");
        }
    }

    #[test]
    fn rejects_invalid_paths() {
        use UrlError::*;
        let cases = [
            ("", NotAbsolute),
            ("sig/plain/http://a/b", NotAbsolute),
            ("/", MissingSource),
            ("/sig", MissingSource),
            ("/sig/", MissingSource),
            ("/sig/rs:fit:1:1", MissingSource),
            ("/sig/rs:fit:1:1/plain", MissingSource),
            ("/sig/plain", MissingSource),
            ("/sig/plain/", MissingSource),
            ("/sig/plain/@png", MissingSource),
            ("/sig/.png", MissingSource),
            ("/sig/===.png", MissingSource),
            ("/sig/a.b.png", InvalidBase64),
            ("/sig/aHR0c@Dov.png", InvalidBase64),
            ("/sig/a", InvalidBase64),
            ("/sig/_w", InvalidUtf8),
            ("/sig/plain/http://a/%zz", InvalidPercentEncoding),
            ("/sig/plain/http://a/%4", InvalidPercentEncoding),
            ("/sig/plain/http://a/%ff", InvalidUtf8),
            ("/sig/plain/ftp://a/b", UnsupportedScheme),
            ("/sig/plain/local:///a%00b", ControlCharacter),
            ("/sig/plain/local:///a%2500b", ControlCharacter),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_path(raw), Err(want), "{raw}");
        }
    }

    #[test]
    fn percent_decode_strict_table() {
        let cases = [
            ("a%20b", Ok("a b")),
            ("a+b", Ok("a+b")),
            ("%25", Ok("%")),
            ("%e2%82%ac", Ok("€")),
            ("%", Err(UrlError::InvalidPercentEncoding)),
            ("%2", Err(UrlError::InvalidPercentEncoding)),
            ("%g0", Err(UrlError::InvalidPercentEncoding)),
            ("%c3", Err(UrlError::InvalidUtf8)),
        ];
        for (input, want) in cases {
            assert_eq!(
                percent_decode_strict(input).as_deref(),
                want.as_deref(),
                "{input}"
            );
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        let alphabet: &[&str] = &[
            "/",
            "plain",
            ":",
            "@",
            ".",
            "%",
            "%2",
            "%25",
            "%00",
            "a",
            "=",
            "é",
            "\0",
            "?",
            "#",
            "local://",
            "s3://",
            "http://",
            "aHR0cDovL2E",
            "\u{fffd}",
            "..",
            "insecure",
        ];
        // Deterministic pseudo-random walk over short token sequences.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut parsed = 0;
        for _ in 0..20_000 {
            let len = next() % 10;
            let s: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            parsed += usize::from(parse_path(&s).is_ok());
            let _ = SourceRef::parse(&s);
        }
        assert!(parsed > 0, "the walk should reach some valid paths too");
    }
}
