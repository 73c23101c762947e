//! `extend`/`ex` and `extend_aspect_ratio`/`exar`: grow the resized image to the
//! requested box, or to the requested aspect ratio, placing it by the option's own
//! gravity (imgproxy's `extend.go`). The new area is transparent until `alpha`
//! flattens it onto the background, exactly as imgproxy's embed + flatten does.
//!
//! The box is the plan's [`target_size`] (width/height times the applied dpr and zoom,
//! the box the result was cut to), so an image already filling it is left alone. The aspect-ratio
//! box is computed from the size before `extend`, like imgproxy's `CalcParams`; when
//! both are on, `extend` has already reached the box and `exar` adds nothing.
//! Gravity offsets scale with the applied dpr, as in imgproxy (`extendImage(..,
//! c.DprScale)`); `dpr` here is always the plan's [`Plan::dpr`].
//!
//! [`Plan::dpr`]: super::plan::Plan::dpr

use super::bitmap::Bitmap;
use super::plan::{position, scaled, target_size};
use crate::options::{Gravity, ProcessingOptions};

/// The canvas after both steps for an image of `w` x `h` (for the memory estimate).
pub fn size(w: u32, h: u32, po: &ProcessingOptions, dpr: f64) -> (u32, u32) {
    steps(w, h, po, dpr)
        .into_iter()
        .flatten()
        .fold((w, h), |(w, h), (bw, bh, _)| grown(w, h, bw, bh))
}

pub fn apply(img: Bitmap, po: &ProcessingOptions, dpr: f64) -> Bitmap {
    steps(img.width, img.height, po, dpr)
        .into_iter()
        .flatten()
        .fold(img, |img, (bw, bh, g)| embed(img, bw, bh, g, dpr))
}

/// The boxes `extend` and then `extend_aspect_ratio` grow an image of `w` x `h` to.
fn steps(w: u32, h: u32, po: &ProcessingOptions, dpr: f64) -> [Option<(u32, u32, &Gravity)>; 2] {
    let (tw, th) = target_size(po, dpr);
    let extend = po.extend.enabled.then_some((tw, th, &po.extend.gravity));
    let ratio = if po.extend_aspect_ratio.enabled && tw > 0 && th > 0 {
        let (dw, dh) = (tw as f64 / w as f64, th as f64 / h as f64);
        let g = &po.extend_aspect_ratio.gravity;
        if dh > dw {
            Some((w, scaled(w, th as f64 / tw as f64), g))
        } else if dw > dh {
            Some((scaled(h, tw as f64 / th as f64), h, g))
        } else {
            None
        }
    } else {
        None
    };
    [extend, ratio]
}

/// imgproxy's `extendImage`: nothing when the image already covers the box, and a
/// 0 (free) side keeps the image's size. Never shrinks (the plan keeps the image
/// inside the box; `max` guards the case it does not).
fn grown(w: u32, h: u32, bw: u32, bh: u32) -> (u32, u32) {
    if bw <= w && bh <= h {
        (w, h)
    } else {
        (bw.max(w), bh.max(h))
    }
}

fn embed(img: Bitmap, bw: u32, bh: u32, g: &Gravity, dpr: f64) -> Bitmap {
    let (w, h) = grown(img.width, img.height, bw, bh);
    if (w, h) == (img.width, img.height) {
        return img;
    }
    let (left, top) = position(w, h, img.width, img.height, g, dpr);
    img.embed(w, h, left, top)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Extend, GravityType};

    fn grey(w: u32, h: u32) -> Bitmap {
        Bitmap::new(vec![200; (w * h) as usize], w, h, 1)
    }

    fn opts(w: u32, h: u32, kind: GravityType, ratio: bool) -> ProcessingOptions {
        let ext = Extend {
            enabled: true,
            gravity: Gravity {
                kind,
                x: 0.0,
                y: 0.0,
            },
        };
        ProcessingOptions {
            width: w,
            height: h,
            extend: if ratio { Extend::default() } else { ext },
            extend_aspect_ratio: if ratio { ext } else { Extend::default() },
            ..Default::default()
        }
    }

    /// The opaque rectangle of a grey+alpha bitmap: (left, top, right, bottom).
    fn opaque_rect(img: &Bitmap) -> (u32, u32, u32, u32) {
        let mut r = (u32::MAX, u32::MAX, 0, 0);
        for (i, px) in img.pixels.chunks_exact(2).enumerate() {
            if px[1] == 255 {
                let (x, y) = (i as u32 % img.width, i as u32 / img.width);
                r = (r.0.min(x), r.1.min(y), r.2.max(x), r.3.max(y));
            }
        }
        r
    }

    #[test]
    fn extend_places_the_image_by_gravity() {
        let out = apply(grey(4, 2), &opts(10, 6, GravityType::Center, false), 1.0);
        assert_eq!((out.width, out.height, out.channels), (10, 6, 2));
        // 6 px to spare: imgproxy's ShrinkToEven(7, 2) = 4 to the left, 2 to the right
        assert_eq!(opaque_rect(&out), (4, 2, 7, 3));
        let out = apply(grey(4, 2), &opts(10, 6, GravityType::SouthEast, false), 1.0);
        assert_eq!(opaque_rect(&out), (6, 4, 9, 5));
        let out = apply(grey(4, 2), &opts(10, 6, GravityType::NorthWest, false), 1.0);
        assert_eq!(opaque_rect(&out), (0, 0, 3, 1));
        // a free side keeps the image's size
        let out = apply(grey(4, 2), &opts(10, 0, GravityType::West, false), 1.0);
        assert_eq!((out.width, out.height), (10, 2));
        // already covering the box: untouched, no alpha added
        let out = apply(grey(4, 2), &opts(4, 2, GravityType::Center, false), 1.0);
        assert_eq!((out.width, out.height, out.channels), (4, 2, 1));
    }

    #[test]
    fn extend_aspect_ratio_grows_one_side_only() {
        // 4x2 to a 1:1 box: 4x4
        let out = apply(grey(4, 2), &opts(100, 100, GravityType::Center, true), 1.0);
        assert_eq!((out.width, out.height), (4, 4));
        // 2 rows to spare: ShrinkToEven(3, 2) = 2 above, none below
        assert_eq!(opaque_rect(&out), (0, 2, 3, 3));
        // 4x2 to 4:1: 8x2
        let po = opts(400, 100, GravityType::West, true);
        assert_eq!(size(4, 2, &po, 1.0), (8, 2));
        assert_eq!(opaque_rect(&apply(grey(4, 2), &po, 1.0)), (0, 0, 3, 1));
        // same ratio: nothing
        assert_eq!(
            size(4, 2, &opts(2, 1, GravityType::Center, true), 1.0),
            (4, 2)
        );
    }
}
