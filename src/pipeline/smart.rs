//! `gravity:sm` (smart crop): where a `fill` crop should sit so that it keeps the
//! interesting part of the picture, like libvips' `smartcrop` with its `attention`
//! strategy, which imgproxy uses for `sm`.
//!
//! The plan (headers only) centred the crop window; once pixels exist this step moves
//! the window, keeping its size, to the place with the most "attention": edges (a
//! Laplacian of the luma), saturated colour and skin tones, the three cues libvips
//! scores. The scores are summed on a coarse grid (at most [`GRID`] cells a side) and
//! the window slides over a summed-area table of that grid, so the cost is one pass
//! over the already shrunk-on-load bitmap (sampled to at most ~256k pixels) plus a
//! few thousand window sums: well under a millisecond for a thumbnail's decode.
//!
//! Ties go to the window nearest the centre, so a flat image crops like `ce`. When the
//! URL also has `crop`, the crop's own placement stands (imgproxy applies `sm` to the
//! crop too; aperture does not yet) and the window is left centred inside it.

use super::bitmap::Bitmap;
use super::plan::Plan;

/// Cells along the longer side of the score grid.
const GRID: u32 = 64;
/// Pixels scored at most (the bitmap is sampled with a stride above it).
const MAX_SAMPLES: u64 = 256 * 1024;

/// The plan with its source window moved to the most interesting place of `img`,
/// the oriented bitmap of a `src_w` x `src_h` oriented source.
pub fn place(img: &Bitmap, plan: &Plan, src_w: u32, src_h: u32) -> Plan {
    let (_, _, w, h) = plan.src;
    let (sw, sh) = (f64::from(src_w), f64::from(src_h));
    let free_x = sw - w;
    let free_y = sh - h;
    if (free_x < 1.0 && free_y < 1.0) || img.width == 0 || img.height == 0 {
        return *plan;
    }
    let grid = Grid::score(img);
    // the window in grid cells (at least one)
    let cw = ((w / sw) * f64::from(grid.w))
        .round()
        .clamp(1.0, f64::from(grid.w)) as u32;
    let ch = ((h / sh) * f64::from(grid.h))
        .round()
        .clamp(1.0, f64::from(grid.h)) as u32;
    let (gx, gy) = grid.best_window(cw, ch);
    // Not clearly better than where the plan put it: keep that (exactly `ce`).
    let (l0, t0, _, _) = plan.src;
    let planned = (
        ((l0 / sw) * f64::from(grid.w))
            .round()
            .min(f64::from(grid.w - cw)) as u32,
        ((t0 / sh) * f64::from(grid.h))
            .round()
            .min(f64::from(grid.h - ch)) as u32,
    );
    if grid.sum(gx, gy, cw, ch) <= grid.sum(planned.0, planned.1, cw, ch) * 1.01 {
        return *plan;
    }
    // back to source pixels, clamped to where the window fits
    let left = (f64::from(gx) / f64::from(grid.w) * sw).clamp(0.0, free_x.max(0.0));
    let top = (f64::from(gy) / f64::from(grid.h) * sh).clamp(0.0, free_y.max(0.0));
    Plan {
        src: (left.round(), top.round(), w, h),
        ..*plan
    }
}

/// Attention scores summed per grid cell, as a summed-area table.
struct Grid {
    w: u32,
    h: u32,
    /// (w + 1) x (h + 1) prefix sums; `sat[y * (w + 1) + x]` covers cells < (x, y).
    sat: Vec<f64>,
}

impl Grid {
    fn score(img: &Bitmap) -> Grid {
        let (iw, ih) = (img.width, img.height);
        let long = iw.max(ih);
        let (w, h) = (
            (u64::from(iw) * u64::from(GRID))
                .div_ceil(u64::from(long))
                .max(1) as u32,
            (u64::from(ih) * u64::from(GRID))
                .div_ceil(u64::from(long))
                .max(1) as u32,
        );
        let pixels = u64::from(iw) * u64::from(ih);
        let stride = ((pixels as f64 / MAX_SAMPLES as f64).sqrt().ceil() as u32).max(1);
        let mut cells = vec![0f64; (w * h) as usize];
        let luma = |x: u32, y: u32| -> i32 {
            let (r, g, b) = rgb(img, x, y);
            (77 * r + 150 * g + 29 * b) >> 8
        };
        let mut y = stride;
        while y + stride < ih {
            let mut x = stride;
            while x + stride < iw {
                let (r, g, b) = rgb(img, x, y);
                let centre = luma(x, y);
                let around = luma(x - stride, y)
                    + luma(x + stride, y)
                    + luma(x, y - stride)
                    + luma(x, y + stride);
                let edge = f64::from((4 * centre - around).abs());
                let saturation = f64::from(r.max(g).max(b) - r.min(g).min(b));
                let score = edge + 0.5 * saturation + 64.0 * skin(r, g, b);
                let cx = (u64::from(x) * u64::from(w) / u64::from(iw)) as usize;
                let cy = (u64::from(y) * u64::from(h) / u64::from(ih)) as usize;
                cells[cy * w as usize + cx] += score;
                x += stride;
            }
            y += stride;
        }
        let row = w as usize + 1;
        let mut sat = vec![0f64; row * (h as usize + 1)];
        for cy in 0..h as usize {
            for cx in 0..w as usize {
                sat[(cy + 1) * row + cx + 1] =
                    cells[cy * w as usize + cx] + sat[cy * row + cx + 1] + sat[(cy + 1) * row + cx]
                        - sat[cy * row + cx];
            }
        }
        Grid { w, h, sat }
    }

