//! `trim`/`t`: cut away a border of the background colour before anything else
//! (imgproxy's first pipeline step, on the decoded image in its stored orientation).
//!
//! As libvips' `find_trim` under imgproxy's `vips_trim`: alpha is flattened onto
//! magenta for the comparison only (so `t:…:FF00FF` trims transparent borders); the
//! background is the given colour, else the top-left pixel; a pixel belongs to the
//! picture when any channel differs from the background by more than `threshold`.
//! `equal_hor`/`equal_ver` cut the smaller of the two opposite margins from both sides.
//! Like libvips (imgproxy does not ask for its `line_art` mode), each channel is
//! 3x3-median-filtered before the comparison, so JPEG noise or a one-pixel line in the
//! border does not stop the trim; edges repeat for the filter. The median is computed
//! only where the scan looks (each row from both ends until it meets the picture) and
//! a neighbour differs at all, so a border costs one comparison per pixel. An image that is background everywhere is left whole, as imgproxy's
//! `vips_trim` copies the input when the box it finds is empty.

use super::bitmap::Bitmap;
use crate::options::{Rgb, Trim};

/// magenta: imgproxy's transparency key for trimming.
const KEY: [u8; 3] = [255, 0, 255];

/// The box to keep, (left, top, width, height); `None` to keep the whole image.
pub fn find(img: &Bitmap, t: &Trim) -> Option<(u32, u32, u32, u32)> {
    let (w, h, c) = (
        img.width as usize,
        img.height as usize,
        img.channels as usize,
    );
    if w == 0 || h == 0 {
        return None;
    }
    let bg = match t.color {
        Some(Rgb { r, g, b }) => [r, g, b],
        None => rgb(&img.pixels[..c]),
    };
    let far = |px: [u8; 3]| {
        px.iter()
            .zip(bg)
            .any(|(&v, b)| f64::from(v.abs_diff(b)) > t.threshold)
    };
    // Where a pixel differs before the median. A median of values all near the
    // background is near it too, so only pixels with such a neighbour need a median:
    // a border (and an image that is all border) costs one comparison per pixel.
    let raw: Vec<bool> = img.pixels.chunks_exact(c).map(|p| far(rgb(p))).collect();
    let row_has: Vec<bool> = raw.chunks_exact(w).map(|r| r.contains(&true)).collect();
    let differs = |x: usize, y: usize| {
        (0..9).any(|k| raw[near(y, k / 3, h) * w + near(x, k % 3, w)]) && far(median(img, x, y))
    };
    let (mut left, mut right, mut top, mut bottom) = (w, 0, h, 0);
    for y in 0..h {
        if !(0..3).any(|d| row_has[near(y, d, h)]) {
            continue;
        }
        let Some(first) = (0..w).position(|x| differs(x, y)) else {
            continue;
        };
        let last = (first..w)
            .rposition(|x| differs(x, y))
            .map_or(first, |i| first + i);
        left = left.min(first);
        right = right.max(last + 1);
        top = top.min(y);
        bottom = y + 1;
    }
    if top >= bottom {
        return None;
    }
    let (left, width) = equalise(left, right - left, w, t.equal_hor);
    let (top, height) = equalise(top, bottom - top, h, t.equal_ver);
    if (left, top, width, height) == (0, 0, w, h) {
        return None;
    }
    Some((left as u32, top as u32, width as u32, height as u32))
}

/// imgproxy's `equal_hor`/`equal_ver`: cut only the smaller margin from both sides.
fn equalise(start: usize, len: usize, total: usize, equal: bool) -> (usize, usize) {
    let end_margin = total - start - len;
    if !equal || end_margin == start {
        (start, len)
    } else if end_margin > start {
        (start, len + (end_margin - start))
    } else {
        (end_margin, len + (start - end_margin))
    }
}

/// The per-channel median of the 3x3 neighbourhood of (x, y), as RGB, edges repeated.
fn median(img: &Bitmap, x: usize, y: usize) -> [u8; 3] {
    let (w, h, c) = (
        img.width as usize,
        img.height as usize,
        img.channels as usize,
    );
    let at = |k: usize| &img.pixels[(near(y, k / 3, h) * w + near(x, k % 3, w)) * c..][..c];
    let mut samples = [[0u8; 9]; 3];
    for k in 0..9 {
        let px = rgb(at(k));
        for (channel, v) in samples.iter_mut().zip(px) {
            channel[k] = v;
        }
    }
    samples.map(|mut v| *v.select_nth_unstable(4).1)
}

