//! Content-Type from a blob's first bytes, never from its name.
//!
//! A name can lie (`photo.jpg` holding HTML), and browsers honour our Content-Type
//! with `nosniff`, so we look at magic bytes: the `infer` crate knows the binary
//! formats; SVG, being XML text, is recognised here.

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

pub fn is_svg_type(content_type: &str) -> bool {
    content_type.starts_with("image/svg+xml")
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
}
