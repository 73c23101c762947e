//! Pixelate (`pixelate`/`pix`): blocks of `size` x `size` pixels, each the mean of
//! its block, aligned to the top-left corner. As in imgproxy (libvips shrink then
//! zoom on the image extended with copies of its edge to whole blocks), a partial
//! block at the right or bottom edge averages its pixels with those edge copies, so
//! the edge row/column weighs more. Edge copies are counted by weight, not visited,
//! so a block far larger than the image costs no more than the image.

use super::super::bitmap::Bitmap;

pub fn apply(img: &mut Bitmap, size: u32) {
    let (w, h, c) = (
        img.width as usize,
        img.height as usize,
        img.channels as usize,
    );
    let p = size as usize;
    if p <= 1 || w == 0 || h == 0 {
        return;
    }
    let blocks_x = w.div_ceil(p);
    // how many times column x counts in its block (the last one stands for its copies)
    let weight = |i: usize, n: usize, blocks: usize| -> u64 {
        if i == n - 1 {
            (blocks * p - (n - 1)) as u64
        } else {
            1
        }
    };
    let area = (p * p) as u64;
    let stride = w * c;
    let mut sums = vec![0u64; blocks_x * c];
    for top in (0..h).step_by(p) {
        let bottom = (top + p).min(h);
        sums.fill(0);
        for y in top..bottom {
            let wy = weight(y, h, h.div_ceil(p));
            let row = &img.pixels[y * stride..][..stride];
            for (x, px) in row.chunks_exact(c).enumerate() {
                let wt = wy * weight(x, w, blocks_x);
                let s = &mut sums[(x / p) * c..][..c];
                for (s, &v) in s.iter_mut().zip(px) {
                    *s += u64::from(v) * wt;
                }
            }
        }
        for y in top..bottom {
            let row = &mut img.pixels[y * stride..][..stride];
            for (x, px) in row.chunks_exact_mut(c).enumerate() {
                let s = &sums[(x / p) * c..][..c];
                for (v, &s) in px.iter_mut().zip(s) {
                    *v = ((s + area / 2) / area) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_uniform_means() {
        // 5x3 ramp, blocks of 2: columns 0-1, 2-3, 4(+copy); rows 0-1, 2(+copy)
        let pixels: Vec<u8> = (0..15).map(|i| (i * 10) as u8).collect();
        let mut img = Bitmap::new(pixels, 5, 3, 1);
        apply(&mut img, 2);
        // block (0,0): 0,10,50,60 -> 30
        assert_eq!(&img.pixels[0..2], &[30, 30]);
        assert_eq!(&img.pixels[5..7], &[30, 30]);
        // block (2,0): 40,40,90,90 -> 65
        assert_eq!((img.pixels[4], img.pixels[9]), (65, 65));
        // block (2,1): 140 four times -> 140
        assert_eq!(img.pixels[14], 140);
        // block (0,1): 100,110 twice -> 105
        assert_eq!(&img.pixels[10..12], &[105, 105]);
    }

    #[test]
    fn a_block_larger_than_the_image_is_its_mean() {
        let mut img = Bitmap::new(vec![0, 0, 0, 255, 255, 255], 2, 1, 3);
        apply(&mut img, 16_384);
        // the last column stands for 16383 copies: nearly all 255
        assert!(img.pixels.iter().all(|&v| v == 255));
        assert!(img.pixels.chunks(3).all(|p| p == img.pixels[..3].to_vec()));
    }
}
