//! Decoding: source bytes -> [`Bitmap`], never more pixels than the output needs.
//!
//! JPEG decodes at the largest DCT scale (1/8, 1/4, 1/2) that still leaves at least
//! as many pixels as the output needs along both axes (Pillow's `draft()` rule; the
//! codec study measured SSIM >= 0.998 against a full decode + Lanczos3). PNG, WebP,
//! GIF, BMP, ICO, TIFF and AVIF decode at full size (GIF, BMP and ICO through the
//! `image` crate, see [`via_image`]); SVG is drawn at its intrinsic size, or enlarged
//! to the output's scale when the plan upscales it ([`svg_size`]). Each decoder re-checks that its own header agrees with the
//! probe, so a file cannot pass the size limit with one header and allocate by another.

mod avif;
mod bmp;
mod gif;
mod ico;
pub(in crate::pipeline) mod jpeg;
mod png;
mod svg;
mod tiff;
mod via_image;
mod webp;

use super::bitmap::Bitmap;
use super::error::PipelineError;
use super::probe::{Probe, SourceFormat};

/// Decodes `bytes` as probed. `scale_x`/`scale_y` are the output pixels per stored
/// source pixel along the stored axes (> 1 when enlarging).
pub fn decode(
    bytes: &[u8],
    probe: &Probe,
    scale_x: f64,
    scale_y: f64,
) -> Result<Bitmap, PipelineError> {
    let img = match probe.format {
        SourceFormat::Jpeg => jpeg::decode(bytes, reduction(probe, scale_x, scale_y))?,
        SourceFormat::Png => png::decode(bytes, probe)?,
        SourceFormat::Webp => webp::decode(bytes, probe)?,
        SourceFormat::Gif => gif::decode(bytes, probe)?,
        SourceFormat::Bmp => bmp::decode(bytes, probe)?,
        SourceFormat::Ico => ico::decode(bytes, probe)?,
        SourceFormat::Tiff => tiff::decode(bytes, probe)?,
        SourceFormat::Avif => avif::decode(bytes, probe)?,
        SourceFormat::Svg => svg::decode(bytes, svg_size(probe, scale_x, scale_y))?,
        other => {
            return Err(PipelineError::Unsupported(format!(
                "{} sources are not supported yet",
                other.name()
            )));
        }
    };
    if !img.is_consistent() {
        return Err(PipelineError::Decode(
            "decoder returned a short bitmap".into(),
        ));
    }
    Ok(img)
}

/// The frames of an animated source, decoded one at a time (see `animation`).
pub struct Frames<'a> {
    /// How many times the animation plays; 0 = forever (WebP's `ANIM` meaning).
    pub loops: u16,
    /// Full-canvas RGBA frames of the probed size, each with its delay in ms as stored.
    pub iter: Box<dyn Iterator<Item = Result<(Bitmap, u32), PipelineError>> + 'a>,
}

/// Opens an animated GIF or WebP for frame-by-frame decoding.
pub fn frames<'a>(bytes: &'a [u8], probe: &Probe) -> Result<Frames<'a>, PipelineError> {
    match probe.format {
        SourceFormat::Gif => gif::frames(bytes, probe),
        SourceFormat::Webp => webp::frames(bytes, probe),
        other => Err(PipelineError::Unsupported(format!(
            "{} animations are not supported",
            other.name()
        ))),
    }
}

/// How much the decoder itself shrinks for these scales: JPEG's DCT reduction (1, 2,
/// 4 or 8); 1 for every other format, which always decodes at full size. Two
/// requests with the same reduction decode the same pixels (`cache::decoded`).
pub fn reduction(probe: &Probe, scale_x: f64, scale_y: f64) -> u32 {
    match probe.format {
        SourceFormat::Jpeg => dct_denominator(probe.width, probe.height, scale_x, scale_y),
        _ => 1,
    }
}

