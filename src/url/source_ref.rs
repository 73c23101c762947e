//! The decoded source URL of a request, classified into the storage backends
//! aperture can read from (`local://`, `s3://`, `http(s)://`), plus a stable
//! textual identity for cache keys.
//!
//! Decoding follows imgproxy: the plain source was unescaped once by the path
//! parser; here it is parsed as a URL whose path is unescaped once more (Go's
//! `url.Path`, which imgproxy's fs and S3 transports read). So a key with a
//! space is `a%2520b` in a plain URL and `a%20b` in a base64 one; `+` stays
//! a literal `+`; a literal `%` is `%25` in the source URL. A `?` or `#`
//! belonging to a key must be escaped (`%3F`, `%23`) in the source URL.
//! Path traversal is not checked here: the storage layer confines paths.

use std::fmt;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::{UrlError, percent_decode_strict};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourceRef {
    /// `local:///path`: decoded, always starts with `/`. The query string is
    /// ignored, as imgproxy's fs transport reads only `url.Path`; this keeps
    /// cache-busting suffixes such as `?v=2` working.
    Local { path: String },
    /// `s3://bucket/key[?versionId=V]` (imgproxy's bare `?V` is accepted too).
    S3 {
        bucket: String,
        key: String,
        version: Option<String>,
    },
    /// `http(s)://...`: scheme lowercased, fragment dropped, characters that
    /// are not allowed in a URI (space, non-ASCII...) percent-encoded so the
    /// result is a valid request target; existing escapes are kept as is.
    Http { url: String },
}

/// Characters escaped in an HTTP source's path and query (WHATWG-like).
const HTTP_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Escaping `%` and every delimiter makes identities injective, and lets
/// `SourceRef::parse(identity)` reproduce the same value.
const IDENTITY_ESCAPE: &AsciiSet = &HTTP_ESCAPE
    .add(b'%')
    .add(b'?')
    .add(b'#')
    .add(b'&')
    .add(b'=');

impl SourceRef {
    pub fn parse(decoded_source_url: &str) -> Result<SourceRef, UrlError> {
        let s = decoded_source_url;
        if s.is_empty() {
            return Err(UrlError::MissingSource);
        }
        // Go's url.Parse refuses raw control characters too.
        if has_control(s) {
            return Err(UrlError::ControlCharacter);
        }
        let (scheme, rest) = s.split_once(':').ok_or(UrlError::UnsupportedScheme)?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "local" | "s3" | "http" | "https") {
            return Err(UrlError::UnsupportedScheme);
        }
        let rest = rest
            .strip_prefix("//")
            .ok_or(UrlError::InvalidSource("expected '//' after the scheme"))?;
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(authority_end);
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        match scheme.as_str() {
            "local" => parse_local(authority, path),
            "s3" => parse_s3(authority, path, query),
            _ => parse_http(&scheme, authority, path_and_query),
        }
    }

    /// Stable text for cache keys: a canonical URL, distinct for distinct
    /// sources (delimiters inside components are escaped).
    pub fn identity(&self) -> String {
        match self {
            SourceRef::Local { path } => {
                format!("local://{}", utf8_percent_encode(path, IDENTITY_ESCAPE))
            }
            SourceRef::S3 {
                bucket,
                key,
                version,
            } => {
                let mut id = format!(
                    "s3://{bucket}/{}",
                    utf8_percent_encode(key, IDENTITY_ESCAPE)
                );
                if let Some(v) = version {
                    id.push_str("?versionId=");
                    id.extend(utf8_percent_encode(v, IDENTITY_ESCAPE));
                }
                id
            }
            SourceRef::Http { url } => url.clone(),
        }
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.identity())
    }
}

fn has_control(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == 0x7f)
}

/// Second unescaping round for local paths and S3 keys; NUL and other
/// control characters smuggled in as `%00`-style escapes are refused here.
fn decode_component(s: &str) -> Result<String, UrlError> {
    let decoded = percent_decode_strict(s)?;
    if has_control(&decoded) {
        return Err(UrlError::ControlCharacter);
    }
    Ok(decoded)
}

