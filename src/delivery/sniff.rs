//! Content-Type from a blob's first bytes, never from its name; and the policy for a
//! type an origin declares (S3's stored Content-Type, which ranged reads cannot sniff).
//!
//! A name can lie (`photo.jpg` holding HTML), and browsers honour our Content-Type
//! with `nosniff`, so we look at magic bytes: the `infer` crate knows the binary
//! formats; SVG, being XML text, is recognised here. Either way, markup and scripts
//! never go out under a type a browser would render or run on our origin.

/// How many leading bytes sources hand to [`content_type`].
pub const SNIFF_LEN: usize = 512;

pub fn content_type(head: &[u8]) -> &'static str {
    if let Some(t) = infer::get(head) {
        // Markup and scripts (text/html, text/xml, shell scripts) from an origin must
        // never render as a page on our domain: they go out as opaque bytes.
        if t.matcher_type() != infer::MatcherType::Text {
            return t.mime_type();
        }
    }
    if is_svg(head) {
        return "image/svg+xml";
    }
    "application/octet-stream"
}

/// The Content-Type to send for a type the origin declared (S3's `Content-Type`):
/// media that a browser shows but does not run keep their type (lower-cased, without
/// parameters); SVG stays SVG (it is then sent with a sandboxing CSP); HTML, XML,
/// scripts, anything unknown or malformed become `application/octet-stream`, as the
/// same bytes from a local file would.
pub fn declared_type(declared: &str) -> String {
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some((top, sub)) = essence.split_once('/') else {
        return OPAQUE.to_owned();
    };
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    if !token(top) || !token(sub) {
        return OPAQUE.to_owned();
    }
    let shown = match top {
        "image" | "audio" | "video" | "font" => true,
        "text" => matches!(sub, "plain" | "csv"),
        "application" => matches!(
            sub,
            "octet-stream" | "pdf" | "json" | "zip" | "gzip" | "x-tar" | "wasm" | "mp4"
        ),
        _ => false,
    };
    // `image/svg+xml` is kept (with its CSP); other XML "images" are not images
    if shown && (!sub.ends_with("+xml") || essence == "image/svg+xml") {
        essence
    } else {
        OPAQUE.to_owned()
    }
}

const OPAQUE: &str = "application/octet-stream";

pub fn is_svg_type(content_type: &str) -> bool {
    content_type
        .trim_start()
        .get(..13)
        .is_some_and(|t| t.eq_ignore_ascii_case("image/svg+xml"))
}

fn is_svg(head: &[u8]) -> bool {
    // Cheap reject first: SVG text starts (after a BOM and blanks) with '<'.
    let start = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if start.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'<') {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    (t.starts_with("<svg") || t.starts_with("<?xml") || t.starts_with("<!--"))
        && text.contains("<svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide() {
        let cases: &[(&[u8], &str)] = &[
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF\0", "image/jpeg"),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
            (b"GIF89a\x01\0\x01\0", "image/gif"),
            (b"RIFF\x10\0\0\0WEBPVP8 ", "image/webp"),
            (
                b"<?xml version=\"1.0\"?><svg xmlns=\"x\"/>",
                "image/svg+xml",
            ),
            (b"<svg xmlns=\"x\"/>", "image/svg+xml"),
            (b"<html><body>hi</body></html>", "application/octet-stream"),
            (b"", "application/octet-stream"),
            (b"\x00\x01\x02", "application/octet-stream"),
        ];
        for (bytes, want) in cases {
            assert_eq!(content_type(bytes), *want, "{bytes:?}");
        }
    }

    #[test]
    fn declared_types_that_would_render_or_run_become_opaque() {
        let cases = [
            ("image/jpeg", "image/jpeg"),
            ("IMAGE/PNG; charset=x", "image/png"),
            ("image/svg+xml", "image/svg+xml"),
            ("IMAGE/SVG+XML", "image/svg+xml"),
            ("video/mp4", "video/mp4"),
            ("application/pdf", "application/pdf"),
            ("text/plain; charset=utf-8", "text/plain"),
            ("text/html", OPAQUE),
            ("Text/HTML; charset=utf-8", OPAQUE),
            ("application/xhtml+xml", OPAQUE),
            ("text/xml", OPAQUE),
            ("application/javascript", OPAQUE),
            ("text/javascript", OPAQUE),
            ("image/foo+xml", OPAQUE),
            ("multipart/x-mixed-replace", OPAQUE),
            ("garbage", OPAQUE),
            ("image/jp eg", OPAQUE),
            ("", OPAQUE),
        ];
        for (declared, want) in cases {
            assert_eq!(declared_type(declared), want, "{declared:?}");
        }
        assert!(is_svg_type("IMAGE/SVG+XML"));
        assert!(!is_svg_type("image/svg"));
    }
}
