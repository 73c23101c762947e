//! What the source is, from its headers alone: format, stored size, EXIF orientation.
//!
//! Nothing here decodes pixels or allocates by a size field, so the checks that must
//! come before decoding (unknown format, over `max_src_resolution`, zero size) cost a
//! few hundred bytes of parsing even for a decompression bomb. Every length read from
//! the file is checked against the bytes actually present.
//!
//! The size is the one the decoder will produce, which is not always the first size in
//! the file: a GIF's logical screen (the canvas frame 1 is composited on), an ICO's
//! chosen entry as its embedded PNG or BMP header says (never the directory's byte
//! fields), a TIFF's first page, an AVIF's primary item as its `ispe` property says
//! (the decoder refuses an AV1 frame of another size, so a container that lies about
//! its size, either way, is a 422 and never a buffer sized by the lie), an SVG's
//! root `width`/`height`/`viewBox` (the XML is parsed, nothing is drawn). Each decoder
//! checks that it sees the same size.

use super::error::PipelineError;
use super::exif;

/// Source formats the probe recognises. JPEG, PNG, WebP, GIF, BMP, ICO, TIFF, AVIF and
/// SVG decode (see `decode/`); HEIF answers 422 "not supported yet".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
    Avif,
    Heif,
    Tiff,
    Bmp,
    Ico,
    Svg,
}

impl SourceFormat {
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "JPEG",
            SourceFormat::Png => "PNG",
            SourceFormat::Webp => "WebP",
            SourceFormat::Gif => "GIF",
            SourceFormat::Avif => "AVIF",
            SourceFormat::Heif => "HEIF",
            SourceFormat::Tiff => "TIFF",
            SourceFormat::Bmp => "BMP",
            SourceFormat::Ico => "ICO",
            SourceFormat::Svg => "SVG",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: SourceFormat,
    /// Stored size, before orientation.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1-8 (1 when absent or invalid).
    pub orientation: u8,
    /// Frames in the file, counted from the headers without decoding any (GIF image
    /// descriptors, WebP `ANMF` chunks); 1 for stills. A truncated file counts the
    /// frames whose headers are present, so it may claim one the decoder cannot read,
    /// never fewer than it can: the animation step decodes at most this many.
    pub frames: u32,
    /// Bits per sample the decoder works in (16 for deep TIFFs and 10/12-bit AVIFs,
    /// else 8): its buffers are twice as large, which the memory estimate must know
    /// before decoding.
    pub bits_per_sample: u8,
    /// The decoded pixels carry an alpha channel (from the headers: PNG colour type or
    /// `tRNS`, WebP's alpha flag, a TIFF extra sample, a BMP alpha mask, an ICO BMP
    /// entry's AND mask, an AVIF auxiliary alpha item; always for GIF and SVG, never for
    /// JPEG). It says the channel exists, not that any pixel uses it: format choice
    /// picks PNG over JPEG for it when the source's own format is not picked (TIFF,
    /// BMP, AVIF; see `format::choose`).
    pub alpha: bool,
}

/// Probes `bytes` and applies the resolution limit (`max_pixels`, width x height).
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<Probe, PipelineError> {
    let format = sniff(bytes).ok_or(PipelineError::UnknownFormat)?;
    let p = match format {
        SourceFormat::Jpeg => jpeg(bytes)?,
        SourceFormat::Png => png(bytes)?,
        SourceFormat::Webp => webp(bytes)?,
        SourceFormat::Gif => gif(bytes)?,
        SourceFormat::Bmp => bmp(bytes)?,
        SourceFormat::Ico => ico(bytes)?,
        SourceFormat::Tiff => tiff(bytes)?,
        SourceFormat::Avif => avif(bytes)?,
        SourceFormat::Svg => svg(bytes)?,
        other => {
            return Err(PipelineError::Unsupported(format!(
                "{} sources are not supported yet",
                other.name()
            )));
        }
    };
    if p.width == 0 || p.height == 0 {
        return Err(PipelineError::Decode(format!(
            "{} header declares a zero size ({}x{})",
            format.name(),
            p.width,
            p.height
        )));
    }
    let pixels = p.width as u64 * p.height as u64;
    if pixels > max_pixels {
        return Err(PipelineError::TooLarge(format!(
            "source is {}x{} ({:.1} MP), over the {:.1} MP limit (max_src_resolution)",
            p.width,
            p.height,
            pixels as f64 / 1e6,
            max_pixels as f64 / 1e6
        )));
    }
    Ok(p)
}

