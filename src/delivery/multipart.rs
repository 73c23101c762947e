//! `multipart/byteranges` framing for 206 responses with several ranges
//! (RFC 9110 §14.6, RFC 2046 §5.1.1): precomputed part headers and trailer
//! plus the exact `Content-Length`, so the server can stream each range's
//! bytes straight from storage between the prebuilt frames.
//!
//! Body = for each part: header bytes, then the range's bytes; then trailer.
//! Every part header starts with CRLF, including the first: RFC 2046 lets
//! the delimiter's CRLF follow an empty preamble, and it keeps all parts
//! uniform (Apache httpd frames its byteranges the same way).

use bytes::Bytes;

use super::range::{ByteRange, content_range};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartLayout {
    pub boundary: String,
    /// Part header (`CRLF--boundary`, `Content-Type`, `Content-Range`, blank
    /// line) and the range whose bytes follow it.
    pub parts: Vec<(Bytes, ByteRange)>,
    /// `CRLF--boundary--CRLF`.
    pub trailer: Bytes,
    /// Exact body size: headers + range bytes + trailer.
    pub content_length: u64,
}

/// `content_type` is the representation's media type; it is omitted from
/// the parts when it is empty or is not a valid field value (it may come
/// from object metadata, and a CR/LF in it would corrupt the framing).
/// `boundary` should come from [`make_boundary`] with fresh random bytes.
pub fn layout(
    ranges: &[ByteRange],
    total: u64,
    content_type: &str,
    boundary: &str,
) -> MultipartLayout {
    let type_line = if !content_type.is_empty() && is_field_value(content_type) {
        format!("Content-Type: {content_type}\r\n")
    } else {
        String::new()
    };
    let parts: Vec<(Bytes, ByteRange)> = ranges
        .iter()
        .map(|r| {
            let header = format!(
                "\r\n--{boundary}\r\n{type_line}Content-Range: {}\r\n\r\n",
                content_range(r, total)
            );
            (Bytes::from(header), *r)
        })
        .collect();
    let trailer = Bytes::from(format!("\r\n--{boundary}--\r\n"));
    let content_length = parts
        .iter()
        .map(|(header, r)| header.len() as u64 + r.len())
        .fold(trailer.len() as u64, u64::saturating_add);
    MultipartLayout {
        boundary: boundary.to_owned(),
        parts,
        trailer,
        content_length,
    }
}

/// `Content-Type` of the whole 206 response; the boundary is quoted when
/// it is not a token (RFC 2046 allows e.g. spaces in boundaries).
pub fn content_type_header(boundary: &str) -> String {
    if !boundary.is_empty() && boundary.bytes().all(is_tchar) {
        format!("multipart/byteranges; boundary={boundary}")
    } else {
        format!("multipart/byteranges; boundary=\"{boundary}\"")
    }
}

/// A boundary from caller-supplied random bytes (this module does no I/O
/// and has no RNG). 16 bytes give 32 hex chars, within RFC 2046's 70 and
/// vanishingly unlikely to occur inside image data.
pub fn make_boundary(random: &[u8]) -> String {
    hex::encode(random)
}

