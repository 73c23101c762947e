//! Pure geometry: from the (oriented) source size and the options to "resample this
//! rectangle of the source to W x H". No pixels; table-tested.
//!
//! The semantics are current imgproxy's (v3, `processing/prepare.go`: `calcScale`,
//! `calcSizes`; `crop.go`; `calc_position.go`):
//!
//! 1. `crop` cuts a region of the source first (pixels when >= 1, a fraction of the
//!    source when < 1, 0 = the whole dimension), placed by the crop's own gravity or
//!    else the main `gravity`.
//! 2. The scale follows from the region, `width`/`height` (0 = keep the aspect ratio),
//!    `resizing_type` and `zoom`; then `enlarge` (without it nothing is upscaled: the
//!    smaller shrink is brought back to 1, which keeps a `force` distortion's ratio,
//!    and `dpr` is reduced to what the source can give, see [`Plan::dpr`]),
//!    `min-width`/`min-height`, and last the (reduced) `dpr`. Vector sources (SVG) are
//!    never held back by `enlarge`.
//! 3. The scaled image is cut to `width*dpr*zoom` x `height*dpr*zoom` where it is
//!    larger (that is what makes `fill` fill), placed by `gravity`; `fill-down` without
//!    `enlarge` shrinks that box to keep the requested aspect ratio inside a too-small
//!    image.
//!
//! Steps 1-3 fold into one source rectangle and one output size, so the resampler
//! reads each source pixel once and no intermediate bitmap exists.

use crate::options::{Gravity, GravityType, ProcessingOptions, ResizingType};

/// The resample to perform, in oriented-source coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Source rectangle (left, top, width, height); fractional values are fine.
    pub src: (f64, f64, f64, f64),
    pub out_w: u32,
    pub out_h: u32,
    /// Output pixels per source pixel along x and y (1.0 = no resampling).
    pub scale_x: f64,
    pub scale_y: f64,
    /// The dpr actually applied (imgproxy's `DprScale`): the `dpr` option, reduced
    /// without `enlarge` so that it never upscales the source. The requested box
    /// ([`target_size`]), `extend`, `padding` and gravity offsets scale by it.
    pub dpr: f64,
}

impl Plan {
    /// Whether the output is the whole source, unscaled.
    pub fn is_identity(&self, src_w: u32, src_h: u32) -> bool {
        self.src == (0.0, 0.0, src_w as f64, src_h as f64)
            && (self.out_w, self.out_h) == (src_w, src_h)
    }
}

/// The plan for a raster source of `src_w` x `src_h` (oriented).
pub fn plan(src_w: u32, src_h: u32, po: &ProcessingOptions) -> Plan {
    plan_source(src_w, src_h, po, false)
}

/// The plan for a source of `src_w` x `src_h` (oriented); `vector` sources (SVG) scale
/// up to the box whatever `enlarge` says (imgproxy's `calcScale` skips its enlarge
/// check for them, `!po.Enlarge() && !isVector`).
pub fn plan_source(src_w: u32, src_h: u32, po: &ProcessingOptions, vector: bool) -> Plan {
    let (sw, sh) = (src_w.max(1), src_h.max(1));

    // 1. the crop option, in source pixels
    let (crop_l, crop_t, cw, ch) = match &po.crop {
        Some(c) => {
            let cw = crop_size(sw, c.width).min(sw);
            let ch = crop_size(sh, c.height).min(sh);
            let g = c.gravity.unwrap_or(po.gravity);
            // crop offsets are source pixels: no dpr scaling
            let (l, t) = position(sw, sh, cw, ch, &g, 1.0);
            (l, t, cw, ch)
        }
        None => (0, 0, sw, sh),
    };

    // 2. the scale
    let (wscale, hscale, dpr) = scale(cw, ch, po, vector);
    let rw = scaled(cw, wscale);
    let rh = scaled(ch, hscale);

    // 3. cut to the requested box (imgproxy's `calcSizes`)
    let (mut result_w, mut result_h) = target_size(po, dpr);
    if po.resizing_type == ResizingType::FillDown && !po.enlarge && result_w > 0 && result_h > 0 {
        let diff_w = result_w as f64 / rw as f64;
        let diff_h = result_h as f64 / rh as f64;
        if diff_w > diff_h && diff_w > 1.0 {
            result_h = scaled(rw, result_h as f64 / result_w as f64);
            result_w = rw;
        } else if diff_h > diff_w && diff_h > 1.0 {
            result_w = scaled(rh, result_w as f64 / result_h as f64);
            result_h = rh;
        }
    }
    let out_w = if result_w == 0 { rw } else { result_w.min(rw) };
    let out_h = if result_h == 0 { rh } else { result_h.min(rh) };
    let (l, t) = position(rw, rh, out_w, out_h, &po.gravity, dpr);

    // Map the cut back into the source: the exact ratio of the rounded sizes keeps the
    // output's pixel grid aligned with the source's.
    let fx = rw as f64 / cw as f64;
    let fy = rh as f64 / ch as f64;
    Plan {
        src: (
            crop_l as f64 + l as f64 / fx,
            crop_t as f64 + t as f64 / fy,
            out_w as f64 / fx,
            out_h as f64 / fy,
        ),
        out_w,
        out_h,
        scale_x: fx,
        scale_y: fy,
        dpr,
    }
}

