//! Gaussian blur (`blur`/`bl`), separable: rows, then columns.
//!
//! Sigma >= 2: three successive box filters per axis (Kovesi's box sizes, whose
//! variances add up to sigma^2), each a running sum, so the cost does not grow with
//! sigma. Below 2 the boxes are too coarse (sigma 0.5 would round to no blur at all),
//! so a sampled Gaussian of radius ceil(3 sigma) (at most 6) is convolved instead.
//! Edges repeat the border pixel, as libvips' `gaussblur` does.
//!
//! Columns are filtered in place, row-major: a column pass only ever needs rows
//! already overwritten up to `reach` back, so those are kept in a ring of
//! `reach + 1` rows, and every read and write walks memory forwards. Rows keep
//! 8 fractional bits between their passes; columns round to 8 bits after each pass
//! (libvips' integer `gaussblur` also rounds its mask).

use super::super::bitmap::Bitmap;

const BOX_FROM_SIGMA: f32 = 2.0;

pub fn gaussian(img: &mut Bitmap, sigma: f32) {
    let (w, h, c) = (
        img.width as usize,
        img.height as usize,
        img.channels as usize,
    );
    if sigma <= 0.0 || w == 0 || h == 0 {
        return;
    }
    let sigma = f64::from(sigma);
    if sigma >= f64::from(BOX_FROM_SIGMA) {
        let radii = box_radii(sigma);
        rows(&mut img.pixels, w, c, |line, tmp| {
            for &r in &radii {
                box_line(line, tmp, c, r);
                std::mem::swap(line, tmp);
            }
        });
        for r in radii {
            box_columns(&mut img.pixels, w * c, h, r);
        }
    } else {
        let kernel = kernel(sigma);
        rows(&mut img.pixels, w, c, |line, tmp| {
            kernel_line(line, tmp, c, &kernel);
            std::mem::swap(line, tmp);
        });
        kernel_columns(&mut img.pixels, w * c, h, &kernel);
    }
}

/// Radii of three boxes approximating a Gaussian of `sigma` (W. Kovesi, "Fast
/// almost-Gaussian filtering", 2010): widths `wl` and `wl + 2`, `m` of them `wl`.
fn box_radii(sigma: f64) -> [usize; 3] {
    let n = 3.0;
    let ideal = (12.0 * sigma * sigma / n + 1.0).sqrt();
    let mut wl = ideal.floor() as i64;
    if wl % 2 == 0 {
        wl -= 1;
    }
    let wl = wl.max(1);
    let wlf = wl as f64;
    let m = ((12.0 * sigma * sigma - n * wlf * wlf - 4.0 * n * wlf - 3.0 * n) / (-4.0 * wlf - 4.0))
        .round() as i64;
    [0, 1, 2].map(|i| {
        let width = if i < m { wl } else { wl + 2 };
        ((width - 1) / 2) as usize
    })
}