/// The format by magic bytes (never by name or Content-Type).
pub fn sniff(b: &[u8]) -> Option<SourceFormat> {
    let f = match b {
        [0xFF, 0xD8, 0xFF, ..] => SourceFormat::Jpeg,
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => SourceFormat::Png,
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => SourceFormat::Webp,
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => SourceFormat::Gif,
        [_, _, _, _, b'f', b't', b'y', b'p', rest @ ..] => match rest.get(..4) {
            Some(b"avif" | b"avis") => SourceFormat::Avif,
            Some(b"heic" | b"heix" | b"mif1" | b"msf1" | b"heim" | b"heis") => SourceFormat::Heif,
            _ => return None,
        },
        [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => SourceFormat::Tiff,
        [b'B', b'M', ..] => SourceFormat::Bmp,
        [0, 0, 1, 0, ..] => SourceFormat::Ico,
        _ if crate::delivery::sniff::content_type(b) == "image/svg+xml" => SourceFormat::Svg,
        _ => return None,
    };
    Some(f)
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    b.get(i..i + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

fn le16(b: &[u8], i: usize) -> Option<u16> {
    b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    b.get(i..i + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn le32(b: &[u8], i: usize) -> Option<u32> {
    b.get(i..i + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn bad(format: &str, what: &str) -> PipelineError {
    PipelineError::Decode(format!("{format} header: {what}"))
}

/// Walks the markers up to the first SOFn; picks up the EXIF orientation on the way.
fn jpeg(b: &[u8]) -> Result<Probe, PipelineError> {
    let mut orientation = 1;
    let mut i = 2usize;
    loop {
        while b.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = b.get(i) else {
            return Err(bad("JPEG", "no frame header before the end of the data"));
        };
        i += 1;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => return Err(bad("JPEG", "no frame header before the scan")),
            _ => {}
        }
        let len = be16(b, i).ok_or_else(|| bad("JPEG", "truncated segment"))? as usize;
        if len < 2 {
            return Err(bad("JPEG", "bad segment length"));
        }
        let seg = b
            .get(i + 2..i + len)
            .ok_or_else(|| bad("JPEG", "truncated segment"))?;
        if marker == 0xE1 && orientation == 1 && seg.starts_with(b"Exif\0\0") {
            orientation = exif::orientation(&seg[6..]);
        }
        if is_frame_header(marker) {
            let height = be16(seg, 1).ok_or_else(|| bad("JPEG", "short frame header"))?;
            let width = be16(seg, 3).ok_or_else(|| bad("JPEG", "short frame header"))?;
            return Ok(Probe {
                format: SourceFormat::Jpeg,
                width: width as u32,
                height: height as u32,
                orientation,
                frames: 1,
                bits_per_sample: 8,
                alpha: false,
            });
        }
        i += len;
    }
}

/// What libjpeg holds besides the output, whatever the DCT scaling: a progressive
/// JPEG (SOF2, SOF6, SOF10, SOF14) is decoded in buffered-image mode, with every
/// component's whole coefficient array in memory (64 16-bit coefficients per block,
/// blocks padded to whole MCUs). A progressive 24 MP 4:2:0 photo holds 72 MB there,
/// against 9 MB for its baseline twin at 1/8 (measured: docs/codecs.md). 0 for a
/// sequential JPEG, or when the frame header cannot be read (the decoder then fails).
pub fn jpeg_coefficient_bytes(b: &[u8]) -> u64 {
    jpeg_segments(b)
        .find(|(marker, _)| is_frame_header(*marker))
        .filter(|(marker, _)| matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE))
        .and_then(|(_, sof)| coefficient_bytes(sof))
        .unwrap_or(0)
}

/// SOF0-15 except DHT (C4), JPG (C8) and DAC (CC).
fn is_frame_header(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// A JPEG's marker segments (marker, payload after the length) up to the first scan;
/// ends quietly at anything malformed (the decoder reports it).
pub fn jpeg_segments(b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut i = 2usize;
    std::iter::from_fn(move || {
        loop {
            while b.get(i) == Some(&0xFF) {
                i += 1;
            }
            let marker = *b.get(i)?;
            i += 1;
            match marker {
                0xD8 | 0x01 | 0xD0..=0xD7 => continue,
                0xD9 | 0xDA => return None,
                _ => {}
            }
            let len = be16(b, i).map(usize::from).filter(|&l| l >= 2)?;
            let seg = b.get(i + 2..i + len)?;
            i += len;
            return Some((marker, seg));
        }
    })
}

/// Coefficient-array bytes of a frame header (`P Y X Nf {C HV Tq}*`).
fn coefficient_bytes(sof: &[u8]) -> Option<u64> {
    let height = u64::from(be16(sof, 1)?);
    let width = u64::from(be16(sof, 3)?);
    let n = usize::from(*sof.get(5)?);
    let comps: Vec<(u64, u64)> = (0..n)
        .map(|c| {
            sof.get(7 + 3 * c)
                .map(|hv| (u64::from(hv >> 4), u64::from(hv & 15)))
        })
        .collect::<Option<_>>()?;
    let hmax = comps.iter().map(|c| c.0).max()?.max(1);
    let vmax = comps.iter().map(|c| c.1).max()?.max(1);
    let mcus_x = width.div_ceil(8 * hmax);
    let mcus_y = height.div_ceil(8 * vmax);
    Some(
        comps
            .iter()
            .map(|&(h, v)| mcus_x * h * mcus_y * v * 64 * 2)
            .sum(),
    )
}

/// IHDR must be the first chunk; chunks up to the first IDAT are scanned for eXIf.
fn png(b: &[u8]) -> Result<Probe, PipelineError> {
    if be32(b, 8) != Some(13) || b.get(12..16) != Some(b"IHDR") {
        return Err(bad("PNG", "IHDR is not the first chunk"));
    }
    let width = be32(b, 16).ok_or_else(|| bad("PNG", "truncated IHDR"))?;
    let height = be32(b, 20).ok_or_else(|| bad("PNG", "truncated IHDR"))?;
    if width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(PipelineError::TooLarge(format!(
            "PNG header declares {width}x{height}"
        )));
    }
    let mut orientation = 1;
    // colour types 4 (grey + alpha) and 6 (RGBA); a tRNS chunk (before IDAT) gives
    // the others an alpha channel too (the decoder expands it)
    let mut alpha = matches!(b.get(25), Some(4 | 6));
    let mut i = 33usize; // signature 8 + IHDR 25
    while let (Some(len), Some(kind)) = (be32(b, i), b.get(i + 4..i + 8)) {
        let len = len as usize;
        if kind == b"IDAT" {
            break;
        }
        alpha |= kind == b"tRNS";
        let Some(data) = b.get(i + 8..(i + 8).saturating_add(len)) else {
            break; // a lying length: leave the error to the decoder
        };
        if kind == b"eXIf" {
            orientation = exif::orientation(data);
        }
        i += 12 + len;
    }
    Ok(Probe {
        format: SourceFormat::Png,
        width,
        height,
        orientation,
        frames: 1,
        bits_per_sample: 8,
        alpha,
    })
}

/// RIFF/WEBP: the simple formats (VP8, VP8L) and the extended one (VP8X + chunks).
fn webp(b: &[u8]) -> Result<Probe, PipelineError> {
    let kind = b.get(12..16).ok_or_else(|| bad("WebP", "truncated"))?;
    let data = 20usize;
    let (width, height, mut orientation, animated, mut alpha) = match kind {
        b"VP8 " => {
            // frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height
            if b.get(data + 3..data + 6) != Some(&[0x9d, 0x01, 0x2a]) {
                return Err(bad("WebP", "bad VP8 start code"));
            }
            let w = b
                .get(data + 6..data + 8)
                .ok_or_else(|| bad("WebP", "truncated"))?;
            let h = b
                .get(data + 8..data + 10)
                .ok_or_else(|| bad("WebP", "truncated"))?;
            let w = u16::from_le_bytes([w[0], w[1]]) & 0x3FFF;
            let h = u16::from_le_bytes([h[0], h[1]]) & 0x3FFF;
            (w as u32, h as u32, 1, false, false)
        }
        b"VP8L" => {
            if b.get(data) != Some(&0x2F) {
                return Err(bad("WebP", "bad VP8L signature"));
            }
            let bits = le32(b, data + 1).ok_or_else(|| bad("WebP", "truncated"))?;
            // 14 bits width - 1, 14 bits height - 1, then alpha_is_used
            let alpha = bits >> 28 & 1 != 0;
            (
                (bits & 0x3FFF) + 1,
                ((bits >> 14) & 0x3FFF) + 1,
                1,
                false,
                alpha,
            )
        }
        b"VP8X" => {
            let flags = *b.get(data).ok_or_else(|| bad("WebP", "truncated"))?;
            let c = b
                .get(data + 4..data + 10)
                .ok_or_else(|| bad("WebP", "truncated"))?;
            let w = u32::from_le_bytes([c[0], c[1], c[2], 0]) + 1;
            let h = u32::from_le_bytes([c[3], c[4], c[5], 0]) + 1;
            (w, h, 1, flags & 0x02 != 0, flags & 0x10 != 0)
        }
        _ => return Err(bad("WebP", "unknown first chunk")),
    };
    let mut frames = 0u32;
    if kind == b"VP8X" {
        // later chunks: EXIF (orientation), ANMF (one per frame)
        let mut i = 12usize;
        while let (Some(kind), Some(len)) = (b.get(i..i + 4), le32(b, i + 4)) {
            let len = len as usize;
            let Some(chunk) = b.get(i + 8..(i + 8).saturating_add(len)) else {
                break;
            };
            match kind {
                b"EXIF" => {
                    // some writers keep the JPEG-style "Exif\0\0" prefix
                    let t = chunk.strip_prefix(b"Exif\0\0").unwrap_or(chunk);
                    orientation = exif::orientation(t);
                }
                b"ANMF" => frames = frames.saturating_add(1),
                // libwebp reports alpha for an ALPH chunk even without the flag
                b"ALPH" => alpha = true,
                _ => {}
            }
            i += 8 + len + (len & 1);
        }
    }
    Ok(Probe {
        format: SourceFormat::Webp,
        width,
        height,
        orientation,
        // the VP8X animation flag without frames is left to the decoder to refuse
        frames: if animated { frames.max(1) } else { 1 },
        bits_per_sample: 8,
        alpha,
    })
}

fn upright(format: SourceFormat, width: u32, height: u32) -> Probe {
    Probe {
        format,
        width,
        height,
        orientation: 1,
        frames: 1,
        bits_per_sample: 8,
        alpha: false,
    }
}

/// The logical screen: frame 1 is composited onto a canvas of this size, whatever
/// the frame's own rectangle says (a frame larger than the screen is clipped).
fn gif(b: &[u8]) -> Result<Probe, PipelineError> {
    let w = le16(b, 6).ok_or_else(|| bad("GIF", "truncated"))?;
    let h = le16(b, 8).ok_or_else(|| bad("GIF", "truncated"))?;
    Ok(Probe {
        frames: gif_blocks(b).frames.max(1),
        alpha: true, // the decoder composites onto an RGBA canvas
        ..upright(SourceFormat::Gif, w.into(), h.into())
    })
}

/// What a walk over a GIF's blocks finds, without decoding any LZW data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GifBlocks {
    /// Image descriptors seen (a cut-off frame whose descriptor is present counts).
    pub frames: u32,
    /// The NETSCAPE2.0 loop count (0 = forever); `None` without that extension,
    /// which means "play once".
    pub loops: Option<u16>,
}

/// Walks the blocks after the logical screen: extensions and image data are chains
/// of length-prefixed sub-blocks, skipped by their lengths, so the 10000-frame bomb
/// is counted in microseconds. Stops at the trailer, an unknown block or the end of
/// the data.
pub fn gif_blocks(b: &[u8]) -> GifBlocks {
    let mut found = GifBlocks {
        frames: 0,
        loops: None,
    };
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3 << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let Some(&flags) = b.get(10) else {
        return found;
    };
    let mut i = 13 + table(flags);
    // the end of the sub-block chain starting at `i`, or None when it is cut off
    let skip_chain = |mut i: usize| loop {
        let len = *b.get(i)? as usize;
        i += 1;
        if len == 0 {
            return Some(i);
        }
        i += len;
    };
    loop {
        match b.get(i) {
            Some(0x21) => {
                let label = b.get(i + 1);
                let netscape = b.get(i + 2..i + 14) == Some(b"\x0bNETSCAPE2.0");
                if label == Some(&0xFF) && netscape && b.get(i + 15) == Some(&1) {
                    found.loops = le16(b, i + 16);
                }
                match skip_chain(i + 2) {
                    Some(next) => i = next,
                    None => return found,
                }
            }
            Some(0x2C) => {
                let Some(&flags) = b.get(i + 9) else {
                    return found;
                };
                found.frames = found.frames.saturating_add(1);
                // descriptor (10), local table, LZW minimum code size (1), data
                match skip_chain(i + 10 + table(flags) + 1) {
                    Some(next) => i = next,
                    None => return found,
                }
            }
            _ => return found,
        }
    }
}

/// BITMAPFILEHEADER (14 bytes), then a DIB header: OS/2's 12-byte core header (16-bit
/// sizes) or BITMAPINFOHEADER and its V2-V5 extensions (signed 32-bit sizes; a
/// negative height is a top-down bitmap).
fn bmp(b: &[u8]) -> Result<Probe, PipelineError> {
    let dib = b.get(14..).unwrap_or_default();
    let (w, h) = dib_size(dib, "BMP")?;
    Ok(Probe {
        alpha: dib_alpha(dib),
        ..upright(SourceFormat::Bmp, w, h)
    })
}

/// Whether the `image` crate's BMP decoder (ours) gives a DIB an alpha channel: only
/// for BI_BITFIELDS (3) at 16 or 32 bits with a non-zero alpha mask, which only the
/// V3/V4/V5 headers (56, 108, 124 bytes) hold, at offset 52. A 32-bit BI_RGB bitmap's
/// fourth byte is padding to it (libvips' loader reads it as alpha; imgproxy's own
/// loader does too, and mostly finds zeros there).
fn dib_alpha(d: &[u8]) -> bool {
    matches!(le32(d, 0), Some(56 | 108 | 124))
        && le32(d, 16) == Some(3)
        && matches!(le16(d, 14), Some(16 | 32))
        && le32(d, 52).is_some_and(|mask| mask != 0)
}

/// Size and bit depth from a DIB header (a BMP file after its 14-byte file header, or
/// an ICO's BMP entry, whose height counts the AND mask too).
fn dib_size(d: &[u8], format: &str) -> Result<(u32, u32), PipelineError> {
    let header = le32(d, 0).ok_or_else(|| bad(format, "truncated DIB header"))?;
    let (w, h, bits) = match header {
        12 => {
            let w = le16(d, 4).ok_or_else(|| bad(format, "truncated DIB header"))?;
            let h = le16(d, 6).ok_or_else(|| bad(format, "truncated DIB header"))?;
            let bits = le16(d, 10).ok_or_else(|| bad(format, "truncated DIB header"))?;
            (i64::from(w), i64::from(h), bits)
        }
        40 | 52 | 56 | 64 | 108 | 124 => {
            let w = le32(d, 4).ok_or_else(|| bad(format, "truncated DIB header"))?;
            let h = le32(d, 8).ok_or_else(|| bad(format, "truncated DIB header"))?;
            let bits = le16(d, 14).ok_or_else(|| bad(format, "truncated DIB header"))?;
            (i64::from(w as i32), i64::from(h as i32), bits)
        }
        n => return Err(bad(format, &format!("unknown DIB header size {n}"))),
    };
    if !matches!(bits, 1 | 2 | 4 | 8 | 16 | 24 | 32) {
        return Err(bad(
            format,
            &format!("{bits} bits per pixel is not a BMP depth"),
        ));
    }
    if w < 0 {
        return Err(bad(format, "negative width"));
    }
    let size = |v: i64| u32::try_from(v.unsigned_abs()).map_err(|_| bad(format, "size overflows"));
    Ok((size(w)?, size(h)?))
}

/// The chosen entry's size, from its own PNG or BMP header.
fn ico(b: &[u8]) -> Result<Probe, PipelineError> {
    let data = ico_entry(b)?;
    let (w, h, alpha) = if data.starts_with(PNG_SIGNATURE) {
        let p = png(data)?;
        (p.width, p.height, p.alpha)
    } else {
        let (w, h) = dib_size(data, "ICO")?;
        // the stored height covers the colour bitmap and the AND mask; the decoder
        // turns the mask into alpha, so a BMP entry always has an alpha channel
        (w, h / 2, true)
    };
    Ok(Probe {
        alpha,
        ..upright(SourceFormat::Ico, w, h)
    })
}

pub(super) const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The bytes of the ICO entry the decoder uses (the `image` crate's choice): the most
/// bits per pixel, then the largest directory size, the last one on a tie.
pub(super) fn ico_entry(b: &[u8]) -> Result<&[u8], PipelineError> {
    let count = le16(b, 4).ok_or_else(|| bad("ICO", "truncated"))? as usize;
    let entry = |n: usize| b.get(6 + 16 * n..6 + 16 * (n + 1));
    let score = |e: &[u8]| {
        let side = |v: u8| if v == 0 { 256u32 } else { u32::from(v) };
        (u16::from_le_bytes([e[6], e[7]]), side(e[0]) * side(e[1]))
    };
    let last = count
        .checked_sub(1)
        .and_then(entry)
        .ok_or_else(|| bad("ICO", "no entries, or the directory is truncated"))?;
    let mut best = last;
    for n in 0..count - 1 {
        let e = entry(n).ok_or_else(|| bad("ICO", "the directory is truncated"))?;
        if score(e) > score(best) {
            best = e;
        }
    }
    let (len, offset) = (le32(best, 8).unwrap_or(0), le32(best, 12).unwrap_or(0));
    b.get(offset as usize..(offset as usize).saturating_add(len as usize))
        .ok_or_else(|| bad("ICO", "the entry lies past the end of the file"))
}

/// The first ISOBMFF box of `b`: (type, payload, its whole length), if it fits.
fn first_box(b: &[u8]) -> Option<(&[u8], &[u8], usize)> {
    let kind = b.get(4..8)?;
    let (start, end) = match be32(b, 0)? {
        0 => (8, b.len()),
        1 => {
            let large = u64::from(be32(b, 8)?) << 32 | u64::from(be32(b, 12)?);
            (16, usize::try_from(large).ok()?)
        }
        n => (8, n as usize),
    };
    Some((kind, b.get(start..end)?, end))
}

/// ISOBMFF boxes in `b`, as (type, payload); stops at the first box that does not fit.
fn boxes(mut b: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let (kind, payload, end) = first_box(b)?;
        b = &b[end..];
        Some((kind, payload))
    })
}

/// Whether `b` is exactly a sequence of whole boxes.
fn tiles(mut b: &[u8]) -> bool {
    while !b.is_empty() {
        match first_box(b) {
            Some((_, _, end)) => b = &b[end..],
            None => return false,
        }
    }
    true
}

fn child<'a>(b: &'a [u8], kind: &[u8]) -> Option<&'a [u8]> {
    boxes(b).find(|(k, _)| *k == kind).map(|(_, p)| p)
}

/// The primary item's `ispe` (its size) and `av1C` (its depth), through `meta`, `pitm`
/// and `iprp` (`ipco` holds the properties, `ipma` says which belong to which item).
///
/// The file, `meta`, `iprp` and `ipco` must be made of whole boxes: the container
/// parser (`avif-parse`) reserves a box's claimed size before reading it, so a
/// truncated `mdat` or a box claiming more than its parent holds is refused here.
fn avif(b: &[u8]) -> Result<Probe, PipelineError> {
    let no = |what: &str| bad("AVIF", what);
    if !tiles(b) {
        return Err(no("a box runs past the end of the file (truncated?)"));
    }
    let meta = child(b, b"meta")
        .and_then(|m| m.get(4..))
        .ok_or_else(|| no("no meta box"))?;
    let pitm = child(meta, b"pitm").ok_or_else(|| no("no primary item"))?;
    let primary = match pitm.first() {
        Some(0) => be16(pitm, 4).map(u32::from),
        _ => be32(pitm, 4),
    }
    .ok_or_else(|| no("short pitm"))?;
    let iprp = child(meta, b"iprp").ok_or_else(|| no("no item properties"))?;
    let ipco = child(iprp, b"ipco").ok_or_else(|| no("no item properties"))?;
    let ipma = child(iprp, b"ipma").ok_or_else(|| no("no property associations"))?;
    if ![meta, iprp, ipco].into_iter().all(tiles) {
        return Err(no("a box runs past the end of its parent"));
    }
    if !tiles(meta) || !tiles(iprp) || !tiles(ipco) {
        return Err(no("a box runs past the end of its parent"));
    }
    let indices =
        item_properties(ipma, primary)?.ok_or_else(|| no("the primary item has no properties"))?;
    let (mut size, mut bits) = (None, 8);
    let properties: Vec<(&[u8], &[u8])> = boxes(ipco).collect();
    for (n, &(kind, p)) in properties.iter().enumerate() {
        if !indices.contains(&(n + 1)) {
            continue;
        }
        match kind {
            b"ispe" => size = be32(p, 4).zip(be32(p, 8)),
            // av1C byte 2: high_bitdepth (0x40), twelve_bit (0x20)
            b"av1C" if p.get(2).is_some_and(|f| f & 0x40 != 0) => bits = 16,
            _ => {}
        }
    }
    // `irot`/`imir`, in the order the item lists them (HEIF applies them so)
    let transforms = indices
        .iter()
        .filter_map(|&i| properties.get(i.checked_sub(1)?));
    let orientation = heif_orientation(transforms.map(|&(kind, p)| (kind, p.first().copied())));
    let (w, h) = size.ok_or_else(|| no("the primary item has no ispe (size)"))?;
    Ok(Probe {
        bits_per_sample: bits,
        orientation,
        alpha: avif_alpha(meta, ipma, &properties, primary),
        ..upright(SourceFormat::Avif, w, h)
    })
}

/// The (1-based) `ipco` property indices `ipma` associates with `item`; `None` when
/// the item is not listed.
fn item_properties(ipma: &[u8], item: u32) -> Result<Option<Vec<usize>>, PipelineError> {
    let short = || bad("AVIF", "short ipma");
    let (version, wide) = (
        ipma.first().copied().unwrap_or(0),
        ipma.get(3).is_some_and(|f| f & 1 != 0),
    );
    let entries = be32(ipma, 4).ok_or_else(short)?;
    let mut i = 8usize;
    for _ in 0..entries {
        let (id, id_len) = if version < 1 {
            (be16(ipma, i).map(u32::from), 2)
        } else {
            (be32(ipma, i), 4)
        };
        let id = id.ok_or_else(short)?;
        let n = *ipma.get(i + id_len).ok_or_else(short)? as usize;
        let len = n * if wide { 2 } else { 1 };
        let list = ipma
            .get(i + id_len + 1..i + id_len + 1 + len)
            .ok_or_else(short)?;
        if id == item {
            return Ok(Some(if wide {
                list.chunks_exact(2)
                    .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]]) & 0x7FFF))
                    .collect()
            } else {
                list.iter().map(|&c| usize::from(c & 0x7F)).collect()
            }));
        }
        i += id_len + 1 + len;
    }
    Ok(None)
}

