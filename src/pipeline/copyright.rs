//! `keep_copyright`: the one piece of metadata an output carries.
//!
//! Outputs are stripped of metadata (imgproxy's default `strip_metadata`), but with
//! `keep_copyright` (imgproxy's default too, `IMGPROXY_KEEP_COPYRIGHT`) the source's
//! EXIF Copyright notice survives, as imgproxy keeps libvips' `exif-ifd0-Copyright`
//! through its strip. It is read from the source's EXIF (JPEG APP1, PNG eXIf, WebP
//! EXIF chunk) and written into a minimal EXIF block holding only that tag: a JPEG
//! APP1 segment after SOI and any JFIF APP0, or a PNG eXIf chunk after IHDR. WebP,
//! AVIF and GIF outputs carry no metadata (deviation: imgproxy writes it into WebP
//! and AVIF too).

use crate::options::{OutputFormat, ProcessingOptions};
use crate::pipeline::exif;
use crate::pipeline::probe::{self, SourceFormat};

/// EXIF's Copyright tag.
const COPYRIGHT: u16 = 0x8298;
/// Longest notice kept: a JPEG segment holds 64 KB, and a notice is a line.
const MAX_NOTICE: usize = 4096;

/// The EXIF block (TIFF structure, without `Exif\0\0`) to write into the output, when
/// the options keep the copyright and the source has one.
pub fn block(bytes: &[u8], format: SourceFormat, opts: &ProcessingOptions) -> Option<Vec<u8>> {
    let stripping = opts.strip_metadata.unwrap_or(true);
    if !stripping || !opts.keep_copyright.unwrap_or(true) {
        // Without stripping imgproxy keeps everything; aperture keeps nothing then
        // (see `support`), so only the default path writes a notice.
        return None;
    }
    let tiff = source_exif(bytes, format)?;
    let notice = exif::ifd0_ascii(tiff, COPYRIGHT)?;
    (notice.len() <= MAX_NOTICE).then(|| tiff_with_copyright(notice))
}

/// Writes `tiff` into `encoded` when the output format has a place for it.
pub fn embed(encoded: Vec<u8>, format: OutputFormat, tiff: &[u8]) -> Vec<u8> {
    match format {
        OutputFormat::Jpeg => jpeg_with_app1(encoded, tiff),
        OutputFormat::Png => png_with_exif(encoded, tiff),
        _ => encoded,
    }
}

/// The TIFF-structured EXIF block of a JPEG, PNG or WebP source.
fn source_exif(b: &[u8], format: SourceFormat) -> Option<&[u8]> {
    match format {
        SourceFormat::Jpeg => probe::jpeg_segments(b)
            .find(|(marker, seg)| *marker == 0xE1 && seg.starts_with(b"Exif\0\0"))
            .map(|(_, seg)| &seg[6..]),
        SourceFormat::Png => png_chunk(b, b"eXIf"),
        SourceFormat::Webp => riff_chunk(b, b"EXIF"),
        _ => None,
    }
}

/// The data of the first `want` chunk before IDAT (4-byte big-endian length, type,
/// data, CRC).
fn png_chunk<'a>(b: &'a [u8], want: &[u8]) -> Option<&'a [u8]> {
    let mut i = 8usize;
    while let Some(h) = b.get(i..i + 8) {
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let data = i + 8;
        match &h[4..8] {
            kind if kind == want => return b.get(data..data.checked_add(len)?),
            b"IDAT" => return None,
            _ => i = data.checked_add(len)?.checked_add(4)?,
        }
    }
    None
}

/// The data of the first `want` chunk of a RIFF (WebP) file (type, 4-byte
/// little-endian length, data padded to even).
fn riff_chunk<'a>(b: &'a [u8], want: &[u8]) -> Option<&'a [u8]> {
    let mut i = 12usize;
    while let Some(h) = b.get(i..i + 8) {
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let data = i + 8;
        if &h[..4] == want {
            return b.get(data..data.checked_add(len)?);
        }
        i = data.checked_add(len)?.checked_add(len & 1)?;
    }
    None
}