fn parse_local(authority: &str, path: &str) -> Result<SourceRef, UrlError> {
    if !authority.is_empty() {
        return Err(UrlError::InvalidSource(
            "local source must have an empty host (local:///path)",
        ));
    }
    if path.is_empty() {
        return Err(UrlError::InvalidSource("missing local path"));
    }
    Ok(SourceRef::Local {
        path: decode_component(path)?,
    })
}

fn parse_s3(bucket: &str, path: &str, query: Option<&str>) -> Result<SourceRef, UrlError> {
    // Covers both current and legacy (uppercase, `_`) bucket names while
    // keeping userinfo, ports and escapes out.
    let valid_bucket = !bucket.is_empty()
        && bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !valid_bucket {
        return Err(UrlError::InvalidSource("invalid S3 bucket name"));
    }
    let key = decode_component(path.strip_prefix('/').unwrap_or(path))?;
    if key.is_empty() {
        return Err(UrlError::InvalidSource("missing S3 object key"));
    }
    Ok(SourceRef::S3 {
        bucket: bucket.to_owned(),
        key,
        version: s3_version(query)?,
    })
}

fn s3_version(query: Option<&str>) -> Result<Option<String>, UrlError> {
    const BAD_QUERY: UrlError = UrlError::InvalidSource("unsupported query in S3 source URL");
    let raw = match query {
        None | Some("") => return Ok(None),
        Some(q) => match q.strip_prefix("versionId=") {
            Some(v) if !v.contains('&') => v,
            Some(_) => return Err(BAD_QUERY),
            // imgproxy's documented form: the whole query is the version.
            None if !q.contains(['=', '&']) => q,
            None => return Err(BAD_QUERY),
        },
    };
    let version = decode_component(raw)?;
    if version.is_empty() {
        return Err(BAD_QUERY);
    }
    Ok(Some(version))
}

