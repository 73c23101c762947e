//! [`Bitmap`]: the pixels passed between pipeline steps.

/// Interleaved 8-bit pixels: `channels` is 1 (grey), 2 (grey+alpha), 3 (RGB) or 4
/// (RGBA); alpha is straight (not premultiplied) between steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
}

impl Bitmap {
    pub fn new(pixels: Vec<u8>, width: u32, height: u32, channels: u8) -> Bitmap {
        Bitmap {
            pixels,
            width,
            height,
            channels,
        }
    }

    pub fn has_alpha(&self) -> bool {
        self.channels == 2 || self.channels == 4
    }

    /// Whether the buffer holds exactly `width * height * channels` bytes.
    pub fn is_consistent(&self) -> bool {
        (1..=4).contains(&self.channels)
            && self.pixels.len()
                == self.width as usize * self.height as usize * self.channels as usize
    }
}

impl Bitmap {
    /// `self` placed at (`left`, `top`) on a `width` x `height` canvas of transparent
    /// black, with an alpha channel added if it had none: what libvips' `embed` does for
    /// imgproxy's extend and padding. The canvas is flattened onto `background` later,
    /// like any alpha, so it comes out as `bg`, white (JPEG) or transparent (PNG/WebP
    /// without `bg`). Parts of `self` outside the canvas are cut.
    pub fn embed(&self, width: u32, height: u32, left: u32, top: u32) -> Bitmap {
        let src_c = self.channels as usize;
        let c = if self.has_alpha() { src_c } else { src_c + 1 };
        let (w, h) = (width as usize, height as usize);
        let mut pixels = vec![0u8; w * h * c];
        let (left, top) = (left as usize, top as usize);
        let cols = (self.width as usize).min(w.saturating_sub(left));
        let rows = (self.height as usize).min(h.saturating_sub(top));
        let src_stride = self.width as usize * src_c;
        for y in 0..rows {
            let src = &self.pixels[y * src_stride..][..cols * src_c];
            let dst = &mut pixels[((top + y) * w + left) * c..][..cols * c];
            if c == src_c {
                dst.copy_from_slice(src);
            } else {
                for (d, s) in dst.chunks_exact_mut(c).zip(src.chunks_exact(src_c)) {
                    d[..src_c].copy_from_slice(s);
                    d[src_c] = 255;
                }
            }
        }
        Bitmap::new(pixels, width, height, c as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_adds_alpha_and_places_the_image() {
        let img = Bitmap::new(vec![10, 20, 30, 40, 50, 60], 2, 1, 3);
        let out = img.embed(3, 2, 1, 1);
        assert_eq!((out.width, out.height, out.channels), (3, 2, 4));
        assert!(out.is_consistent());
        assert_eq!(&out.pixels[..12], &[0; 12]);
        assert_eq!(&out.pixels[12..16], &[0, 0, 0, 0]);
        assert_eq!(&out.pixels[16..], &[10, 20, 30, 255, 40, 50, 60, 255]);
    }
}
