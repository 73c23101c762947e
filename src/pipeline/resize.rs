//! The one resample: the planned source rectangle -> the output size.
//!
//! The plan is in oriented-source coordinates; the bitmap may be smaller (JPEG
//! shrink-on-load), so the rectangle is scaled by the bitmap/source ratio first. The
//! convolution itself lives in the `aperture-resize` crate (see its docs for why).

use aperture_resize::{Filter, Region, Resizer};

use super::bitmap::Bitmap;
use super::error::PipelineError;
use super::plan::Plan;
use crate::options::ResizingAlgorithm;

pub fn apply(
    img: Bitmap,
    plan: &Plan,
    src_w: u32,
    src_h: u32,
    algorithm: ResizingAlgorithm,
) -> Result<Bitmap, PipelineError> {
    let region = bitmap_region(plan.src, (img.width, img.height), (src_w, src_h));
    let (out_w, out_h) = (plan.out_w, plan.out_h);
    let whole = (0.0, 0.0, img.width as f64, img.height as f64);
    if (region.left, region.top, region.width, region.height) == whole
        && (out_w, out_h) == (img.width, img.height)
    {
        return Ok(img);
    }
    if region.width == out_w as f64
        && region.height == out_h as f64
        && region.left.fract() == 0.0
        && region.top.fract() == 0.0
    {
        return Ok(crop(
            &img,
            region.left as usize,
            region.top as usize,
            out_w,
            out_h,
        ));
    }
    let filter = match algorithm {
        ResizingAlgorithm::Nearest => Filter::Nearest,
        ResizingAlgorithm::Linear => Filter::Linear,
        ResizingAlgorithm::Cubic => Filter::Cubic,
        ResizingAlgorithm::Lanczos2 => Filter::Lanczos2,
        ResizingAlgorithm::Lanczos3 => Filter::Lanczos3,
    };
    let channels = img.channels;
    let pixels = Resizer::new()
        .resize(
            img.pixels, img.width, img.height, channels, region, out_w, out_h, filter,
        )
        .map_err(|e| PipelineError::Resize(e.to_string()))?;
    Ok(Bitmap {
        pixels,
        width: out_w,
        height: out_h,
        channels,
    })
}

/// The plan's rectangle (oriented-source pixels) in the pixels of a `bw` x `bh` bitmap
/// decoded from a `sw` x `sh` source.
///
/// A JPEG shrunk on load by 1/d is `ceil(s / d)` pixels long: its last pixel covers
/// only the `s % d` source pixels left (plus the encoder's edge padding), so the exact
/// factor is 1/d, not `b / s`. Scaling by `b / s` stretched the picture over that
/// partial pixel: an 8000x50 JPEG resized to one row (1/8 load: 1000x7) gave the
/// bottom 2 source rows the weight of 8, and its green came out 14 levels too high.
///
/// Multiplying before dividing keeps whole sizes exact, and the result is clamped
/// inside the bitmap: fast_image_resize refuses a crop box even one ulp past the edge
/// ("Size of the crop box is out of the image boundaries"); `50 * (7 / 50)` is
/// 7.000000000000001.
fn bitmap_region(
    (l, t, w, h): (f64, f64, f64, f64),
    (bw, bh): (u32, u32),
    (sw, sh): (u32, u32),
) -> Region {
    let (nx, dx) = axis_factor(bw, sw);
    let (ny, dy) = axis_factor(bh, sh);
    let (bw, bh) = (bw as f64, bh as f64);
    let left = (l * nx / dx).clamp(0.0, bw);
    let top = (t * ny / dy).clamp(0.0, bh);
    Region {
        left,
        top,
        width: (w * nx / dx).min(bw - left),
        height: (h * ny / dy).min(bh - top),
    }
}