/// The size an SVG is drawn at for these scales: its intrinsic size, enlarged along
/// each axis the plan upscales. imgproxy loads vector sources at the planned scale
/// (`scaleOnLoad`: `canScaleOnLoad` is always true for `IsVector()`), so an enlarged
/// SVG stays sharp instead of being a resampled raster. Shrinking is left to the
/// resampler (aperture's choice: the drawing is never smaller than declared).
pub fn svg_size(probe: &Probe, scale_x: f64, scale_y: f64) -> (u32, u32) {
    let up = |v: u32, s: f64| {
        if s > 1.0 {
            ((f64::from(v) * s).round() as u32).max(v)
        } else {
            v
        }
    };
    (up(probe.width, scale_x), up(probe.height, scale_y))
}

/// Whether a decode at these scales gives the same pixels as any other (and so may be
/// shared through `cache::decoded`, keyed by [`reduction`]): false for an enlarged SVG.
pub fn reusable(probe: &Probe, scale_x: f64, scale_y: f64) -> bool {
    probe.format != SourceFormat::Svg
        || svg_size(probe, scale_x, scale_y) == (probe.width, probe.height)
}

/// Full-size decode (for references and tests).
pub fn decode_full(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    decode(bytes, probe, 1.0, 1.0)
}

/// The JPEG DCT reduction (1, 2, 4 or 8): the largest whose output (libjpeg rounds up)
/// still holds at least `ceil(dim * scale)` pixels along both axes.
pub fn dct_denominator(w: u32, h: u32, scale_x: f64, scale_y: f64) -> u32 {
    let need_w = (w as f64 * scale_x).ceil().max(1.0);
    let need_h = (h as f64 * scale_y).ceil().max(1.0);
    for d in [8u32, 4, 2] {
        if w.div_ceil(d) as f64 >= need_w && h.div_ceil(d) as f64 >= need_h {
            return d;
        }
    }
    1
}

/// Fails unless the decoder saw the size the probe saw.
fn check_size(format: &str, probe: &Probe, w: u32, h: u32) -> Result<(), PipelineError> {
    if (w, h) != (probe.width, probe.height) {
        return Err(PipelineError::Decode(format!(
            "{format} decoder sees {w}x{h}, the header said {}x{}",
            probe.width, probe.height
        )));
    }
    Ok(())
}

/// Allocates a zeroed pixel buffer, failing cleanly instead of aborting.
fn alloc(len: usize) -> Result<Vec<u8>, PipelineError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| PipelineError::TooLarge(format!("cannot allocate {len} bytes")))?;
    v.resize(len, 0);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denominators() {
        assert_eq!(dct_denominator(4000, 3000, 0.075, 0.075), 8);
        assert_eq!(dct_denominator(6000, 4000, 0.05, 0.05), 8);
        assert_eq!(dct_denominator(4000, 3000, 0.3, 0.3), 2);
        assert_eq!(dct_denominator(1920, 1080, 0.15625, 0.15625), 4);
        assert_eq!(dct_denominator(100, 100, 1.0, 1.0), 1);
        assert_eq!(dct_denominator(100, 100, 2.0, 2.0), 1);
        // a distorting resize: the less-shrunk axis decides
        assert_eq!(dct_denominator(4000, 3000, 0.075, 0.3), 2);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let probe = Probe {
            format: SourceFormat::Jpeg,
            width: 10,
            height: 10,
            orientation: 1,
            frames: 1,
            bits_per_sample: 8,
            alpha: false,
        };
        let formats = [
            SourceFormat::Jpeg,
            SourceFormat::Png,
            SourceFormat::Webp,
            SourceFormat::Gif,
            SourceFormat::Bmp,
            SourceFormat::Ico,
            SourceFormat::Tiff,
            SourceFormat::Avif,
            SourceFormat::Svg,
        ];
        for bytes in [&b""[..], b"\xFF\xD8", &[0xFF; 100], b"GIF89a\x0a\0\x0a\0"] {
            for format in formats {
                let p = Probe { format, ..probe };
                assert!(decode(bytes, &p, 1.0, 1.0).is_err(), "{format:?}");
            }
        }
    }
}