/// A little-endian TIFF block with one IFD0 entry: Copyright, ASCII, NUL-terminated.
fn tiff_with_copyright(notice: &[u8]) -> Vec<u8> {
    let count = notice.len() + 1;
    let mut t = Vec::with_capacity(26 + count);
    t.extend_from_slice(b"II*\0");
    t.extend_from_slice(&8u32.to_le_bytes());
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&COPYRIGHT.to_le_bytes());
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&(count as u32).to_le_bytes());
    let mut inline = [0u8; 4];
    if count <= 4 {
        inline[..notice.len()].copy_from_slice(notice);
    } else {
        inline = 26u32.to_le_bytes();
    }
    t.extend_from_slice(&inline);
    t.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    if count > 4 {
        t.extend_from_slice(notice);
        t.push(0);
    }
    t
}

/// `jpeg` with an `Exif` APP1 segment after SOI and any APP0 (JFIF must come first).
fn jpeg_with_app1(jpeg: Vec<u8>, tiff: &[u8]) -> Vec<u8> {
    let Ok(len) = u16::try_from(2 + 6 + tiff.len()) else {
        return jpeg;
    };
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return jpeg;
    }
    let mut at = 2;
    if jpeg.get(2..4) == Some(&[0xFF, 0xE0]) {
        let app0 = jpeg
            .get(4..6)
            .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
        at = (4 + app0).min(jpeg.len());
    }
    let mut out = Vec::with_capacity(jpeg.len() + 4 + 6 + tiff.len());
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// `png` with an eXIf chunk right after IHDR (before any IDAT, as the spec asks).
fn png_with_exif(png: Vec<u8>, tiff: &[u8]) -> Vec<u8> {
    const AFTER_IHDR: usize = 8 + 25;
    if png.get(12..16) != Some(b"IHDR") || png.len() < AFTER_IHDR {
        return png;
    }
    let Ok(len) = u32::try_from(tiff.len()) else {
        return png;
    };
    let mut crc = crc32fast::Hasher::new();
    crc.update(b"eXIf");
    crc.update(tiff);
    let mut out = Vec::with_capacity(png.len() + 12 + tiff.len());
    out.extend_from_slice(&png[..AFTER_IHDR]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"eXIf");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out.extend_from_slice(&png[AFTER_IHDR..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_notice(notice: &[u8]) -> Vec<u8> {
        tiff_with_copyright(notice)
    }

    /// A JPEG-looking byte string: SOI, JFIF APP0, an EXIF APP1, then a frame header.
    fn jpeg_source(tiff: &[u8]) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        b.extend_from_slice(&[0xFF, 0xE1]);
        b.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
        b.extend_from_slice(b"Exif\0\0");
        b.extend_from_slice(tiff);
        b.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
        b
    }

    #[test]
    fn the_notice_round_trips_through_jpeg_and_png() {
        for notice in [&b"(c) 2026 Jane Doe"[..], b"ab"] {
            let tiff = with_notice(notice);
            assert_eq!(exif::ifd0_ascii(&tiff, COPYRIGHT), Some(notice));
            let src = jpeg_source(&tiff);
            let opts = ProcessingOptions::default();
            let block = block(&src, SourceFormat::Jpeg, &opts).expect("a notice");
            assert_eq!(exif::ifd0_ascii(&block, COPYRIGHT), Some(notice));

            let out = embed(src.clone(), OutputFormat::Jpeg, &block);
            assert_eq!(source_exif(&out, SourceFormat::Jpeg), Some(&block[..]));
            assert_eq!(&out[2..4], &[0xFF, 0xE0], "JFIF stays first");

            let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            png.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0, 1, 2, 3, 4]);
            png.extend_from_slice(b"\0\0\0\0IEND\xae\x42\x60\x82");
            let out = embed(png, OutputFormat::Png, &block);
            assert_eq!(source_exif(&out, SourceFormat::Png), Some(&block[..]));
        }
    }

    #[test]
    fn nothing_is_kept_when_the_options_say_so_or_there_is_no_notice() {
        let src = jpeg_source(&with_notice(b"(c) someone"));
        let mut opts = ProcessingOptions {
            keep_copyright: Some(false),
            ..ProcessingOptions::default()
        };
        assert_eq!(block(&src, SourceFormat::Jpeg, &opts), None);
        opts.keep_copyright = None;
        opts.strip_metadata = Some(false);
        assert_eq!(block(&src, SourceFormat::Jpeg, &opts), None);
        let plain = jpeg_source(&crate::pipeline::exif::tests::tiff_with_orientation(
            6, true,
        ));
        assert_eq!(
            block(&plain, SourceFormat::Jpeg, &ProcessingOptions::default()),
            None
        );
        assert_eq!(
            embed(vec![1, 2, 3], OutputFormat::Webp, b"II*\0"),
            vec![1, 2, 3]
        );
    }
}
