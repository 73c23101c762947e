//! Argument primitives and value types: hex colors, base64url, percent
//! decoding, format names and MIME types.

use super::super::args::{base64url_decode, percent_decode};
use super::super::{GravityType, OutputFormat, ResizingAlgorithm, ResizingType, Rgb};

#[test]
fn output_formats_round_trip() {
    let rows: &[(&str, OutputFormat, &str, &str)] = &[
        ("jpg", OutputFormat::Jpeg, "jpg", "image/jpeg"),
        ("jpeg", OutputFormat::Jpeg, "jpg", "image/jpeg"),
        ("JPEG", OutputFormat::Jpeg, "jpg", "image/jpeg"),
        ("png", OutputFormat::Png, "png", "image/png"),
        ("webp", OutputFormat::Webp, "webp", "image/webp"),
        ("avif", OutputFormat::Avif, "avif", "image/avif"),
        ("gif", OutputFormat::Gif, "gif", "image/gif"),
        ("ico", OutputFormat::Ico, "ico", "image/x-icon"),
        ("bmp", OutputFormat::Bmp, "bmp", "image/bmp"),
        ("tiff", OutputFormat::Tiff, "tiff", "image/tiff"),
        ("svg", OutputFormat::Svg, "svg", "image/svg+xml"),
        ("heic", OutputFormat::Heic, "heic", "image/heif"),
        ("jxl", OutputFormat::Jxl, "jxl", "image/jxl"),
    ];
    for (ext, f, canonical_ext, mime) in rows {
        assert_eq!(OutputFormat::from_extension(ext), Some(*f), "{ext}");
        assert_eq!((f.extension(), f.mime()), (*canonical_ext, *mime));
    }
    for bad in ["", "jp", "best", "tif", "jpegx", "pdf"] {
        assert_eq!(OutputFormat::from_extension(bad), None, "{bad}");
    }
    for f in OutputFormat::ALL {
        assert_eq!(OutputFormat::from_extension(f.extension()), Some(f));
    }
}

#[test]
fn names_round_trip() {
    for t in ResizingType::ALL {
        assert_eq!(ResizingType::from_name(t.name()), Some(t));
    }
    for a in ResizingAlgorithm::ALL {
        assert_eq!(ResizingAlgorithm::from_name(a.name()), Some(a));
    }
    for g in GravityType::ALL {
        assert_eq!(GravityType::from_name(g.name()), Some(g));
    }
}

#[test]
fn hex_colors() {
    type Row = (&'static str, Option<(u8, u8, u8)>);
    let rows: &[Row] = &[
        ("fff", Some((255, 255, 255))),
        ("000000", Some((0, 0, 0))),
        ("1a2B3c", Some((0x1a, 0x2b, 0x3c))),
        ("abc", Some((0xaa, 0xbb, 0xcc))),
        ("", None),
        ("ff", None),
        ("fffff", None),
        ("gggggg", None),
        ("#fff", None),
        ("ffé", None),
        ("+ff", None),
    ];
    for (s, want) in rows {
        assert_eq!(
            Rgb::from_hex(s),
            want.map(|(r, g, b)| Rgb { r, g, b }),
            "{s}"
        );
    }
    assert_eq!(
        Rgb {
            r: 1,
            g: 171,
            b: 255
        }
        .to_hex(),
        "01abff"
    );
}

#[test]
fn base64url() {
    let rows: &[(&str, Option<&[u8]>)] = &[
        ("", Some(b"")),
        ("YQ", Some(b"a")),
        ("YWI", Some(b"ab")),
        ("YWJj", Some(b"abc")),
        ("YWJj==", Some(b"abc")),
        ("_-8", Some(&[0xff, 0xef])),
        ("Y", None),
        ("YW+j", None),
        ("YW/j", None),
        ("a b", None),
    ];
    for (s, want) in rows {
        assert_eq!(base64url_decode(s).as_deref(), *want, "{s}");
    }
}

#[test]
fn percent_decoding() {
    let rows: &[(&str, Result<&str, ()>)] = &[
        ("plain", Ok("plain")),
        ("a%20b", Ok("a b")),
        ("%3a%3A", Ok("::")),
        ("100%", Ok("100%")),
        ("%zz", Ok("%zz")),
        ("%2", Ok("%2")),
        ("%C3%A9", Ok("é")),
        ("%C3", Err(())),
        ("%", Ok("%")),
    ];
    for (s, want) in rows {
        assert_eq!(percent_decode(s).as_deref().map_err(|_| ()), *want, "{s}");
    }
}