/// Whether the primary item has an alpha plane, by `avif-parse`'s rule (the decoder's):
/// an item with an `auxl` reference (`iref`) to the primary item whose `auxC`
/// property names `urn:mpeg:mpegB:cicp:systems:auxiliary:alpha`. Anything malformed
/// counts as no alpha (the decoder reports it).
fn avif_alpha(meta: &[u8], ipma: &[u8], properties: &[(&[u8], &[u8])], primary: u32) -> bool {
    const ALPHA: &[u8] = b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha";
    let Some(iref) = child(meta, b"iref") else {
        return false;
    };
    let wide = iref.first().is_some_and(|&v| v == 1);
    let id = |b: &[u8], i: usize| {
        if wide {
            be32(b, i)
        } else {
            be16(b, i).map(u32::from)
        }
    };
    let id_len = if wide { 4 } else { 2 };
    let is_alpha = |item: u32| {
        let Ok(Some(indices)) = item_properties(ipma, item) else {
            return false;
        };
        indices.iter().any(|&n| {
            matches!(properties.get(n.wrapping_sub(1)), Some((kind, p))
                if *kind == b"auxC"
                    // full box header, then the NUL-terminated URN
                    && p.get(4..).and_then(|urn| urn.split(|&c| c == 0).next()) == Some(ALPHA))
        })
    };
    boxes(iref.get(4..).unwrap_or_default())
        .filter(|(kind, _)| *kind == b"auxl")
        .any(|(_, r)| {
            let (Some(from), Some(count)) = (id(r, 0), be16(r, id_len)) else {
                return false;
            };
            let mut to = (0..usize::from(count)).filter_map(|k| id(r, id_len + 2 + k * id_len));
            from != primary && to.any(|t| t == primary) && is_alpha(from)
        })
}

