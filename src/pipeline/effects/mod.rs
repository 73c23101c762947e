//! The filters imgproxy applies to the resized image, in its order (libvips'
//! `vips_apply_filters` as imgproxy calls it): `blur`, then `sharpen`, then
//! `pixelate`. They run after the resize and before extend/padding, so a padded
//! border is never blurred (imgproxy's pipeline: `applyFilters` precedes `extend`).
//!
//! All work in place on the 8-bit bitmap, channels independently, alpha included for
//! blur and pixelate (libvips premultiplies first; here transparent pixels' colour
//! leaks into soft edges a little: a known deviation). Each pass is O(pixels); no
//! allocation per pixel, at most a few rows and, for sharpen, one copy of the image.

mod blur;
mod pixelate;
mod sharpen;

use super::bitmap::Bitmap;
use crate::options::ProcessingOptions;

/// Whether any filter is on (the memory estimate counts their buffers then).
pub fn any(po: &ProcessingOptions) -> bool {
    po.blur > 0.0 || po.sharpen > 0.0 || po.pixelate > 1
}

pub fn apply(img: &mut Bitmap, po: &ProcessingOptions) {
    if po.blur > 0.0 {
        blur::gaussian(img, po.blur);
    }
    if po.sharpen > 0.0 {
        sharpen::apply(img, po.sharpen);
    }
    if po.pixelate > 1 {
        pixelate::apply(img, po.pixelate);
    }
}