/// Index `v + d - 1` (`d` in 0..3: the 3x3 neighbourhood) clamped to `0..n`.
fn near(v: usize, d: usize, n: usize) -> usize {
    (v + d).saturating_sub(1).min(n - 1)
}

/// The pixel as RGB, alpha flattened onto [`KEY`].
fn rgb(px: &[u8]) -> [u8; 3] {
    let over = |v: u8, k: u8, a: u8| {
        let (v, k, a) = (u32::from(v), u32::from(k), u32::from(a));
        ((v * a + k * (255 - a) + 127) / 255) as u8
    };
    match *px {
        [g] => [g, g, g],
        [g, a] => KEY.map(|k| over(g, k, a)),
        [r, g, b] => [r, g, b],
        [r, g, b, a] => [over(r, KEY[0], a), over(g, KEY[1], a), over(b, KEY[2], a)],
        _ => [0, 0, 0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `w` x `h` RGB of `bg` with an inner rectangle of `fg`.
    fn framed(w: u32, h: u32, inner: (u32, u32, u32, u32), bg: [u8; 3], fg: [u8; 3]) -> Bitmap {
        let (l, t, iw, ih) = inner;
        let pixels = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                if x >= l && x < l + iw && y >= t && y < t + ih {
                    fg
                } else {
                    bg
                }
            })
            .collect();
        Bitmap::new(pixels, w, h, 3)
    }

    fn trim(threshold: f64, color: Option<Rgb>, eh: bool, ev: bool) -> Trim {
        Trim {
            threshold,
            color,
            equal_hor: eh,
            equal_ver: ev,
        }
    }

    #[test]
    fn finds_the_inner_rect() {
        let img = framed(20, 10, (3, 2, 10, 5), [250, 250, 250], [10, 20, 30]);
        let t = trim(10.0, None, false, false);
        assert_eq!(find(&img, &t), Some((3, 2, 10, 5)));
        // within the threshold counts as background
        let img = framed(20, 10, (3, 2, 10, 5), [250, 250, 250], [245, 245, 245]);
        assert_eq!(find(&img, &t), None);
        // an explicit colour that is not the border trims nothing
        let red = Some(Rgb { r: 255, g: 0, b: 0 });
        let img = framed(20, 10, (3, 2, 10, 5), [250, 250, 250], [10, 20, 30]);
        assert_eq!(find(&img, &trim(10.0, red, false, false)), None);
    }

    #[test]
    fn equal_sides() {
        // margins: left 3, right 7; top 2, bottom 3
        let img = framed(20, 10, (3, 2, 10, 5), [0, 0, 0], [200, 200, 200]);
        assert_eq!(
            find(&img, &trim(10.0, None, true, true)),
            Some((3, 2, 14, 6))
        );
        let img = framed(20, 10, (8, 4, 10, 5), [0, 0, 0], [200, 200, 200]);
        assert_eq!(
            find(&img, &trim(10.0, None, true, false)),
            Some((2, 4, 16, 5))
        );
    }

    #[test]
    fn transparent_borders_trim_with_magenta() {
        let mut img = Bitmap::new(vec![0; 8 * 6 * 4], 8, 6, 4);
        for y in 1..4 {
            let i = (y * 8 + 2) * 4;
            for px in img.pixels[i..i + 12].chunks_exact_mut(4) {
                px.copy_from_slice(&[0, 0, 255, 255]);
            }
        }
        let key = Some(Rgb {
            r: 255,
            g: 0,
            b: 255,
        });
        assert_eq!(
            find(&img, &trim(10.0, key, false, false)),
            Some((2, 1, 3, 3))
        );
        assert_eq!(
            find(&img, &trim(10.0, None, false, false)),
            Some((2, 1, 3, 3))
        );
    }

    #[test]
    fn a_noisy_pixel_in_the_border_is_ignored() {
        let mut img = framed(20, 10, (3, 2, 10, 5), [250, 250, 250], [10, 20, 30]);
        img.pixels[(9 * 20 + 18) * 3] = 0;
        assert_eq!(
            find(&img, &trim(10.0, None, false, false)),
            Some((3, 2, 10, 5))
        );
    }
}