/// Sampled Gaussian, radius ceil(3 sigma), weights in 16-bit fixed point summing to
/// exactly 1 (the rounding remainder goes to the centre tap).
fn kernel(sigma: f64) -> Vec<u32> {
    let r = (3.0 * sigma).ceil() as i64;
    let raw: Vec<f64> = (-r..=r)
        .map(|i| (-((i * i) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = raw.iter().sum();
    let mut k: Vec<u32> = raw
        .iter()
        .map(|v| (v / total * 65536.0).round() as u32)
        .collect();
    let sum: u32 = k.iter().sum();
    let centre = r as usize;
    k[centre] = (k[centre] + 65536).saturating_sub(sum);
    k
}

/// Runs `filter` on each row as `u32` samples with 8 fractional bits; `filter` leaves
/// its result in its first buffer.
fn rows(px: &mut [u8], w: usize, c: usize, mut filter: impl FnMut(&mut Vec<u32>, &mut Vec<u32>)) {
    let len = w * c;
    let mut line = vec![0u32; len];
    let mut tmp = vec![0u32; len];
    for row in px.chunks_exact_mut(len) {
        line.clear();
        line.extend(row.iter().map(|&v| u32::from(v) << 8));
        tmp.resize(len, 0);
        filter(&mut line, &mut tmp);
        for (d, &v) in row.iter_mut().zip(line.iter()) {
            *d = ((v + 128) >> 8).min(255) as u8;
        }
    }
}

/// Rounded division by a box's (odd) width `d` as a multiply and a shift: a division
/// per sample was most of the blur's time. The reciprocal is 40-bit fixed point, off
/// by at most half a unit, so the quotient errs by under `sum / 2^41`; the fraction of
/// `sum / d` is never closer than `1 / 2d` to one half, and sums stay below
/// `65280 d`, so the result equals the division for every `d` below 4096 (sigma 1000
/// needs 2001).
#[derive(Clone, Copy)]
struct Divide(u128);

impl Divide {
    fn by(d: usize) -> Divide {
        let d = d as u128;
        Divide(((1u128 << 40) + d / 2) / d)
    }

    fn round(self, sum: u64) -> u64 {
        ((u128::from(sum) * self.0 + (1 << 39)) >> 40) as u64
    }
}

/// One box of radius `r` along an interleaved line of `c` channels, edges repeated.
/// Sums stay below 2^32: 8.8 fixed point samples times a width under 2^16.
fn box_line(src: &[u32], dst: &mut [u32], c: usize, r: usize) {
    let n = src.len() / c;
    let div = Divide::by(2 * r + 1);
    let mut sums = [0u32; 4];
    let sums = &mut sums[..c];
    for i in 0..=2 * r {
        let x = i.saturating_sub(r).min(n - 1);
        for (s, &v) in sums.iter_mut().zip(&src[x * c..][..c]) {
            *s += v;
        }
    }
    for (x, out) in dst.chunks_exact_mut(c).enumerate() {
        for (o, &s) in out.iter_mut().zip(sums.iter()) {
            *o = div.round(u64::from(s)) as u32;
        }
        let add = &src[(x + r + 1).min(n - 1) * c..][..c];
        let sub = &src[x.saturating_sub(r) * c..][..c];
        for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
            *s = *s + a - b;
        }
    }
}

fn kernel_line(src: &[u32], dst: &mut [u32], c: usize, k: &[u32]) {
    let n = src.len() / c;
    let r = k.len() / 2;
    let mut acc = [0u64; 4];
    for (x, out) in dst.chunks_exact_mut(c).enumerate() {
        let acc = &mut acc[..c];
        acc.fill(32768);
        for (j, &wt) in k.iter().enumerate() {
            let i = (x + j).saturating_sub(r).min(n - 1);
            for (a, &v) in acc.iter_mut().zip(&src[i * c..][..c]) {
                *a += u64::from(v) * u64::from(wt);
            }
        }
        for (o, &a) in out.iter_mut().zip(acc.iter()) {
            *o = (a >> 16) as u32;
        }
    }
}

/// Original rows of an image being overwritten row by row: rows below `y` come from
/// the ring, the others from the image itself. Indices are clamped to the image.
struct Rows<'a> {
    px: &'a [u8],
    ring: &'a [u8],
    y: usize,
    h: usize,
    len: usize,
}

impl<'a> Rows<'a> {
    fn get(&self, k: isize) -> &'a [u8] {
        let k = k.clamp(0, self.h as isize - 1) as usize;
        if k < self.y {
            let slots = self.ring.len() / self.len;
            &self.ring[(k % slots) * self.len..][..self.len]
        } else {
            &self.px[k * self.len..][..self.len]
        }
    }
}

/// Rewrites each row `y` of `px` as `filter` computes it from the original rows
/// `y - reach ..= y + reach` (any others are out of reach).
fn columns_in_place(
    px: &mut [u8],
    len: usize,
    h: usize,
    reach: usize,
    mut filter: impl FnMut(&Rows<'_>, &mut [u8]),
) {
    let slots = (reach + 1).min(h);
    let mut ring = vec![0u8; slots * len];
    let mut out = vec![0u8; len];
    for y in 0..h {
        let rows = Rows {
            px,
            ring: &ring,
            y,
            h,
            len,
        };
        filter(&rows, &mut out);
        let row = &mut px[y * len..][..len];
        ring[(y % slots) * len..][..len].copy_from_slice(row);
        row.copy_from_slice(&out);
    }
}

fn box_columns(px: &mut [u8], len: usize, h: usize, r: usize) {
    let div = Divide::by(2 * r + 1);
    let mut sums = vec![0u32; len];
    let mut y: isize = 0;
    let ri = r as isize;
    columns_in_place(px, len, h, r, |rows, out| {
        if y == 0 {
            for k in -ri..=ri {
                for (s, &v) in sums.iter_mut().zip(rows.get(k)) {
                    *s += u32::from(v);
                }
            }
        }
        for (o, &s) in out.iter_mut().zip(&sums) {
            *o = div.round(u64::from(s)) as u8;
        }
        let (add, sub) = (rows.get(y + ri + 1), rows.get(y - ri));
        for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
            *s = *s + u32::from(a) - u32::from(b);
        }
        y += 1;
    });
}

