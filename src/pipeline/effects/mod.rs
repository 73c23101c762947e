//! The filters imgproxy applies to the resized image, in its order (libvips'
//! `vips_apply_filters` as imgproxy calls it): `blur`, then `sharpen`, then
//! `pixelate`. They run after the resize and before extend/padding, so a padded
//! border is never blurred (imgproxy's pipeline: `applyFilters` precedes `extend`).
//!
//! All work in place on the 8-bit bitmap, each channel alone. With alpha and a blur or
//! sharpen, the colour is premultiplied first and divided back after (as imgproxy's
//! `vips_apply_filters` does, pixelate alone excepted), so the colour of transparent
//! pixels, often black, does not bleed into soft edges; in 8 bits that quantises the
//! colour of nearly transparent pixels, where it hardly shows. Each pass is O(pixels); no allocation per pixel, at
//! most a few rows and, for sharpen, two one-byte-per-pixel lightness planes.

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
    if !any(po) {
        return;
    }
    let alpha = img.has_alpha() && (po.blur > 0.0 || po.sharpen > 0.0);
    if alpha {
        premultiply(img);
    }
    if po.blur > 0.0 {
        blur::gaussian(img, po.blur);
    }
    if po.sharpen > 0.0 {
        sharpen::apply(img, po.sharpen);
    }
    if po.pixelate > 1 {
        pixelate::apply(img, po.pixelate);
    }
    if alpha {
        unpremultiply(img);
    }
}

fn premultiply(img: &mut Bitmap) {
    let c = img.channels as usize;
    for px in img.pixels.chunks_exact_mut(c) {
        let a = u32::from(px[c - 1]);
        for v in &mut px[..c - 1] {
            *v = ((u32::from(*v) * a + 127) / 255) as u8;
        }
    }
}

fn unpremultiply(img: &mut Bitmap) {
    let c = img.channels as usize;
    for px in img.pixels.chunks_exact_mut(c) {
        let a = u32::from(px[c - 1]);
        for v in &mut px[..c - 1] {
            *v = match a {
                0 => 0,
                a => ((u32::from(*v) * 255 + a / 2) / a).min(255) as u8,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_black_does_not_darken_a_blurred_edge() {
        // left half opaque red, right half transparent black
        let pixels = (0..16 * 4)
            .flat_map(|i| if i % 16 < 8 { [255, 0, 0, 255] } else { [0; 4] })
            .collect();
        let mut img = Bitmap::new(pixels, 16, 4, 4);
        let po = ProcessingOptions {
            blur: 1.5,
            ..Default::default()
        };
        apply(&mut img, &po);
        let edge = &img.pixels[(16 + 9) * 4..][..4];
        assert!(edge[3] > 0 && edge[3] < 128, "{edge:?}");
        assert!(edge[0] >= 250 && edge[1] <= 5 && edge[2] <= 5, "{edge:?}");
        let inside = &img.pixels[(16 + 2) * 4..][..4];
        assert_eq!(inside, &[255, 0, 0, 255]);
    }
}

#[cfg(test)]
mod cost {
    use super::*;

    /// This thread's CPU time: the machine is shared, wall time would count the others.
    fn cpu_ms() -> f64 {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid out-pointer for clock_gettime.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
    }

    /// CPU cost of each filter on a 12 MP RGB image; run with
    /// `CARGO_PROFILE_DEV_OPT_LEVEL=2 cargo test --lib effects::cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing, not a check"]
    fn twelve_megapixels() {
        let (w, h) = (4000u32, 3000u32);
        let mut x: u32 = 1;
        let pixels: Vec<u8> = (0..w * h * 3)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((i / 3 % w) as u8 / 2).wrapping_add((x >> 28) as u8)
            })
            .collect();
        let img = Bitmap::new(pixels, w, h, 3);
        for opts in [
            "bl:0.8", "bl:1.5", "bl:2", "bl:10", "bl:100", "sh:1.5", "pix:16",
        ] {
            let segments: Vec<&str> = opts.split('/').collect();
            let po = crate::options::parse(&segments, &crate::options::Presets::empty()).unwrap();
            let mut copy = img.clone();
            let t = cpu_ms();
            apply(&mut copy, &po);
            println!("{opts}: {:.0} ms CPU on {w}x{h} RGB", cpu_ms() - t);
        }
    }
}
