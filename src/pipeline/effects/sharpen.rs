//! Sharpen (`sharpen`/`sh`): an unsharp mask shaped like libvips' `sharpen` with the
//! defaults imgproxy uses (x1 = 2, y2 = 10, y3 = 20, m1 = 0, m2 = 3).
//!
//! libvips sharpens L* of LAB only; this sharpens each colour channel of the sRGB
//! pixels with the same curve, its L* units taken as 2.55 levels (a deviation: on
//! saturated edges the hue may shift slightly, where libvips only changes lightness).
//! The curve: differences from the blurred image up to x1 are ignored (flat areas and
//! noise stay as they are), larger ones are amplified by m2 and the change is capped
//! at y2 brighter and y3 darker (no halos beyond that). Alpha is left alone.

use super::super::bitmap::Bitmap;
use super::blur;

/// The curve's constants in 8-bit levels (L* units x 2.55, rounded).
const X1: i32 = 5;
const Y2: i32 = 26;
const Y3: i32 = 51;
const M2: i32 = 3;

pub fn apply(img: &mut Bitmap, sigma: f32) {
    let mut blurred = img.clone();
    blur::gaussian(&mut blurred, sigma);
    let c = img.channels as usize;
    let colour = if img.has_alpha() { c - 1 } else { c };
    for (p, b) in img
        .pixels
        .chunks_exact_mut(c)
        .zip(blurred.pixels.chunks_exact(c))
    {
        for (v, &s) in p[..colour].iter_mut().zip(&b[..colour]) {
            *v = sharpened(*v, s);
        }
    }
}

fn sharpened(v: u8, blurred: u8) -> u8 {
    let d = i32::from(v) - i32::from(blurred);
    let change = if d > X1 {
        (M2 * (d - X1)).min(Y2)
    } else if d < -X1 {
        (M2 * (d + X1)).max(-Y3)
    } else {
        0
    };
    (i32::from(v) + change).clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_gets_steeper_and_flat_areas_stay() {
        // a vertical edge: 100 | 160
        let w = 16;
        let pixels: Vec<u8> = (0..w * 8)
            .map(|i| if i % w < w / 2 { 100 } else { 160 })
            .collect();
        let mut img = Bitmap::new(pixels, w as u32, 8, 1);
        apply(&mut img, 1.0);
        let row = &img.pixels[3 * w..4 * w];
        assert_eq!(row[0], 100, "flat area untouched");
        assert_eq!(row[w - 1], 160, "flat area untouched");
        assert!(row[w / 2 - 1] < 100, "dark side darker: {row:?}");
        assert!(row[w / 2] > 160, "bright side brighter: {row:?}");
        assert!(row[w / 2] <= 160 + Y2 as u8 && row[w / 2 - 1] >= 100 - Y3 as u8);
    }

    #[test]
    fn the_curve() {
        assert_eq!(sharpened(100, 97), 100);
        assert_eq!(sharpened(100, 90), 115);
        assert_eq!(sharpened(100, 0), 126);
        assert_eq!(sharpened(100, 110), 85);
        assert_eq!(sharpened(100, 255), 49);
        assert_eq!(sharpened(250, 200), 255);
    }
}
