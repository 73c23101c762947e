//! `padding`/`pd`: a border around the finished image (after extend, before
//! flattening), filled like extended areas: `bg`, else white for JPEG, else
//! transparent. The sides scale with the applied dpr, the plan's [`Plan::dpr`]
//! (imgproxy's `padding`: `imath.ScaleToEven(po.PaddingTop(), c.DprScale)`, a
//! round-half-to-even of `side * dpr`), which without `enlarge` may be less than the
//! `dpr` option; `zoom` does not scale them (imgproxy's docs).
//!
//! [`Plan::dpr`]: super::plan::Plan::dpr

use super::bitmap::Bitmap;
use crate::options::ProcessingOptions;

/// (top, right, bottom, left) in output pixels, for the applied `dpr`.
pub fn sides(po: &ProcessingOptions, dpr: f64) -> (u32, u32, u32, u32) {
    let p = &po.padding;
    let s = |v: u32| (v as f64 * dpr).round_ties_even() as u32;
    (s(p.top), s(p.right), s(p.bottom), s(p.left))
}

/// The padded size of a `w` x `h` image.
pub fn size(w: u32, h: u32, po: &ProcessingOptions, dpr: f64) -> (u32, u32) {
    let (t, r, b, l) = sides(po, dpr);
    (w + l + r, h + t + b)
}

pub fn apply(img: Bitmap, po: &ProcessingOptions, dpr: f64) -> Bitmap {
    if !po.padding.is_enabled() {
        return img;
    }
    let (t, _, _, l) = sides(po, dpr);
    let (w, h) = size(img.width, img.height, po, dpr);
    img.embed(w, h, l, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Padding;

    #[test]
    fn pads_each_side_scaled_by_dpr() {
        let img = Bitmap::new(vec![9, 9, 9], 1, 1, 3);
        let po = ProcessingOptions {
            padding: Padding {
                top: 1,
                right: 2,
                bottom: 0,
                left: 3,
            },
            ..Default::default()
        };
        let out = apply(img, &po, 2.0);
        assert_eq!((out.width, out.height, out.channels), (11, 3, 4));
        // the pixel sits at (6, 2)
        let i = (2 * 11 + 6) * 4;
        assert_eq!(&out.pixels[i..i + 4], &[9, 9, 9, 255]);
        assert_eq!(out.pixels.iter().filter(|&&v| v == 255).count(), 1);
    }
}
