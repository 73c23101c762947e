//! Sharpen (`sharpen`/`sh`): an unsharp mask shaped like libvips' `sharpen` with the
//! defaults imgproxy uses (x1 = 2, y2 = 10, y3 = 20, m1 = 0, m2 = 3).
//!
//! libvips sharpens only L* of LAB, so colours keep their hue. Here the lightness is
//! the 8-bit sRGB luma (Rec. 601 weights; like L*, roughly perceptual), its L* units
//! taken as 2.55 levels, and the change found for the luma is added to every colour
//! channel: lightness changes, hue does not. The curve: differences from the blurred
//! luma up to x1 are ignored (flat areas and noise stay as they are), larger ones are
//! amplified by m2, and the change is capped at y2 brighter and y3 darker (no halos
//! beyond that). Alpha is left alone. Only the luma plane is blurred: one byte per
//! pixel, twice, instead of a copy of the image.

use super::super::bitmap::Bitmap;
use super::blur;

/// The curve's constants in 8-bit levels (L* units x 2.55, rounded).
const X1: i32 = 5;
const Y2: i32 = 26;
const Y3: i32 = 51;
const M2: i32 = 3;

pub fn apply(img: &mut Bitmap, sigma: f32) {
    let c = img.channels as usize;
    let colour = if img.has_alpha() { c - 1 } else { c };
    let lightness: Vec<u8> = img
        .pixels
        .chunks_exact(c)
        .map(|p| luma(&p[..colour]))
        .collect();
    let mut blurred = Bitmap::new(lightness, img.width, img.height, 1);
    blur::gaussian(&mut blurred, sigma);
    for (p, &b) in img.pixels.chunks_exact_mut(c).zip(&blurred.pixels) {
        let change = change(luma(&p[..colour]), b);
        if change != 0 {
            for v in &mut p[..colour] {
                *v = (i32::from(*v) + change).clamp(0, 255) as u8;
            }
        }
    }
}

fn luma(colour: &[u8]) -> u8 {
    match *colour {
        [r, g, b] => {
            ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b) + 128) >> 8) as u8
        }
        [grey, ..] => grey,
        [] => 0,
    }
}

/// libvips' sharpen curve (m1 = 0): the change for a pixel of lightness `v` whose
/// blurred lightness is `blurred`.
fn change(v: u8, blurred: u8) -> i32 {
    let d = i32::from(v) - i32::from(blurred);
    if d > X1 {
        (M2 * (d - X1)).min(Y2)
    } else if d < -X1 {
        (M2 * (d + X1)).max(-Y3)
    } else {
        0
    }
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
        assert_eq!(change(100, 97), 0);
        assert_eq!(change(100, 90), 15);
        assert_eq!(change(100, 0), 26);
        assert_eq!(change(100, 110), -15);
        assert_eq!(change(100, 255), -51);
    }

    #[test]
    fn colour_edges_change_lightness_not_hue() {
        // red | dark blue, RGB
        let w = 12;
        let pixels = (0..w * 4)
            .flat_map(|i| {
                if i % w < w / 2 {
                    [200, 40, 40]
                } else {
                    [20, 20, 90]
                }
            })
            .collect();
        let mut img = Bitmap::new(pixels, w as u32, 4, 3);
        apply(&mut img, 1.0);
        let red = &img.pixels[(w + w / 2 - 1) * 3..][..3];
        let blue = &img.pixels[(w + w / 2) * 3..][..3];
        // the same change on every channel: differences between channels are kept
        assert!(
            red[0] > 200 && i32::from(red[0]) - i32::from(red[1]) == 160,
            "{red:?}"
        );
        assert!(blue[2] < 90 && blue[0] == blue[1], "{blue:?}");
        assert_eq!(&img.pixels[..3], &[200, 40, 40], "flat area untouched");
    }
}