/// Bitmap pixels per source pixel along one axis, as (numerator, denominator): 1/d
/// when the bitmap is a 1/d shrink-on-load of the source (`ceil(s / d)` long, the
/// smallest such d), else `b / s`.
fn axis_factor(b: u32, s: u32) -> (f64, f64) {
    match [1u32, 2, 4, 8].into_iter().find(|&d| s.div_ceil(d) == b) {
        Some(d) => (1.0, d as f64),
        None => (b as f64, s.max(1) as f64),
    }
}

/// Integer crop, row by row (no resampling needed).
pub(super) fn crop(img: &Bitmap, left: usize, top: usize, w: u32, h: u32) -> Bitmap {
    let c = img.channels as usize;
    let stride = img.width as usize * c;
    let row_len = w as usize * c;
    let mut pixels = Vec::with_capacity(row_len * h as usize);
    for y in top..top + h as usize {
        let start = y * stride + left * c;
        pixels.extend_from_slice(&img.pixels[start..start + row_len]);
    }
    Bitmap {
        pixels,
        width: w,
        height: h,
        channels: img.channels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: u32, h: u32) -> Bitmap {
        Bitmap {
            pixels: (0..w * h).map(|i| (i % 251) as u8).collect(),
            width: w,
            height: h,
            channels: 1,
        }
    }

    fn plan(src: (f64, f64, f64, f64), out_w: u32, out_h: u32) -> Plan {
        Plan {
            src,
            out_w,
            out_h,
            scale_x: 1.0,
            scale_y: 1.0,
            dpr: 1.0,
        }
    }

    #[test]
    fn integer_crop_copies_pixels() {
        let img = ramp(10, 10);
        let p = plan((2.0, 3.0, 4.0, 5.0), 4, 5);
        let out = apply(img.clone(), &p, 10, 10, ResizingAlgorithm::Lanczos3).unwrap();
        assert_eq!((out.width, out.height), (4, 5));
        assert_eq!(out.pixels[0], img.pixels[3 * 10 + 2]);
    }

    #[test]
    fn shrunk_region_never_passes_the_bitmap_edge() {
        // 8000x50 JPEG decoded at 1/8 = 1000x7: 50 * (7 / 50) used to be
        // 7.000000000000001 and the resampler refused the region
        // 8000x50 JPEG decoded at 1/8 = 1000x7, whose last row holds 2 source rows
        let r = bitmap_region((0.0, 0.0, 8000.0, 50.0), (1000, 7), (8000, 50));
        assert_eq!((r.width, r.height), (1000.0, 6.25));
        let r = bitmap_region((0.0, 0.0, 227.0, 149.0), (114, 75), (227, 149));
        assert_eq!((r.width, r.height), (113.5, 74.5));
        let r = bitmap_region((16.0, 8.0, 80.0, 40.0), (13, 7), (100, 50));
        assert_eq!((r.left, r.top, r.width, r.height), (2.0, 1.0, 10.0, 5.0));
        // no shrink-on-load, but the plan's own `out / (out / src)` is past the edge
        let r = bitmap_region(
            (0.0, 0.0, 333.0, 130.0 / (130.0 / 217.0)),
            (333, 217),
            (333, 217),
        );
        assert_eq!((r.width, r.height), (333.0, 217.0));
        let img = ramp(1000, 7);
        let p = plan((0.0, 0.0, 8000.0, 50.0), 100, 1);
        let out = apply(img, &p, 8000, 50, ResizingAlgorithm::Lanczos3).unwrap();
        assert_eq!((out.width, out.height), (100, 1));
    }

    #[test]
    fn plan_is_scaled_to_a_shrunk_bitmap() {
        // the source was 80x80, the decoder delivered 10x10 (1/8)
        let img = ramp(10, 10);
        let p = plan((0.0, 0.0, 80.0, 80.0), 5, 5);
        let out = apply(img, &p, 80, 80, ResizingAlgorithm::Lanczos3).unwrap();
        assert_eq!((out.width, out.height, out.pixels.len()), (5, 5, 25));
    }
}