/// The requested box in output pixels, 0 along an axis the URL leaves free: the
/// applied `dpr` ([`Plan::dpr`]) and zoom multiply the box like the image (imgproxy's
/// `calcSizes`: `TargetWidth = imath.Scale(po.Width(), c.DprScale*po.ZoomWidth())`).
/// `extend` grows the result to this box, `extend_aspect_ratio` to its ratio.
pub fn target_size(po: &ProcessingOptions, dpr: f64) -> (u32, u32) {
    let side = |v: u32, zoom: f64| if v == 0 { 0 } else { scaled(v, dpr * zoom) };
    (side(po.width, po.zoom_x), side(po.height, po.zoom_y))
}

/// imgproxy's `calcCropSize`: 0 = whole, >= 1 pixels, < 1 a fraction (at least 1 px).
fn crop_size(orig: u32, crop: f64) -> u32 {
    if crop <= 0.0 {
        orig
    } else if crop >= 1.0 {
        crop as u32
    } else {
        scaled(orig, crop)
    }
}

/// `round(v * s)`, at least 1 (imgproxy's `imath.Scale`, as libvips sizes its output).
pub fn scaled(v: u32, s: f64) -> u32 {
    ((v as f64 * s).round() as u32).max(1)
}

/// imgproxy's `calcScale` (`processing/prepare.go`, `(*Context).calcScale`): output
/// pixels per source pixel along x and y, and the dpr actually applied.
///
/// The order is the Go code's: resizing type, then zoom, then the enlarge check
/// (which also caps `dpr` at the shrink left, so a too-small source is not upscaled
/// by it either), then `min-width`/`min-height`, then the division by that dpr, and
/// last no shrink past one pixel.
fn scale(src_w: u32, src_h: u32, po: &ProcessingOptions, vector: bool) -> (f64, f64, f64) {
    let (sw, sh) = (src_w as f64, src_h as f64);
    let dst_w = if po.width == 0 { sw } else { po.width as f64 };
    let dst_h = if po.height == 0 { sh } else { po.height as f64 };
    let mut wshrink = if dst_w == sw { 1.0 } else { sw / dst_w };
    let mut hshrink = if dst_h == sh { 1.0 } else { sh / dst_h };

    if wshrink != 1.0 || hshrink != 1.0 {
        let mut rt = po.resizing_type;
        if rt == ResizingType::Auto {
            // same orientation (both landscape or both portrait) -> fill, else fit
            let same = (sw - sh >= 0.0) == (dst_w - dst_h >= 0.0);
            rt = if same {
                ResizingType::Fill
            } else {
                ResizingType::Fit
            };
        }
        let force = rt == ResizingType::Force;
        if po.width == 0 && !force {
            wshrink = hshrink;
        } else if po.height == 0 && !force {
            hshrink = wshrink;
        } else if rt == ResizingType::Fit {
            wshrink = wshrink.max(hshrink);
            hshrink = wshrink;
        } else if rt == ResizingType::Fill || rt == ResizingType::FillDown {
            wshrink = wshrink.min(hshrink);
            hshrink = wshrink;
        }
    }

    // zoom comes before the enlarge check: without `enlarge` it cannot upscale
    wshrink /= po.zoom_x;
    hshrink /= po.zoom_y;

    let mut dpr = po.dpr;
    if !po.enlarge && !vector {
        let min_shrink = wshrink.min(hshrink);
        if min_shrink < 1.0 {
            wshrink /= min_shrink;
            hshrink /= min_shrink;
            // the box is out of reach; a dpr < 1 would move further from it, so it is
            // compensated, except with `extend`, whose composition must not depend on
            // the dpr
            if !po.extend.enabled {
                dpr /= min_shrink;
            }
        }
        // the largest dpr that does not enlarge the image
        dpr = dpr.min(wshrink.min(hshrink));
    }
    if po.min_width > 0 {
        let min_shrink = sw / po.min_width as f64;
        if min_shrink < wshrink {
            hshrink /= wshrink / min_shrink;
            wshrink = min_shrink;
        }
    }
    if po.min_height > 0 {
        let min_shrink = sh / po.min_height as f64;
        if min_shrink < hshrink {
            wshrink /= hshrink / min_shrink;
            hshrink = min_shrink;
        }
    }
    wshrink /= dpr;
    hshrink /= dpr;
    // never below one pixel
    wshrink = wshrink.min(sw);
    hshrink = hshrink.min(sh);
    (1.0 / wshrink, 1.0 / hshrink, dpr)
}