fn kernel_columns(px: &mut [u8], len: usize, h: usize, k: &[u32]) {
    let r = (k.len() / 2) as isize;
    let mut acc = vec![0u32; len];
    let mut y: isize = 0;
    columns_in_place(px, len, h, r as usize, |rows, out| {
        acc.fill(32768);
        for (j, &wt) in k.iter().enumerate() {
            for (a, &v) in acc.iter_mut().zip(rows.get(y + j as isize - r)) {
                *a += u32::from(v) * wt;
            }
        }
        for (o, &a) in out.iter_mut().zip(&acc) {
            *o = (a >> 16).min(255) as u8;
        }
        y += 1;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(w: u32, h: u32, c: u8) -> Bitmap {
        let mut pixels = vec![0u8; (w * h) as usize * c as usize];
        let centre = ((h / 2 * w + w / 2) as usize) * c as usize;
        pixels[centre..centre + c as usize].fill(255);
        Bitmap::new(pixels, w, h, c)
    }

    fn sum(img: &Bitmap) -> u64 {
        img.pixels.iter().map(|&v| u64::from(v)).sum()
    }

    #[test]
    fn division_by_multiplying_rounds_like_dividing() {
        for d in [1, 3, 5, 7, 11, 21, 201, 2001] {
            let div = Divide::by(d);
            for sum in (0..(255 << 8) * d as u64)
                .step_by(97)
                .chain([(255 << 8) * d as u64])
            {
                assert_eq!(
                    div.round(sum),
                    (sum + d as u64 / 2) / d as u64,
                    "{sum} / {d}"
                );
            }
        }
    }

    #[test]
    fn box_variances_add_up_to_sigma_squared() {
        for sigma in [2.0, 3.3, 10.0, 50.0] {
            let var: f64 = box_radii(sigma)
                .iter()
                .map(|&r| ((2 * r + 1).pow(2) - 1) as f64 / 12.0)
                .sum();
            assert!((var.sqrt() - sigma).abs() / sigma < 0.15, "{sigma}: {var}");
        }
    }

    #[test]
    fn a_white_dot_spreads_symmetrically() {
        for (sigma, c) in [(0.8, 1), (1.5, 3), (3.0, 4)] {
            let mut img = dot(64, 48, c);
            gaussian(&mut img, sigma);
            let c = c as usize;
            let centre = (24 * 64 + 32) * c;
            let peak = img.pixels[centre];
            assert!(peak < 255 && peak > 0, "sigma {sigma}: peak {peak}");
            let (left, right) = (img.pixels[centre - c], img.pixels[centre + c]);
            let (up, down) = (img.pixels[centre - 64 * c], img.pixels[centre + 64 * c]);
            assert!(right > 0 && right == left && up == down, "sigma {sigma}");
            assert!(up.abs_diff(right) <= 1, "sigma {sigma}: {up} vs {right}");
        }
    }

    #[test]
    fn blurring_keeps_the_energy() {
        for (sigma, c) in [(0.8, 1), (2.5, 3), (6.0, 4)] {
            let mut img = Bitmap::new(vec![0; 64 * 64 * c], 64, 64, c as u8);
            for y in 29..35 {
                img.pixels[(y * 64 + 29) * c..(y * 64 + 35) * c].fill(255);
            }
            let before = sum(&img) as f64;
            gaussian(&mut img, sigma);
            let after = sum(&img) as f64;
            assert!(
                (after - before).abs() < before * 0.03,
                "sigma {sigma}: {after} vs {before}"
            );
            assert!(img.pixels[(32 * 64 + 35) * c] > 0, "sigma {sigma}: spread");
        }
    }

    #[test]
    fn flat_images_stay_flat_and_edges_repeat() {
        let mut img = Bitmap::new(vec![77; 30 * 20 * 3], 30, 20, 3);
        gaussian(&mut img, 5.0);
        assert!(img.pixels.iter().all(|&v| v == 77));
        gaussian(&mut img, 1.0);
        assert!(img.pixels.iter().all(|&v| v == 77));
        // a 1x1 image and a sigma far larger than the image
        let mut one = dot(1, 1, 1);
        gaussian(&mut one, 40.0);
        assert_eq!(one.pixels, vec![255]);
    }
}