/// The EXIF orientation equivalent to HEIF's transformative properties, given as
/// (box type, first payload byte) in the item's order: `irot` turns the picture
/// anticlockwise by 90 degrees times its low 2 bits, `imir` mirrors it, top to bottom
/// when its low bit is 0 and left to right when 1 (libheif's reading, and what
/// libavif writes for EXIF orientations 4 and 2). The `ispe` size is the stored one,
/// before these, exactly like a JPEG's size before its EXIF orientation.
fn heif_orientation<'a>(properties: impl Iterator<Item = (&'a [u8], Option<u8>)>) -> u8 {
    use super::orient::Transform;
    let mut t = Transform::default();
    for (kind, value) in properties {
        let Some(v) = value else { continue };
        t = match kind {
            b"irot" => t.then(Transform::rotate_cw((4 - u16::from(v & 3)) % 4 * 90)),
            b"imir" => t.then(Transform::flip(v & 1 == 1, v & 1 == 0)),
            _ => t,
        };
    }
    (1..=8).find(|&o| Transform::from_exif(o) == t).unwrap_or(1)
}

/// The root `<svg>`'s `width` and `height` (absolute units at 96 dpi, as usvg), one
/// of them and the `viewBox`'s aspect ratio, else the `viewBox`, else usvg's 100x100;
/// rounded up. Relative units (`%`, `em`) count as absent.
///
/// Only the root's start tag is read (`prepare` runs on the server's async threads):
/// the document is parsed, and a malformed one refused, by the decoder on a worker.
fn svg(b: &[u8]) -> Result<Probe, PipelineError> {
    let text = std::str::from_utf8(b).map_err(|_| bad("SVG", "not UTF-8"))?;
    let tag = svg_root(text).ok_or_else(|| bad("SVG", "no <svg> root element"))?;
    let attr = |name: &str| svg_attribute(tag, name);
    let len = |name| attr(name).and_then(svg_length);
    let view_box = attr("viewBox").and_then(|v| {
        let n: Vec<f64> = v
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| t.parse().ok())
            .collect::<Option<_>>()?;
        (n.len() == 4 && n[2] > 0.0 && n[3] > 0.0).then(|| (n[2], n[3]))
    });
    let (w, h) = match (len("width"), len("height"), view_box) {
        (Some(w), Some(h), _) => (w, h),
        (Some(w), None, Some((vw, vh))) => (w, w * vh / vw),
        (None, Some(h), Some((vw, vh))) => (h * vw / vh, h),
        (None, None, Some(vb)) => vb,
        (w, h, None) => (w.unwrap_or(100.0), h.unwrap_or(100.0)),
    };
    let px = |v: f64| match v.ceil() {
        v if v >= 1.0 && v < f64::from(u32::MAX) => Ok(v as u32),
        _ => Err(bad("SVG", "the root's size is not a positive number")),
    };
    Ok(Probe {
        alpha: true, // drawn onto a transparent canvas
        ..upright(SourceFormat::Svg, px(w)?, px(h)?)
    })
}

