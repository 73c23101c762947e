//! TIFF decoding with the `tiff` crate: the first page only (later IFDs are never
//! read, so an IFD cycle or a 10000-page file costs nothing); strips or tiles; none,
//! PackBits, LZW, Deflate and JPEG compression; grey, grey+alpha, RGB, RGBA, YCbCr
//! and CMYK (both converted to RGB here; CMYK through its InterColorProfile tag like
//! JPEG's, see [`icc::cmyk_to_rgb`]), 8 or 16 bits (16 narrowed to 8).
//!
//! The crate is used directly rather than through `image`, whose wrapper refuses
//! YCbCr (every JPEG-compressed TIFF from libtiff) and keeps a second full-size copy.
//! Its limits fence every allocation: the page buffer by the probed size, compressed
//! chunks and IFD values by the file's length (they cannot be larger than the file).
//! Float, palette, bilevel and planar TIFFs are refused (422).

use std::io::Cursor;

use tiff::ColorType as Ct;
use tiff::decoder::{Decoder, DecodingResult, Limits};

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::icc;
use super::super::probe::Probe;
use super::{alloc, check_size};

fn err(e: tiff::TiffError) -> PipelineError {
    match e {
        tiff::TiffError::LimitsExceeded => {
            PipelineError::TooLarge("TIFF: a buffer would exceed the probed size".into())
        }
        tiff::TiffError::UnsupportedError(e) => PipelineError::Unsupported(format!("TIFF: {e}")),
        other => PipelineError::Decode(format!("TIFF: {other}")),
    }
}

pub fn decode(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    let pixels = probe.width as usize * probe.height as usize;
    let mut limits = Limits::default();
    limits.decoding_buffer_size = pixels.saturating_mul(4 * 2); // 4 samples of 16 bits
    limits.intermediate_buffer_size = bytes.len();
    limits.ifd_value_size = bytes.len();
    let mut dec = Decoder::new(Cursor::new(bytes))
        .map_err(err)?
        .with_limits(limits);
    let (w, h) = dec.dimensions().map_err(err)?;
    check_size("TIFF", probe, w, h)?;
    let color = dec.colortype().map_err(err)?;
    let samples: usize = match color {
        Ct::Gray(8 | 16) => 1,
        Ct::GrayA(8 | 16) => 2,
        Ct::RGB(8 | 16) | Ct::YCbCr(8) => 3,
        Ct::RGBA(8 | 16) | Ct::CMYK(8 | 16) => 4,
        other => {
            return Err(PipelineError::Unsupported(format!(
                "TIFF {other:?} samples are not supported"
            )));
        }
    };
    let mut px = match dec.read_image().map_err(err)? {
        DecodingResult::U8(v) => v,
        DecodingResult::U16(v) => {
            let mut out = alloc(v.len())?;
            for (o, s) in out.iter_mut().zip(&v) {
                *o = (s >> 8) as u8; // the high byte, as the PNG path's STRIP_16
            }
            out
        }
        _ => return Err(PipelineError::Unsupported("TIFF sample format".into())),
    };
    // a planar file yields its first plane only: too short, refused here
    if px.len() != pixels * samples {
        return Err(PipelineError::Unsupported(format!(
            "TIFF layout (got {} bytes for {w}x{h}x{samples})",
            px.len()
        )));
    }
    let channels = match color {
        Ct::CMYK(_) => {
            // TIFF stores ink amounts (0 = none), the opposite of Adobe's JPEG convention
            // CMYK is rare enough that reading IFD0 again for the profile is free
            let profile = icc::extract::extract(bytes, crate::pipeline::SourceFormat::Tiff);
            icc::cmyk_to_rgb(&mut px, w as usize, false, profile.as_deref());
            3
        }
        Ct::YCbCr(_) => {
            ycbcr_to_rgb_in_place(&mut px);
            3
        }
        _ => samples as u8,
    };
    Ok(Bitmap {
        pixels: px,
        width: w,
        height: h,
        channels,
    })
}

/// Full-range BT.601 (the TIFF default for YCbCrCoefficients and ReferenceBlackWhite,
/// and what JPEG-in-TIFF holds); the JPEG codec has already upsampled the chroma.
fn ycbcr_to_rgb_in_place(px: &mut [u8]) {
    for p in px.chunks_exact_mut(3) {
        let (y, cb, cr) = (
            f32::from(p[0]),
            f32::from(p[1]) - 128.0,
            f32::from(p[2]) - 128.0,
        );
        p[0] = (y + 1.402 * cr).round().clamp(0.0, 255.0) as u8;
        p[1] = (y - 0.344_136 * cb - 0.714_136 * cr)
            .round()
            .clamp(0.0, 255.0) as u8;
        p[2] = (y + 1.772 * cb).round().clamp(0.0, 255.0) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::probe;

    /// A little-endian, uncompressed, one-strip TIFF.
    fn tiff(w: u16, h: u16, spp: u16, bits: u16, photometric: u16, data: &[u8]) -> Vec<u8> {
        let entries: [(u16, u16, u32); 8] = [
            (256, 3, w.into()),
            (257, 3, h.into()),
            (258, 3, bits.into()),
            (259, 3, 1),
            (262, 3, photometric.into()),
            (273, 4, 0), // patched below
            (277, 3, spp.into()),
            (279, 4, data.len() as u32),
        ];
        let mut t = b"II*\0\x08\0\0\0".to_vec();
        t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        let data_at = 8 + 2 + 12 * entries.len() as u32 + 4;
        for (tag, kind, value) in entries {
            let value = if tag == 273 { data_at } else { value };
            t.extend_from_slice(&tag.to_le_bytes());
            t.extend_from_slice(&kind.to_le_bytes());
            // one BitsPerSample value for all samples, as libtiff allows
            t.extend_from_slice(&1u32.to_le_bytes());
            t.extend_from_slice(&value.to_le_bytes());
        }
        t.extend_from_slice(&[0; 4]);
        t.extend_from_slice(data);
        t
    }

    fn run(t: &[u8]) -> Result<Bitmap, PipelineError> {
        decode(t, &probe::probe(t, u64::MAX)?)
    }

    #[test]
    fn grey_and_sixteen_bit_grey() {
        let img = run(&tiff(2, 1, 1, 8, 1, &[10, 200])).unwrap();
        assert_eq!((img.channels, img.pixels), (1, vec![10, 200]));
        let deep: Vec<u8> = [0x1234u16, 0xFF00]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let img = run(&tiff(2, 1, 1, 16, 1, &deep)).unwrap();
        assert_eq!(img.pixels, [0x12, 0xFF]);
    }

    #[test]
    fn cmyk_becomes_rgb() {
        let img = run(&tiff(1, 1, 4, 8, 5, &[0, 255, 255, 0])).unwrap();
        assert_eq!((img.channels, img.pixels), (3, vec![255, 0, 0]));
    }

    #[test]
    fn ycbcr_grey_stays_grey() {
        let mut px = [128, 128, 128, 255, 128, 128];
        ycbcr_to_rgb_in_place(&mut px);
        assert_eq!(px, [128, 128, 128, 255, 255, 255]);
    }

    #[test]
    fn short_strips_are_errors() {
        let t = tiff(16, 16, 1, 8, 1, &[7; 10]);
        assert!(run(&t).is_err());
        let t = tiff(16, 16, 1, 8, 1, &[7; 256]);
        assert!(run(&t[..t.len() - 1]).is_err());
    }
}