fn parse_http(scheme: &str, authority: &str, path_and_query: &str) -> Result<SourceRef, UrlError> {
    if authority.is_empty() {
        return Err(UrlError::InvalidSource("missing host"));
    }
    let url = format!(
        "{scheme}://{authority}{}",
        utf8_percent_encode(path_and_query, HTTP_ESCAPE)
    );
    // `http::Uri` is what the fetcher will need; refuse what it can't carry
    // (e.g. non-ASCII hosts, which would need IDNA).
    let uri = http::Uri::try_from(url.as_str())
        .map_err(|_| UrlError::InvalidSource("malformed HTTP URL"))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(UrlError::InvalidSource("missing host"));
    }
    Ok(SourceRef::Http { url })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(p: &str) -> SourceRef {
        SourceRef::Local { path: p.into() }
    }
    fn s3(bucket: &str, key: &str, version: Option<&str>) -> SourceRef {
        SourceRef::S3 {
            bucket: bucket.into(),
            key: key.into(),
            version: version.map(Into::into),
        }
    }
    fn http(url: &str) -> SourceRef {
        SourceRef::Http { url: url.into() }
    }

    #[test]
    fn parses_sources() {
        let cases = [
            ("local:///a.jpg", local("/a.jpg")),
            ("LOCAL:///a.jpg", local("/a.jpg")),
            ("local:///dir/a%20b.jpg", local("/dir/a b.jpg")),
            ("local:///a b.jpg", local("/a b.jpg")),
            ("local:///a+b.jpg", local("/a+b.jpg")),
            ("local:///100%25.jpg", local("/100%.jpg")),
            ("local:///caf%C3%A9.jpg", local("/café.jpg")),
            ("local:///café.jpg", local("/café.jpg")),
            ("local:///a%3Fb.jpg?v=2#frag", local("/a?b.jpg")),
            ("local:///../etc/passwd", local("/../etc/passwd")),
            ("s3://bucket/key.jpg", s3("bucket", "key.jpg", None)),
            (
                "s3://my.bucket-1/dir/a%20b+c.png",
                s3("my.bucket-1", "dir/a b+c.png", None),
            ),
            ("s3://b/%E2%82%AC%2525.jpg", s3("b", "€%25.jpg", None)),
            ("s3://b/k//x", s3("b", "k//x", None)),
            ("s3://b/k?versionId=abc.123", s3("b", "k", Some("abc.123"))),
            ("s3://b/k?versionId=a%2Bb", s3("b", "k", Some("a+b"))),
            (
                "s3://b/k?3HL4kqtJlcpXroDTDmJ",
                s3("b", "k", Some("3HL4kqtJlcpXroDTDmJ")),
            ),
            ("s3://b/k?", s3("b", "k", None)),
            ("s3://b/a%3Fb%23c", s3("b", "a?b#c", None)),
            ("http://example.com/a.jpg", http("http://example.com/a.jpg")),
            (
                "HTTPS://example.com:8443/a.jpg?x=1&y=2",
                http("https://example.com:8443/a.jpg?x=1&y=2"),
            ),
            ("https://example.com", http("https://example.com")),
            (
                "https://example.com/a b/café.jpg#f",
                http("https://example.com/a%20b/caf%C3%A9.jpg"),
            ),
            (
                "https://example.com/a%20b.jpg",
                http("https://example.com/a%20b.jpg"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(SourceRef::parse(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejects_bad_sources() {
        use UrlError::*;
        let cases = [
            ("", MissingSource),
            ("example.com/a.jpg", UnsupportedScheme),
            ("/a.jpg", UnsupportedScheme),
            ("ftp://example.com/a", UnsupportedScheme),
            ("file:///etc/passwd", UnsupportedScheme),
            ("gs://b/k", UnsupportedScheme),
            (
                "local:/a.jpg",
                InvalidSource("expected '//' after the scheme"),
            ),
            (
                "local://host/a.jpg",
                InvalidSource("local source must have an empty host (local:///path)"),
            ),
            ("local://", InvalidSource("missing local path")),
            ("local:///a\0b", ControlCharacter),
            ("local:///a%00b", ControlCharacter),
            ("local:///a%0Ab", ControlCharacter),
            ("local:///a%zz", InvalidPercentEncoding),
            ("local:///a%ff", InvalidUtf8),
            ("s3:///key", InvalidSource("invalid S3 bucket name")),
            ("s3://user@b/key", InvalidSource("invalid S3 bucket name")),
            ("s3://b%41/key", InvalidSource("invalid S3 bucket name")),
            ("s3://b", InvalidSource("missing S3 object key")),
            ("s3://b/", InvalidSource("missing S3 object key")),
            ("s3://b/k%00", ControlCharacter),
            (
                "s3://b/k?versionId=",
                InvalidSource("unsupported query in S3 source URL"),
            ),
            (
                "s3://b/k?versionId=1&x=2",
                InvalidSource("unsupported query in S3 source URL"),
            ),
            (
                "s3://b/k?x=1",
                InvalidSource("unsupported query in S3 source URL"),
            ),
            ("s3://b/k?versionId=%zz", InvalidPercentEncoding),
            ("http:///a.jpg", InvalidSource("missing host")),
            ("https://", InvalidSource("missing host")),
            ("http://exa mple.com/a", InvalidSource("malformed HTTP URL")),
            (
                "http://ex\u{e4}mple.com/a",
                InvalidSource("malformed HTTP URL"),
            ),
            ("http://example.com/a\tb", ControlCharacter),
        ];
        for (input, want) in cases {
            assert_eq!(SourceRef::parse(input), Err(want), "{input}");
        }
    }

    #[test]
    fn identity_is_canonical_and_round_trips() {
        let cases = [
            (local("/a b/c.jpg"), "local:///a%20b/c.jpg"),
            (local("/100%.jpg"), "local:///100%25.jpg"),
            (local("/a?b#c.jpg"), "local:///a%3Fb%23c.jpg"),
            (local("/café+.jpg"), "local:///caf%C3%A9+.jpg"),
            (s3("b", "k.jpg", None), "s3://b/k.jpg"),
            (s3("b", "k?versionId=x", None), "s3://b/k%3FversionId%3Dx"),
            (s3("b", "k", Some("x&y=z")), "s3://b/k?versionId=x%26y%3Dz"),
            (http("https://e.com/a?b=1"), "https://e.com/a?b=1"),
        ];
        for (source, id) in cases {
            assert_eq!(source.identity(), id);
            assert_eq!(source.to_string(), id);
            assert_eq!(SourceRef::parse(id), Ok(source), "{id}");
        }
        // imgproxy's bare-version form and the explicit one are one object.
        assert_eq!(
            SourceRef::parse("s3://b/k?v1").unwrap().identity(),
            SourceRef::parse("s3://b/k?versionId=v1")
                .unwrap()
                .identity()
        );
    }
}
