//! Colour management: a source's embedded ICC profile ([`extract`]) and the conversion
//! of its pixels to sRGB with `moxcms` (pure Rust; already in the tree through
//! `image`, so it costs no build time).
//!
//! Outputs never carry a profile, so they must *be* sRGB: an iPhone photo in Display
//! P3 or an Adobe RGB export would otherwise come out desaturated, a CMYK JPEG with
//! the wrong inks. What is converted:
//!
//! - RGB(A) with an RGB profile, unless the profile is sRGB itself ([`is_srgb`], judged
//!   once per distinct profile: the common case costs a lookup, never a transform);
//! - grey(+alpha) with a grey profile, to a grey with the sRGB curve;
//! - CMYK (JPEG, YCCK JPEG, TIFF) with a CMYK profile, at decode time ([`cmyk_to_rgb`]);
//!   without one, the naive `(255-C)(255-K)` formula (libvips uses a built-in CMYK
//!   profile instead; moxcms ships none).
//!
//! RGB and grey are converted by [`to_srgb`] *after* the resize, where the bitmap is
//! smallest (a 300 px thumbnail of a 12 MP photo converts 90 thousand pixels, not
//! 12 million). libvips converts before: resampling gamma-encoded values in one RGB
//! space or another differs by far less than a JPEG quantisation step, so the order
//! is not visible, while the cost is. CMYK cannot wait: the resizer knows RGB(A) only.
//!
//! A profile that cannot be parsed or converted is ignored (debug log), the pixels are
//! treated as sRGB, as libvips does. Conversion runs row by row through one row of
//! scratch, so it needs no second image buffer; RGB and grey transforms are kept for
//! the next source with the same profile ([`cache`]). 16-bit sources are converted after
//! their decoders narrow them to 8 bits.

mod cache;
pub mod extract;

use moxcms::{ColorProfile, DataColorSpace, Layout, ParsingOptions, TransformOptions};

use super::bitmap::Bitmap;

pub use extract::MAX_PROFILE;

/// Memory a job with a `len`-byte profile may need beyond its bitmaps: the profile
/// (held by the job and again by the CMYK decoder), its parsed tables, and the 17⁴
/// CMYK grid moxcms builds (3 f32 per node, ~1 MB).
pub fn working_bytes(len: usize) -> u64 {
    if len == 0 {
        0
    } else {
        3 * len as u64 + (1 << 20) + 256 * 1024
    }
}

fn parse(icc: &[u8]) -> Option<ColorProfile> {
    let options = ParsingOptions {
        max_profile_size: MAX_PROFILE + 1,
        ..ParsingOptions::default()
    };
    ColorProfile::new_from_slice_with_options(icc, options)
        .map_err(|e| tracing::debug!("ICC profile ignored: {e}"))
        .ok()
}

/// Converts an RGB(A) or grey(+alpha) bitmap from `icc` to sRGB in place. A profile
/// that does not match the pixels (e.g. a CMYK profile once the decoder made RGB of
/// it) or that is sRGB already leaves them alone.
pub fn to_srgb(img: &mut Bitmap, icc: Option<&[u8]>) {
    let Some(icc) = icc else {
        return;
    };
    let layout = match img.channels {
        1 => Layout::Gray,
        2 => Layout::GrayAlpha,
        3 => Layout::Rgb,
        4 => Layout::Rgba,
        _ => return,
    };
    let Some(transform) = cache::get_or_build(icc, layout, || transform(icc, layout)) else {
        return;
    };
    let row = img.width as usize * usize::from(img.channels);
    if row == 0 {
        return;
    }
    let mut scratch = vec![0u8; row];
    for line in img.pixels.chunks_exact_mut(row) {
        scratch.copy_from_slice(line);
        if let Err(e) = transform.transform(&scratch, line) {
            tracing::debug!("ICC conversion stopped: {e}");
            return;
        }
    }
}

/// The transform from `icc` to sRGB for `layout` pixels, `None` when there is nothing
/// to do (sRGB already) or nothing sensible to do (a malformed or mismatched profile).
fn transform(icc: &[u8], layout: Layout) -> Option<cache::Transform> {
    let profile = parse(icc)?;
    let rgb = matches!(layout, Layout::Rgb | Layout::Rgba);
    let target = match profile.color_space {
        DataColorSpace::Rgb if rgb && !is_srgb(&profile) => ColorProfile::new_srgb(),
        DataColorSpace::Gray if !rgb && !is_srgb_grey(&profile) => srgb_grey(),
        _ => return None,
    };
    profile
        .create_transform_8bit(layout, &target, layout, TransformOptions::default())
        .map_err(|e| tracing::debug!("ICC profile ignored: {e}"))
        .ok()
}