/// imgproxy's `calcPosition` (`processing/calc_position.go`) without overflow: top-left of an `inner` box placed in
/// `outer` by `g`, clamped inside. Pixel offsets are multiplied by `dpr`; offsets
/// below 1 in magnitude are fractions of the outer size (imgproxy's relative
/// offsets). `sm` (smart/attention crop) plans the centre here, from the headers;
/// `smart::place` moves the window once pixels exist. `extend` places the image in its
/// canvas with it too.
pub fn position(
    outer_w: u32,
    outer_h: u32,
    inner_w: u32,
    inner_h: u32,
    g: &Gravity,
    dpr: f64,
) -> (u32, u32) {
    let (w, h, iw, ih) = (
        outer_w as i64,
        outer_h as i64,
        inner_w as i64,
        inner_h as i64,
    );
    let (left, top) = if g.kind == GravityType::FocusPoint {
        let px = (w as f64 * g.x).round_ties_even() as i64;
        let py = (h as f64 * g.y).round_ties_even() as i64;
        (px - iw / 2, py - ih / 2)
    } else {
        let off = |v: f64, outer: i64| -> i64 {
            if v.abs() < 1.0 {
                (v * outer as f64).round_ties_even() as i64
            } else {
                (v * dpr).round_ties_even() as i64
            }
        };
        let (ox, oy) = (off(g.x, w), off(g.y, h));
        // `imath.ShrinkToEven(width-innerWidth+1, 2)`: half of (free + 1), rounded half
        // to even, so a free space of 2 mod 4 centres one pixel further right/down
        let centre = |free: i64| ((free + 1) as f64 / 2.0).round_ties_even() as i64;
        use GravityType as G;
        let left = match g.kind {
            G::East | G::NorthEast | G::SouthEast => w - iw - ox,
            G::West | G::NorthWest | G::SouthWest => ox,
            _ => centre(w - iw) + ox,
        };
        let top = match g.kind {
            G::North | G::NorthEast | G::NorthWest => oy,
            G::South | G::SouthEast | G::SouthWest => h - ih - oy,
            _ => centre(h - ih) + oy,
        };
        (left, top)
    };
    let left = left.clamp(0, (w - iw).max(0));
    let top = top.clamp(0, (h - ih).max(0));
    (left as u32, top as u32)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