fn is_field_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assemble(l: &MultipartLayout, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        for (header, r) in &l.parts {
            body.extend_from_slice(header);
            body.extend_from_slice(&data[r.start as usize..=r.end as usize]);
        }
        body.extend_from_slice(&l.trailer);
        body
    }

    /// Minimal multipart/byteranges reader: (content-type, content-range, bytes).
    fn parse_back(body: &[u8], boundary: &str) -> Vec<(Option<String>, String, Vec<u8>)> {
        let delim = format!("\r\n--{boundary}");
        let text = body;
        let positions: Vec<usize> = (0..text.len())
            .filter(|&i| text[i..].starts_with(delim.as_bytes()))
            .collect();
        let last = *positions.last().unwrap();
        assert_eq!(&text[last + delim.len()..], b"--\r\n", "closing delimiter");
        let mut parts = Vec::new();
        for w in positions.windows(2) {
            let part = &text[w[0] + delim.len()..w[1]];
            let part = part.strip_prefix(b"\r\n").expect("CRLF after delimiter");
            let split = part.windows(4).position(|x| x == b"\r\n\r\n").unwrap();
            let head = std::str::from_utf8(&part[..split]).unwrap();
            let mut ctype = None;
            let mut crange = None;
            for line in head.split("\r\n") {
                let (name, value) = line.split_once(": ").unwrap();
                match name {
                    "Content-Type" => ctype = Some(value.to_owned()),
                    "Content-Range" => crange = Some(value.to_owned()),
                    other => panic!("unexpected field {other}"),
                }
            }
            parts.push((ctype, crange.unwrap(), part[split + 4..].to_vec()));
        }
        parts
    }

    #[test]
    fn layout_round_trips() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let boundary = make_boundary(&[0xde, 0xad, 0xbe, 0xef]);
        let cases: Vec<(Vec<(u64, u64)>, &str)> = vec![
            (vec![(0, 0), (999, 999)], "image/png"),
            (vec![(0, 499), (500, 998)], "image/jpeg"),
            (vec![(10, 20), (100, 100), (900, 999)], ""),
            (vec![(0, 999)], "application/octet-stream"),
            (vec![(3, 4)], "image/png\r\nX-Evil: 1"),
        ];
        for (spans, ctype) in cases {
            let ranges: Vec<ByteRange> = spans.iter().map(|&(s, e)| ByteRange::new(s, e)).collect();
            let l = layout(&ranges, data.len() as u64, ctype, &boundary);
            let body = assemble(&l, &data);
            assert_eq!(l.content_length, body.len() as u64, "{spans:?}");
            assert_eq!(l.boundary, boundary);
            let parsed = parse_back(&body, &boundary);
            assert_eq!(parsed.len(), ranges.len());
            let want_type = (!ctype.is_empty() && !ctype.contains('\r')).then(|| ctype.to_owned());
            for ((got_type, got_range, got_bytes), r) in parsed.iter().zip(&ranges) {
                assert_eq!(got_type, &want_type);
                assert_eq!(got_range, &format!("bytes {}-{}/1000", r.start, r.end));
                assert_eq!(got_bytes[..], data[r.start as usize..=r.end as usize]);
            }
        }
    }

    #[test]
    fn exact_framing_bytes() {
        let l = layout(
            &[ByteRange::new(0, 1), ByteRange::new(5, 5)],
            6,
            "text/plain",
            "B",
        );
        let body = assemble(&l, b"abcdef");
        let want = "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/6\r\n\r\nab\
                    \r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-5/6\r\n\r\nf\
                    \r\n--B--\r\n";
        assert_eq!(String::from_utf8(body).unwrap(), want);
        assert_eq!(l.content_length, want.len() as u64);
    }

    #[test]
    fn content_length_counts_large_ranges_without_materialising() {
        let big = 5 * (1u64 << 40);
        let l = layout(
            &[ByteRange::new(0, 9), ByteRange::new(big - 10, big - 1)],
            big,
            "image/tiff",
            "x",
        );
        let headers: u64 = l.parts.iter().map(|(h, _)| h.len() as u64).sum();
        assert_eq!(l.content_length, headers + 20 + l.trailer.len() as u64);
    }

    #[test]
    fn content_type_header_table() {
        let cases = [
            ("abc123", "multipart/byteranges; boundary=abc123"),
            ("a b", "multipart/byteranges; boundary=\"a b\""),
            ("a:b", "multipart/byteranges; boundary=\"a:b\""),
        ];
        for (boundary, want) in cases {
            assert_eq!(content_type_header(boundary), want);
        }
        assert_eq!(make_boundary(&[0, 1, 0xab]), "0001ab");
    }
}