/// The attribute text of the root element's start tag, if it is `<svg>` (or
/// `<prefix:svg>`), past the prolog: XML declaration, processing instructions,
/// comments and a DOCTYPE (with its internal subset).
fn svg_root(text: &str) -> Option<&str> {
    let after = |s: &str, end: &str| s.find(end).map(|i| i + end.len());
    let mut s = text.trim_start_matches('\u{feff}');
    loop {
        s = s.trim_start();
        let skip = if s.starts_with("<?") {
            after(s, "?>")?
        } else if s.starts_with("<!--") {
            after(s, "-->")?
        } else if s.starts_with("<!DOCTYPE") {
            // an internal subset `[...]` may hold '>' characters
            let gt = s.find('>')?;
            match s.find('[') {
                Some(open) if open < gt => {
                    let close = open + s[open..].find(']')?;
                    close + after(&s[close..], ">")?
                }
                _ => gt + 1,
            }
        } else {
            break;
        };
        s = &s[skip..];
    }
    let rest = s.strip_prefix('<')?;
    let name_end = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
    let name = &rest[..name_end];
    if name != "svg" && !name.ends_with(":svg") {
        return None;
    }
    let mut quote = None;
    for (i, c) in rest.char_indices().skip(name_end) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(&rest[name_end..i]),
            _ => {}
        }
    }
    None
}

/// `name="value"` (or single quotes) in a start tag's attribute text.
fn svg_attribute<'a>(mut tag: &'a str, name: &str) -> Option<&'a str> {
    loop {
        tag = tag.trim_start();
        let eq = tag.find('=')?;
        let key = tag[..eq].trim();
        let value = tag[eq + 1..].trim_start();
        let q = value.chars().next().filter(|c| matches!(c, '"' | '\''))?;
        let end = value[1..].find(q)? + 1;
        if key == name {
            return Some(&value[1..end]);
        }
        tag = &value[end + 1..];
    }
}

fn svg_length(s: &str) -> Option<f64> {
    let s = s.trim();
    let number = s.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
    let px_per_unit = match &s[number.len()..] {
        "" | "px" => 1.0,
        "pt" => 4.0 / 3.0,
        "pc" => 16.0,
        "mm" => 96.0 / 25.4,
        "cm" => 96.0 / 2.54,
        "in" => 96.0,
        _ => return None,
    };
    number.trim().parse::<f64>().ok().map(|v| v * px_per_unit)
}

/// IFD0 (the first page; later pages are never read): size, depth, orientation.
fn tiff(b: &[u8]) -> Result<Probe, PipelineError> {
    let w = exif::ifd0_value(b, 256, true).ok_or_else(|| bad("TIFF", "no ImageWidth"))?;
    let h = exif::ifd0_value(b, 257, true).ok_or_else(|| bad("TIFF", "no ImageLength"))?;
    let bits = exif::ifd0_value(b, 258, false).unwrap_or(1);
    Ok(Probe {
        orientation: exif::orientation(b),
        bits_per_sample: if bits > 8 { 16 } else { 8 },
        alpha: tiff_alpha(b),
        ..upright(SourceFormat::Tiff, w, h)
    })
}

