//! Orientation: EXIF orientation 1-8, `rotate` and `flip`, as one transform applied
//! once to the (already shrunk) decoded bitmap.
//!
//! Every combination of 90-degree rotations and mirrorings is "transpose or not, then
//! mirror horizontally or not, then mirror vertically or not", so the three options
//! compose into one [`Transform`] and the pixels move once. Order as imgproxy: EXIF
//! orientation first (unless `auto_rotate:0`), then `rotate` (clockwise), then `flip`.

use super::bitmap::Bitmap;

/// Transpose (swap x and y) first, then mirror left-right, then mirror top-bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Transform {
    pub transpose: bool,
    pub flip_h: bool,
    pub flip_v: bool,
}

impl Transform {
    const fn new(transpose: bool, flip_h: bool, flip_v: bool) -> Transform {
        Transform {
            transpose,
            flip_h,
            flip_v,
        }
    }

    /// What makes a picture stored with EXIF orientation `o` upright.
    pub fn from_exif(o: u8) -> Transform {
        match o {
            2 => Transform::new(false, true, false),
            3 => Transform::new(false, true, true),
            4 => Transform::new(false, false, true),
            5 => Transform::new(true, false, false),
            6 => Transform::new(true, true, false),
            7 => Transform::new(true, true, true),
            8 => Transform::new(true, false, true),
            _ => Transform::default(),
        }
    }

    /// Clockwise rotation by 0, 90, 180 or 270 degrees (others: none).
    pub fn rotate_cw(degrees: u16) -> Transform {
        match degrees {
            90 => Transform::new(true, true, false),
            180 => Transform::new(false, true, true),
            270 => Transform::new(true, false, true),
            _ => Transform::default(),
        }
    }

    pub fn flip(horizontal: bool, vertical: bool) -> Transform {
        Transform::new(false, horizontal, vertical)
    }

    /// `self`, then `next`. A mirror followed by a transpose is the transpose followed
    /// by the other mirror, which moves `next`'s transpose to the front.
    pub fn then(self, next: Transform) -> Transform {
        let (h, v) = if next.transpose {
            (self.flip_v, self.flip_h)
        } else {
            (self.flip_h, self.flip_v)
        };
        Transform::new(
            self.transpose ^ next.transpose,
            h ^ next.flip_h,
            v ^ next.flip_v,
        )
    }

    pub fn oriented_size(self, w: u32, h: u32) -> (u32, u32) {
        if self.transpose { (h, w) } else { (w, h) }
    }

    /// Per-axis values of the oriented picture, expressed along the stored axes.
    pub fn stored_axes(self, x: f64, y: f64) -> (f64, f64) {
        if self.transpose { (y, x) } else { (x, y) }
    }

    pub fn is_identity(self) -> bool {
        self == Transform::default()
    }
}

/// Moves the pixels: one pass, output row by output row.
pub fn apply(img: Bitmap, t: Transform) -> Bitmap {
    if t.is_identity() {
        return img;
    }
    let c = img.channels as usize;
    let (sw, sh) = (img.width as usize, img.height as usize);
    let (ow, oh) = if t.transpose { (sh, sw) } else { (sw, sh) };
    let mut out = vec![0u8; img.pixels.len()];
    for (y, row) in out.chunks_exact_mut(ow * c).enumerate() {
        // undo the mirrors, then the transpose, to find the source pixel
        let ty = if t.flip_v { oh - 1 - y } else { y };
        for x in 0..ow {
            let tx = if t.flip_h { ow - 1 - x } else { x };
            let (sx, sy) = if t.transpose { (ty, tx) } else { (tx, ty) };
            let s = (sy * sw + sx) * c;
            row[x * c..x * c + c].copy_from_slice(&img.pixels[s..s + c]);
        }
    }
    Bitmap {
        pixels: out,
        width: ow as u32,
        height: oh as u32,
        channels: img.channels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3x2 grey picture with distinct values: 1 2 3 / 4 5 6.
    fn sample() -> Bitmap {
        Bitmap {
            pixels: vec![1, 2, 3, 4, 5, 6],
            width: 3,
            height: 2,
            channels: 1,
        }
    }

    #[test]
    fn exif_orientations() {
        // The upright picture is `sample`; each stored variant must come back to it.
        let upright = sample();
        let stored: [(u8, u32, u32, Vec<u8>); 8] = [
            (1, 3, 2, vec![1, 2, 3, 4, 5, 6]),
            (2, 3, 2, vec![3, 2, 1, 6, 5, 4]),
            (3, 3, 2, vec![6, 5, 4, 3, 2, 1]),
            (4, 3, 2, vec![4, 5, 6, 1, 2, 3]),
            (5, 2, 3, vec![1, 4, 2, 5, 3, 6]),
            (6, 2, 3, vec![3, 6, 2, 5, 1, 4]),
            (7, 2, 3, vec![6, 3, 5, 2, 4, 1]),
            (8, 2, 3, vec![4, 1, 5, 2, 6, 3]),
        ];
        for (o, w, h, pixels) in stored {
            let img = Bitmap {
                pixels,
                width: w,
                height: h,
                channels: 1,
            };
            assert_eq!(
                apply(img, Transform::from_exif(o)),
                upright,
                "orientation {o}"
            );
        }
    }

    #[test]
    fn rotation_and_composition() {
        let r90 = apply(sample(), Transform::rotate_cw(90));
        assert_eq!((r90.width, r90.height), (2, 3));
        assert_eq!(r90.pixels, vec![4, 1, 5, 2, 6, 3]);
        // four quarter turns = identity; two = 180
        let q = Transform::rotate_cw(90);
        assert!(q.then(q).then(q).then(q).is_identity());
        assert_eq!(q.then(q), Transform::rotate_cw(180));
        assert_eq!(q.then(q).then(q), Transform::rotate_cw(270));
        // composing equals applying one after the other
        for a in 1..=8 {
            for (deg, fh, fv) in [(90, false, false), (0, true, false), (270, false, true)] {
                let b = Transform::rotate_cw(deg).then(Transform::flip(fh, fv));
                let once = apply(sample(), Transform::from_exif(a).then(b));
                let twice = apply(apply(sample(), Transform::from_exif(a)), b);
                assert_eq!(once, twice, "exif {a} then rot {deg} flip {fh}/{fv}");
            }
        }
    }

    #[test]
    fn multi_channel_pixels_move_whole() {
        let img = Bitmap {
            pixels: vec![1, 1, 1, 2, 2, 2],
            width: 2,
            height: 1,
            channels: 3,
        };
        let out = apply(img, Transform::flip(true, false));
        assert_eq!(out.pixels, vec![2, 2, 2, 1, 1, 1]);
    }
}