/// CMYK samples (4 per pixel, `width` per row) to RGB, compacted in place. `inverted`
/// is Adobe's convention (samples stored as 255-C etc.: nearly all CMYK JPEGs). With a
/// usable CMYK profile the inks are converted by it (ICC device values are ink
/// amounts, 0 = none), else by the naive formula.
pub fn cmyk_to_rgb(px: &mut Vec<u8>, width: usize, inverted: bool, icc: Option<&[u8]>) {
    let profile = icc
        .and_then(parse)
        .filter(|p| p.color_space == DataColorSpace::Cmyk);
    let transform = profile.and_then(|p| {
        let srgb = ColorProfile::new_srgb();
        // relative colorimetric is libvips' default intent; perceptual when the profile
        // only has that table
        [
            moxcms::RenderingIntent::RelativeColorimetric,
            moxcms::RenderingIntent::Perceptual,
        ]
        .into_iter()
        .find_map(|rendering_intent| {
            let options = TransformOptions {
                rendering_intent,
                ..TransformOptions::default()
            };
            p.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgb, options)
                .map_err(|e| tracing::debug!("CMYK profile ignored ({rendering_intent:?}): {e}"))
                .ok()
        })
    });
    let Some(transform) = transform.filter(|_| width > 0) else {
        naive_cmyk_to_rgb(px, inverted);
        return;
    };
    let rows = px.len() / (4 * width);
    let mut scratch = vec![0u8; 4 * width];
    for y in 0..rows {
        // row y's RGB (at 3·w·y) only overwrites CMYK rows <= y, already copied out
        scratch.copy_from_slice(&px[4 * width * y..][..4 * width]);
        if inverted {
            scratch.iter_mut().for_each(|s| *s = 255 - *s);
        }
        if let Err(e) = transform.transform(&scratch, &mut px[3 * width * y..][..3 * width]) {
            // cannot happen (the lengths agree); the picture stays consistent anyway
            tracing::debug!("CMYK conversion failed: {e}");
        }
    }
    px.truncate(3 * width * rows);
}

/// Naive CMYK -> RGB (`R = (255-C)(255-K)/255`), compacting 4 bytes per pixel to 3 in
/// place; `inverted` as in [`cmyk_to_rgb`].
pub fn naive_cmyk_to_rgb(px: &mut Vec<u8>, inverted: bool) {
    let n = px.len() / 4;
    for i in 0..n {
        let s = &px[4 * i..4 * i + 4];
        let [c, m, y, k] = if inverted {
            [s[0], s[1], s[2], s[3]].map(u32::from)
        } else {
            [255 - s[0], 255 - s[1], 255 - s[2], 255 - s[3]].map(u32::from)
        };
        px[3 * i] = ((c * k + 127) / 255) as u8;
        px[3 * i + 1] = ((m * k + 127) / 255) as u8;
        px[3 * i + 2] = ((y * k + 127) / 255) as u8;
    }
    px.truncate(n * 3);
}

/// Whether an RGB profile is sRGB in all but name: sRGB's primaries (D50-adapted, as
/// profiles store them) and its curve, within what 8-bit output can show. Real sRGB
/// profiles differ in bytes (v2/v4, 1024-point or parametric curves, vendors), so
/// matching on the description or a hash would miss most of them.
pub fn is_srgb(p: &ColorProfile) -> bool {
    let s = ColorProfile::new_srgb();
    let near = |a: moxcms::Xyzd, b: moxcms::Xyzd| {
        (a.x - b.x).abs() < 0.003 && (a.y - b.y).abs() < 0.003 && (a.z - b.z).abs() < 0.003
    };
    p.is_matrix_shaper()
        && near(p.red_colorant, s.red_colorant)
        && near(p.green_colorant, s.green_colorant)
        && near(p.blue_colorant, s.blue_colorant)
        && [&p.red_trc, &p.green_trc, &p.blue_trc]
            .into_iter()
            .all(|t| is_srgb_curve(t.as_ref()))
}

fn is_srgb_grey(p: &ColorProfile) -> bool {
    is_srgb_curve(p.gray_trc.as_ref())
}

/// A curve within 0.002 (linear light) of sRGB's at a few points across the range.
fn is_srgb_curve(trc: Option<&moxcms::ToneReprCurve>) -> bool {
    let Some(eval) = trc.and_then(|t| t.make_linear_evaluator().ok()) else {
        return false;
    };
    [0.02f32, 0.1, 0.25, 0.5, 0.75, 0.9].iter().all(|&v| {
        let srgb = if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        };
        (eval.evaluate_value(v) - srgb).abs() < 0.002
    })
}

/// A grey profile with sRGB's curve: what a grey output is read as.
fn srgb_grey() -> ColorProfile {
    let mut p = ColorProfile::new_gray_with_gamma(2.2);
    p.gray_trc = ColorProfile::new_srgb().red_trc;
    // moxcms connects grey profiles through XYZ only; the constructor leaves it unset
    p.pcs = DataColorSpace::Xyz;
    p
}

#[cfg(test)]
mod tests;