/// Whether IFD0 has an alpha sample, as the `tiff` crate reads it: more
/// SamplesPerPixel (277) than the PhotometricInterpretation (262) has colours (grey
/// 1, RGB and YCbCr 3, CMYK 4), and the first ExtraSamples (338) value, when the tag
/// is there, associated (1) or unassociated (2) alpha; 0 ("unspecified") is not alpha.
fn tiff_alpha(b: &[u8]) -> bool {
    let colours = match exif::ifd0_value(b, 262, false) {
        Some(0 | 1) => 1,
        Some(2 | 6) => 3,
        Some(5) => 4,
        _ => return false,
    };
    let samples = exif::ifd0_value(b, 277, false).unwrap_or(1);
    samples > colours && exif::ifd0_value(b, 338, false).is_none_or(|e| e == 1 || e == 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heif_irot_imir_as_exif_orientations() {
        // what libavif (through Pillow) writes for EXIF orientations 1-8, and what
        // libheif/libvips show: the same upright picture for each
        type Props = &'static [(&'static [u8], u8)];
        let table: [(Props, u8); 8] = [
            (&[], 1),
            (&[(b"imir", 1)], 2),
            (&[(b"irot", 2)], 3),
            (&[(b"imir", 0)], 4),
            (&[(b"irot", 1), (b"imir", 0)], 5),
            (&[(b"irot", 3)], 6),
            (&[(b"irot", 3), (b"imir", 0)], 7),
            (&[(b"irot", 1)], 8),
        ];
        for (props, exif) in table {
            let props = props.iter().map(|&(k, v)| (k, Some(v)));
            assert_eq!(heif_orientation(props), exif, "EXIF {exif}");
        }
        // other properties in between change nothing; an empty irot is ignored
        let props: [(&[u8], Option<u8>); 3] =
            [(b"ispe", Some(0)), (b"irot", None), (b"irot", Some(3))];
        assert_eq!(heif_orientation(props.into_iter()), 6);
    }

    fn jpeg_header(w: u16, h: u16, exif: Option<Vec<u8>>) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        if let Some(t) = exif {
            b.extend_from_slice(&[0xFF, 0xE1]);
            b.extend_from_slice(&((t.len() + 8) as u16).to_be_bytes());
            b.extend_from_slice(b"Exif\0\0");
            b.extend_from_slice(&t);
        }
        b.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8]);
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&[1, 1, 0x11, 0]);
        b
    }

    #[test]
    fn jpeg_size_and_orientation() {
        let t = exif::tests::tiff_with_orientation(6, false);
        let p = probe(&jpeg_header(640, 480, Some(t)), u64::MAX).unwrap();
        assert_eq!(
            (p.format, p.width, p.height, p.orientation),
            (SourceFormat::Jpeg, 640, 480, 6)
        );
        let p = probe(&jpeg_header(10, 20, None), u64::MAX).unwrap();
        assert_eq!(p.orientation, 1);
    }

    #[test]
    fn limits_are_checked_on_the_header() {
        let big = jpeg_header(65500, 65500, None);
        assert!(matches!(
            probe(&big, 50_000_000),
            Err(PipelineError::TooLarge(_))
        ));
        let zero = jpeg_header(0, 10, None);
        assert!(matches!(
            probe(&zero, 50_000_000),
            Err(PipelineError::Decode(_))
        ));
    }

    #[test]
    fn png_header() {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&300u32.to_be_bytes());
        b.extend_from_slice(&200u32.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        let p = probe(&b, u64::MAX).unwrap();
        assert_eq!((p.format, p.width, p.height), (SourceFormat::Png, 300, 200));
    }

    #[test]
    fn unknown_and_unsupported() {
        assert_eq!(probe(b"", 1), Err(PipelineError::UnknownFormat));
        assert_eq!(probe(b"hello world", 1), Err(PipelineError::UnknownFormat));
        assert!(matches!(
            probe(b"\0\0\0\x14ftypheic\0\0\0\0", 1),
            Err(PipelineError::Unsupported(_))
        ));
        assert!(probe(b"<html><svg width=\"1\" height=\"1\"/></html>", u64::MAX).is_err());
        assert!(probe(&[0xFF, 0xD8, 0xFF, 0xC0, 0x00], 1).is_err());
    }

    #[test]
    fn gif_takes_the_logical_screen() {
        let p = probe(b"GIF89a\x10\x27\x0a\0\0\0\0", u64::MAX).unwrap();
        assert_eq!(
            (p.format, p.width, p.height),
            (SourceFormat::Gif, 10000, 10)
        );
        let bomb = b"GIF89a\xff\xff\xff\xff\0\0\0";
        assert!(matches!(
            probe(bomb, 50_000_000),
            Err(PipelineError::TooLarge(_))
        ));
        assert!(probe(b"GIF89a\x01", 1).is_err());
    }

    pub(super) fn bmp_header(w: i32, h: i32, bits: u16) -> Vec<u8> {
        let mut b = b"BM".to_vec();
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(&40u32.to_le_bytes());
        b.extend_from_slice(&w.to_le_bytes());
        b.extend_from_slice(&h.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(&[0; 24]);
        b
    }

    #[test]
    fn bmp_sizes_depths_and_bombs() {
        let p = probe(&bmp_header(160, -120, 24), u64::MAX).unwrap();
        assert_eq!((p.format, p.width, p.height), (SourceFormat::Bmp, 160, 120));
        assert!(matches!(
            probe(&bmp_header(16, 16, 7), u64::MAX),
            Err(PipelineError::Decode(_))
        ));
        assert!(matches!(
            probe(&bmp_header(50000, 50000, 8), 50_000_000),
            Err(PipelineError::TooLarge(_))
        ));
        assert!(probe(&bmp_header(-5, 5, 24), u64::MAX).is_err());
        assert!(probe(b"BM\0\0", u64::MAX).is_err());
    }

    fn ico(entries: &[(u8, u16, &[u8])]) -> Vec<u8> {
        let mut b = vec![0, 0, 1, 0];
        b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        let mut offset = 6 + 16 * entries.len();
        for (side, bits, data) in entries {
            b.extend_from_slice(&[*side, *side, 0, 0, 1, 0]);
            b.extend_from_slice(&bits.to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(&(offset as u32).to_le_bytes());
            offset += data.len();
        }
        for (_, _, data) in entries {
            b.extend_from_slice(data);
        }
        b
    }

    #[test]
    fn ico_reads_the_chosen_entry_not_the_directory() {
        let dib = |w: i32, h: i32| bmp_header(w, h, 32)[14..].to_vec();
        let f = ico(&[
            (16, 32, &dib(16, 32)),
            (48, 32, &dib(48, 96)),
            (32, 32, &dib(32, 64)),
        ]);
        let p = probe(&f, u64::MAX).unwrap();
        assert_eq!((p.format, p.width, p.height), (SourceFormat::Ico, 48, 48));
        // the directory says 16x16; the embedded PNG's IHDR says 60000x60000
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&60000u32.to_be_bytes());
        png.extend_from_slice(&60000u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        let bomb = ico(&[(16, 32, &png)]);
        assert!(matches!(
            probe(&bomb, 50_000_000),
            Err(PipelineError::TooLarge(_))
        ));
        let mut past_eof = ico(&[(16, 32, &dib(16, 32))]);
        past_eof[18..22].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        assert!(matches!(
            probe(&past_eof, u64::MAX),
            Err(PipelineError::Decode(_))
        ));
        assert!(probe(&ico(&[]), u64::MAX).is_err());
    }

    #[test]
    fn tiff_ifd0() {
        // II, IFD at 8: width LONG 100000, length SHORT 3, bits SHORT 16, orientation 6
        let mut t = b"II*\0\x08\0\0\0\x04\0".to_vec();
        for (tag, kind, value) in [
            (256u16, 4u16, 100_000u32),
            (257, 3, 3),
            (258, 3, 16),
            (274, 3, 6),
        ] {
            t.extend_from_slice(&tag.to_le_bytes());
            t.extend_from_slice(&kind.to_le_bytes());
            t.extend_from_slice(&1u32.to_le_bytes());
            t.extend_from_slice(&value.to_le_bytes());
        }
        t.extend_from_slice(&[0; 4]);
        let p = probe(&t, u64::MAX).unwrap();
        assert_eq!(
            (
                p.format,
                p.width,
                p.height,
                p.orientation,
                p.bits_per_sample
            ),
            (SourceFormat::Tiff, 100_000, 3, 6, 16)
        );
        assert!(matches!(probe(&t, 50_000), Err(PipelineError::TooLarge(_))));
        assert!(probe(&t[..20], u64::MAX).is_err());
    }

    #[test]
    fn svg_sizes() {
        let size = |attrs: &str| {
            let svg = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" {attrs}/>"#);
            probe(svg.as_bytes(), 50_000_000).map(|p| (p.width, p.height))
        };
        assert_eq!(
            size(r#"width="200" height="120" viewBox="0 0 20 12""#),
            Ok((200, 120))
        );
        assert_eq!(size(r#"viewBox="0 0 64 32""#), Ok((64, 32)));
        assert_eq!(size(r#"viewBox="0,0,64.5,32""#), Ok((65, 32)));
        assert_eq!(size(r#"width="1in" viewBox="0 0 2 1""#), Ok((96, 48)));
        assert_eq!(
            size(r#"width="100%" height="30pt" viewBox="0 0 2 1""#),
            Ok((80, 40))
        );
        assert_eq!(size(r#"width="1e3px" height="10""#), Ok((1000, 10)));
        assert_eq!(size(""), Ok((100, 100)));
        assert!(matches!(
            size(r#"width="1e6" height="1e6""#),
            Err(PipelineError::TooLarge(_))
        ));
        assert!(size(r#"width="-5" height="5""#).is_err());
        // the prolog is skipped; attributes may use either quote and spacing
        let svg = "\u{feff}<?xml version='1.0'?>\n<!-- a > b --><!DOCTYPE svg [\n<!ENTITY e \"x\">\n]>\n\
                   <svg:svg xmlns:svg='http://www.w3.org/2000/svg' title=\"a>b\" width = '30' height=\"20\">";
        let p = probe(svg.as_bytes(), u64::MAX).unwrap();
        assert_eq!((p.format, p.width, p.height), (SourceFormat::Svg, 30, 20));
    }
}

#[cfg(test)]
mod frame_tests {
    use super::*;

    /// A GIF: `w`x`h` screen with a global table of 2 colours, an optional NETSCAPE2.0
    /// loop count, and `frames` 1x1 frames behind graphic control extensions.
    fn gif_bytes(frames: usize, loops: Option<u16>) -> Vec<u8> {
        let mut b = b"GIF89a\x04\0\x02\0\x80\0\0".to_vec();
        b.extend_from_slice(&[255, 0, 0, 0, 0, 255]);
        if let Some(n) = loops {
            b.extend_from_slice(b"\x21\xff\x0bNETSCAPE2.0\x03\x01");
            b.extend_from_slice(&n.to_le_bytes());
            b.push(0);
        }
        for _ in 0..frames {
            b.extend_from_slice(&[0x21, 0xF9, 4, 0, 10, 0, 0, 0]);
            b.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
            b.extend_from_slice(&[2, 2, 0x4C, 0x01, 0]); // min code 2, one sub-block
        }
        b.push(0x3B);
        b
    }

    #[test]
    fn gif_frames_and_loops_from_the_blocks() {
        let b = gif_bytes(3, Some(0));
        assert_eq!(
            gif_blocks(&b),
            GifBlocks {
                frames: 3,
                loops: Some(0)
            }
        );
        assert_eq!(probe(&b, u64::MAX).unwrap().frames, 3);
        assert_eq!(gif_blocks(&gif_bytes(1, None)).loops, None);
        assert_eq!(gif_blocks(&gif_bytes(2, Some(5))).loops, Some(5));
        // a local colour table (8 entries) is skipped by its size
        let mut local = gif_bytes(0, None);
        local.pop();
        local.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0x82]);
        local.extend_from_slice(&[7; 24]);
        local.extend_from_slice(&[2, 2, 0x4C, 0x01, 0, 0x3B]);
        assert_eq!(gif_blocks(&local).frames, 1);
    }

    #[test]
    fn a_truncated_gif_counts_the_frames_it_has_headers_for() {
        let b = gif_bytes(3, None);
        // cut inside frame 3's image data: its descriptor is there, so it counts
        assert_eq!(gif_blocks(&b[..b.len() - 3]).frames, 3);
        // cut inside frame 3's descriptor: it does not
        assert_eq!(gif_blocks(&b[..b.len() - 10]).frames, 2);
        // a lying sub-block length runs past the end: the walk stops, no panic
        let mut lying = gif_bytes(1, None);
        let n = lying.len();
        lying[n - 5] = 0xFF;
        assert_eq!(gif_blocks(&lying).frames, 1);
        assert_eq!(gif_blocks(b"GIF89a").frames, 0);
        // a still GIF probes as one frame, even without any descriptor
        assert_eq!(probe(&gif_bytes(0, None), u64::MAX).unwrap().frames, 1);
    }

    #[test]
    fn webp_frames_are_its_anmf_chunks() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = kind.to_vec();
            c.extend_from_slice(&(data.len() as u32).to_le_bytes());
            c.extend_from_slice(data);
            if data.len() % 2 == 1 {
                c.push(0);
            }
            c
        };
        let file = |anmf: usize, flags: u8| {
            let mut body = b"WEBP".to_vec();
            body.extend(chunk(b"VP8X", &[flags, 0, 0, 0, 9, 0, 0, 4, 0, 0]));
            body.extend(chunk(b"ANIM", &[0; 6]));
            for _ in 0..anmf {
                body.extend(chunk(b"ANMF", &[0; 17]));
            }
            let mut b = b"RIFF".to_vec();
            b.extend_from_slice(&(body.len() as u32).to_le_bytes());
            b.extend(body);
            b
        };
        let p = probe(&file(3, 0x02), u64::MAX).unwrap();
        assert_eq!((p.width, p.height, p.frames), (10, 5, 3));
        assert_eq!(probe(&file(3, 0), u64::MAX).unwrap().frames, 1);
        assert_eq!(probe(&file(0, 0x02), u64::MAX).unwrap().frames, 1);
        let cut = file(3, 0x02);
        assert_eq!(probe(&cut[..cut.len() - 4], u64::MAX).unwrap().frames, 2);
    }
}

#[cfg(test)]
mod coefficient_tests {
    use super::*;

    /// SOI and a frame header of the given marker: 6000 x 4000, 4:2:0 YCbCr.
    fn frame(marker: u8) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, marker, 0, 17, 8];
        b.extend_from_slice(&4000u16.to_be_bytes());
        b.extend_from_slice(&6000u16.to_be_bytes());
        b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        b
    }

    #[test]
    fn progressive_frames_count_their_coefficient_arrays() {
        // Y: 375 x 250 MCUs of 2 x 2 blocks; Cb, Cr: one block per MCU; 128 B a block.
        assert_eq!(jpeg_coefficient_bytes(&frame(0xC2)), 72_000_000);
        assert_eq!(jpeg_coefficient_bytes(&frame(0xC0)), 0, "baseline");
        assert_eq!(
            jpeg_coefficient_bytes(&frame(0xC1)),
            0,
            "extended sequential"
        );
        assert_eq!(jpeg_coefficient_bytes(&frame(0xC2)[..12]), 0, "truncated");
    }
}

#[cfg(test)]
mod alpha_tests {
    use super::*;
    use image::ExtendedColorType;

    fn alpha(b: &[u8]) -> bool {
        probe(b, u64::MAX).unwrap().alpha
    }

    /// A little-endian TIFF whose IFD0 holds these SHORT tags (one value each).
    fn tiff(tags: &[(u16, u16)]) -> Vec<u8> {
        let mut t = b"II*\0\x08\0\0\0".to_vec();
        t.extend_from_slice(&(tags.len() as u16).to_le_bytes());
        for &(tag, value) in tags {
            t.extend_from_slice(&tag.to_le_bytes());
            t.extend_from_slice(&3u16.to_le_bytes());
            t.extend_from_slice(&1u32.to_le_bytes());
            t.extend_from_slice(&u32::from(value).to_le_bytes());
        }
        t.extend_from_slice(&[0; 4]);
        t
    }

    #[test]
    fn tiff_extra_samples() {
        let size = [(256, 8), (257, 8)];
        let with = |more: &[(u16, u16)]| alpha(&tiff(&[&size[..], more].concat()));
        assert!(!with(&[(262, 2), (277, 3)]), "RGB");
        assert!(
            with(&[(262, 2), (277, 4)]),
            "RGB + a fourth sample, no ExtraSamples"
        );
        assert!(with(&[(262, 2), (277, 4), (338, 2)]), "unassociated alpha");
        assert!(with(&[(262, 2), (277, 4), (338, 1)]), "associated alpha");
        assert!(
            !with(&[(262, 2), (277, 4), (338, 0)]),
            "unspecified extra sample"
        );
        assert!(!with(&[(262, 1), (277, 1)]), "grey");
        assert!(with(&[(262, 1), (277, 2), (338, 2)]), "grey + alpha");
        assert!(!with(&[(262, 5), (277, 4)]), "CMYK");
        assert!(with(&[(262, 5), (277, 5), (338, 2)]), "CMYK + alpha");
        assert!(!with(&[(262, 6), (277, 3)]), "YCbCr");
        assert!(!with(&[(277, 4)]), "no PhotometricInterpretation");
        // a real one: the CMYK fixture has no alpha
        assert!(!alpha(include_bytes!("../../tests/fixtures/cmyk_icc.tif")));
    }

    fn bmp(px: &[u8], w: u32, h: u32, color: ExtendedColorType) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::bmp::BmpEncoder::new(&mut out)
            .encode(px, w, h, color)
            .unwrap();
        out
    }

    /// A BITMAPV5 (124-byte) header with BI_BITFIELDS and these masks, 2x1 pixels.
    fn bmp_v5(bits: u16, compression: u32, alpha_mask: u32) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&124u32.to_le_bytes());
        d.extend_from_slice(&2i32.to_le_bytes());
        d.extend_from_slice(&1i32.to_le_bytes());
        d.extend_from_slice(&1u16.to_le_bytes());
        d.extend_from_slice(&bits.to_le_bytes());
        d.extend_from_slice(&compression.to_le_bytes());
        d.extend_from_slice(&[0; 20]);
        for mask in [0xFF_0000u32, 0xFF00, 0xFF, alpha_mask] {
            d.extend_from_slice(&mask.to_le_bytes());
        }
        d.resize(124, 0);
        let mut b = b"BM".to_vec();
        b.extend_from_slice(&[0; 12]);
        b.extend(d);
        b.extend_from_slice(&[0; 8]);
        b
    }

    #[test]
    fn bmp_alpha_masks() {
        let rgba = bmp(&[1, 2, 3, 128, 4, 5, 6, 0], 2, 1, ExtendedColorType::Rgba8);
        assert!(
            alpha(&rgba),
            "image's RGBA writer: V4 header with an alpha mask"
        );
        assert!(!alpha(&bmp(&[1; 6], 2, 1, ExtendedColorType::Rgb8)));
        assert!(alpha(&bmp_v5(32, 3, 0xFF00_0000)));
        assert!(!alpha(&bmp_v5(32, 3, 0)), "no alpha mask");
        assert!(
            !alpha(&bmp_v5(32, 0, 0xFF00_0000)),
            "BI_RGB ignores the masks"
        );
        // BITMAPINFOHEADER, 32 bits, BI_RGB: the fourth byte is padding to our decoder
        assert!(!alpha(&super::tests::bmp_header(2, 1, 32)));
        assert!(!alpha(&super::tests::bmp_header(2, 1, 24)));
    }

    #[test]
    fn ico_png_entries_by_colour_type_bmp_entries_always() {
        use image::codecs::ico::{IcoEncoder, IcoFrame};
        let ico = |frame: IcoFrame| {
            let mut out = Vec::new();
            IcoEncoder::new(&mut out).encode_images(&[frame]).unwrap();
            out
        };
        let rgba = IcoFrame::as_png(&[9; 16], 2, 2, ExtendedColorType::Rgba8).unwrap();
        assert!(alpha(&ico(rgba)));
        let rgb = IcoFrame::as_png(&[9; 12], 2, 2, ExtendedColorType::Rgb8).unwrap();
        assert!(!alpha(&ico(rgb)));
        // a 24-bit BMP entry: the AND mask is its alpha
        let mut dib = super::tests::bmp_header(2, 4, 24)[14..].to_vec();
        dib.extend_from_slice(&[0; 16 + 8]);
        let mut f = vec![0, 0, 1, 0, 1, 0, 2, 2, 0, 0, 1, 0, 24, 0];
        f.extend_from_slice(&(dib.len() as u32).to_le_bytes());
        f.extend_from_slice(&22u32.to_le_bytes());
        f.extend(dib);
        let p = probe(&f, u64::MAX).unwrap();
        assert_eq!(
            (p.format, p.width, p.height, p.alpha),
            (SourceFormat::Ico, 2, 2, true)
        );
    }

    const ALPHA_AVIF: &[u8] = include_bytes!("../../tests/fixtures/alpha.avif");

    fn replaced(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = b.windows(from.len()).position(|w| w == from).unwrap();
        let mut out = b.to_vec();
        out[at..at + to.len()].copy_from_slice(to);
        out
    }

    #[test]
    fn avif_auxiliary_alpha_item() {
        assert!(alpha(ALPHA_AVIF));
        assert!(!alpha(include_bytes!("../../tests/fixtures/p3.avif")));
        // another auxiliary image (a depth map) is not alpha
        let depth = replaced(ALPHA_AVIF, b"auxiliary:alpha", b"auxiliary:depth");
        assert!(!alpha(&depth));
        // an alpha item that does not reference the primary item (`auxl`) is not its
        let unlinked = replaced(ALPHA_AVIF, b"auxl", b"cdsc");
        assert!(!alpha(&unlinked));
        // and what the decoder sees agrees
        let p = probe(ALPHA_AVIF, u64::MAX).unwrap();
        assert_eq!(
            super::super::decode_full(ALPHA_AVIF, &p).unwrap().channels,
            4
        );
    }

    #[test]
    fn png_webp_gif_svg_jpeg() {
        let png = |colour: u8, trns: bool| {
            let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            b.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 4, 8, colour, 0, 0, 0, 0, 0, 0, 0]);
            if trns {
                b.extend_from_slice(b"\0\0\0\x02tRNS\0\0\0\0\0\0");
            }
            b.extend_from_slice(b"\0\0\0\0IDAT\0\0\0\0");
            b
        };
        assert!(alpha(&png(6, false)));
        assert!(alpha(&png(4, false)));
        assert!(!alpha(&png(2, false)));
        assert!(alpha(&png(2, true)));
        assert!(alpha(&png(3, true)));
        assert!(alpha(include_bytes!("../../tests/fixtures/badge.png")));
        assert!(!alpha(include_bytes!("../../tests/fixtures/p3.png")));
        assert!(!alpha(include_bytes!("../../tests/fixtures/p3.webp")));
        assert!(!alpha(include_bytes!("../../tests/fixtures/photo.jpg")));
        let riff = |chunk: &[u8]| {
            let mut b = b"RIFF\0\0\0\0WEBP".to_vec();
            b.extend_from_slice(chunk);
            b
        };
        let vp8x = |flags: u8| {
            riff(&[b"VP8X\x0a\0\0\0", &[flags, 0, 0, 0, 3, 0, 0, 3, 0, 0][..]].concat())
        };
        assert!(alpha(&vp8x(0x10)));
        assert!(!alpha(&vp8x(0)));
        let vp8l = |bits: u32| riff(&[&b"VP8L\x05\0\0\0\x2f"[..], &bits.to_le_bytes()].concat());
        assert!(alpha(&vp8l(3 | 3 << 14 | 1 << 28)));
        assert!(!alpha(&vp8l(3 | 3 << 14)));
        assert!(alpha(b"GIF89a\x01\0\x01\0\0\0\0"));
        assert!(alpha(
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>"#
        ));
    }
}
