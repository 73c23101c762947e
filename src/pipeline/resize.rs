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
    let kx = img.width as f64 / src_w as f64;
    let ky = img.height as f64 / src_h as f64;
    let (l, t, w, h) = plan.src;
    let region = Region {
        left: l * kx,
        top: t * ky,
        width: w * kx,
        height: h * ky,
    };
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
    fn plan_is_scaled_to_a_shrunk_bitmap() {
        // the source was 80x80, the decoder delivered 10x10 (1/8)
        let img = ramp(10, 10);
        let p = plan((0.0, 0.0, 80.0, 80.0), 5, 5);
        let out = apply(img, &p, 80, 80, ResizingAlgorithm::Lanczos3).unwrap();
        assert_eq!((out.width, out.height, out.pixels.len()), (5, 5, 25));
    }
}