    fn sum(&self, x: u32, y: u32, cw: u32, ch: u32) -> f64 {
        let row = self.w as usize + 1;
        let (x0, y0, x1, y1) = (x as usize, y as usize, (x + cw) as usize, (y + ch) as usize);
        self.sat[y1 * row + x1] - self.sat[y0 * row + x1] - self.sat[y1 * row + x0]
            + self.sat[y0 * row + x0]
    }

    /// Top-left cell of the `cw` x `ch` window with the highest score; among scores
    /// within 1 % of it, the one nearest the centre, so noise does not beat `ce`.
    fn best_window(&self, cw: u32, ch: u32) -> (u32, u32) {
        let (mx, my) = (self.w - cw, self.h - ch);
        let positions = || (0..=my).flat_map(move |y| (0..=mx).map(move |x| (x, y)));
        let top = positions()
            .map(|(x, y)| self.sum(x, y, cw, ch))
            .fold(0f64, f64::max);
        let centre = (f64::from(mx) / 2.0, f64::from(my) / 2.0);
        let distance = |(x, y): (u32, u32)| {
            (f64::from(x) - centre.0).powi(2) + (f64::from(y) - centre.1).powi(2)
        };
        positions()
            .filter(|&(x, y)| self.sum(x, y, cw, ch) >= top * 0.99)
            .min_by(|a, b| distance(*a).total_cmp(&distance(*b)))
            .unwrap_or((mx / 2, my / 2))
    }
}

/// The pixel as RGB (grey repeated; alpha ignored).
fn rgb(img: &Bitmap, x: u32, y: u32) -> (i32, i32, i32) {
    let c = img.channels as usize;
    let i = (y as usize * img.width as usize + x as usize) * c;
    let p = &img.pixels[i..i + c];
    if c >= 3 {
        (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]))
    } else {
        (i32::from(p[0]), i32::from(p[0]), i32::from(p[0]))
    }
}

/// 0..1: how close the colour is to a skin tone (the direction of smartcrop's and
/// libvips' reference skin colour, normalised rgb (0.78, 0.57, 0.44)), for pixels
/// that are neither very dark nor grey.
fn skin(r: i32, g: i32, b: i32) -> f64 {
    let (r, g, b) = (f64::from(r), f64::from(g), f64::from(b));
    let mag = (r * r + g * g + b * b).sqrt();
    if mag < 60.0 {
        return 0.0;
    }
    // the reference direction, normalised: (0.78, 0.57, 0.44) / 1.0616
    let (nr, ng, nb) = (r / mag - 0.7348, g / mag - 0.5369, b / mag - 0.4145);
    let d = (nr * nr + ng * ng + nb * nb).sqrt();
    (1.0 - d / 0.2).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat grey image with a noisy, colourful patch at `patch_x`.
    fn with_patch(w: u32, h: u32, patch_x: u32, patch_w: u32) -> Bitmap {
        let mut pixels = vec![128u8; (w * h * 3) as usize];
        for y in 0..h {
            for x in patch_x..(patch_x + patch_w).min(w) {
                let i = ((y * w + x) * 3) as usize;
                let v = ((x * 37 + y * 91) % 255) as u8;
                pixels[i..i + 3].copy_from_slice(&[v, 255 - v, v / 2]);
            }
        }
        Bitmap::new(pixels, w, h, 3)
    }

    fn centred(src_w: u32, src_h: u32, w: f64, h: f64) -> Plan {
        let left = (f64::from(src_w) - w) / 2.0;
        let top = (f64::from(src_h) - h) / 2.0;
        Plan {
            src: (left, top, w, h),
            out_w: 100,
            out_h: 100,
            scale_x: 100.0 / w,
            scale_y: 100.0 / h,
            dpr: 1.0,
        }
    }

    #[test]
    fn the_window_moves_to_the_detail() {
        // 400x200 source, detail on the right quarter; a 200x200 window.
        let img = with_patch(400, 200, 300, 100);
        let plan = place(&img, &centred(400, 200, 200.0, 200.0), 400, 200);
        let (left, top, w, h) = plan.src;
        assert_eq!((w, h, top), (200.0, 200.0, 0.0));
        assert!(left >= 190.0, "left {left}");
        // and on the left
        let img = with_patch(400, 200, 0, 100);
        let (left, ..) = place(&img, &centred(400, 200, 200.0, 200.0), 400, 200).src;
        assert!(left <= 10.0, "left {left}");
    }

    #[test]
    fn a_flat_image_stays_centred_and_a_full_window_is_untouched() {
        let img = Bitmap::new(vec![90; 300 * 100 * 3], 300, 100, 3);
        let plan = place(&img, &centred(300, 100, 100.0, 100.0), 300, 100);
        assert_eq!(plan.src, (100.0, 0.0, 100.0, 100.0));
        let whole = centred(300, 100, 300.0, 100.0);
        assert_eq!(place(&img, &whole, 300, 100), whole);
    }

    #[test]
    fn the_decoded_bitmap_may_be_smaller_than_the_source() {
        // shrink-on-load: a 1/4 bitmap of an 800x400 source
        let img = with_patch(200, 100, 150, 50);
        let (left, ..) = place(&img, &centred(800, 400, 400.0, 400.0), 800, 400).src;
        assert!(left >= 380.0, "left {left}");
    }

    #[test]
    fn skin_tones_score_and_grey_does_not() {
        assert!(skin(200, 146, 113) > 0.9);
        assert_eq!(skin(128, 128, 128), 0.0);
        assert_eq!(skin(10, 7, 5), 0.0);
    }
}
