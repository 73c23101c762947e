//! Pixelate (`pixelate`/`pix`): blocks of `size` x `size` pixels, each the mean of
//! its block, aligned to the top-left corner. As in imgproxy's `vips_apply_filters`:
//! the size is capped at the image's longer side, and the image is extended to whole
//! blocks with its mirror image (`VIPS_EXTEND_MIRROR`) before the shrink and zoom, so
//! a partial block at the right or bottom averages its pixels with their reflection.
//! Reflected pixels are counted by weight, not visited, so the cost stays O(pixels).

use super::super::bitmap::Bitmap;

pub fn apply(img: &mut Bitmap, size: u32) {
    let (w, h, c) = (
        img.width as usize,
        img.height as usize,
        img.channels as usize,
    );
    let p = (size as usize).min(w.max(h));
    if p <= 1 || w == 0 || h == 0 {
        return;
    }
    let (extra_x, extra_y) = (mirrored(w, p), mirrored(h, p));
    let (blocks_x, blocks_y) = (w.div_ceil(p), h.div_ceil(p));
    let last_x = (blocks_x - 1) * c;
    let area = (p * p) as u64;
    let stride = w * c;
    // each pixel counts in its own block, and its reflections in the last one
    let add_row = |sums: &mut [u64], row: &[u8], weight: u64| {
        for (x, px) in row.chunks_exact(c).enumerate() {
            for (s, &v) in sums[(x / p) * c..][..c].iter_mut().zip(px) {
                *s += u64::from(v) * weight;
            }
            let copies = extra_x[x] * weight;
            if copies > 0 {
                for (s, &v) in sums[last_x..][..c].iter_mut().zip(px) {
                    *s += u64::from(v) * copies;
                }
            }
        }
    };
    let mut sums = vec![0u64; blocks_x * c];
    for by in 0..blocks_y {
        let (top, bottom) = (by * p, ((by + 1) * p).min(h));
        sums.fill(0);
        for y in top..bottom {
            add_row(&mut sums, &img.pixels[y * stride..][..stride], 1);
        }
        if by == blocks_y - 1 {
            for (y, &copies) in extra_y.iter().enumerate().filter(|(_, c)| **c > 0) {
                add_row(&mut sums, &img.pixels[y * stride..][..stride], copies);
            }
        }
        for y in top..bottom {
            let row = &mut img.pixels[y * stride..][..stride];
            for (x, px) in row.chunks_exact_mut(c).enumerate() {
                for (v, &s) in px.iter_mut().zip(&sums[(x / p) * c..][..c]) {
                    *v = ((s + area / 2) / area) as u8;
                }
            }
        }
    }
}

/// How many times each of `n` pixels appears in the mirrored padding that makes `n`
/// a whole number of blocks of `p` (a reflection repeating the edge pixel, periodic
/// over `2n`, as libvips' embed mirrors).
fn mirrored(n: usize, p: usize) -> Vec<u64> {
    let mut copies = vec![0u64; n];
    let period = 2 * n;
    for x in n..n.div_ceil(p) * p {
        let r = x % period;
        copies[if r < n { r } else { period - 1 - r }] += 1;
    }
    copies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_uniform_means() {
        // 5x3 ramp, blocks of 2: columns 0-1, 2-3, 4(+its reflection); rows 0-1, 2(+)
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
    fn reflections_wrap_and_the_size_is_capped() {
        assert_eq!(mirrored(5, 2), vec![0, 0, 0, 0, 1]);
        assert_eq!(mirrored(2, 4), vec![1, 1]);
        assert_eq!(mirrored(2, 8), vec![3, 3]);
        // a 2x1 image: the block is capped at 2, the row reflected: mean of 0 and 255
        let mut img = Bitmap::new(vec![0, 0, 0, 255, 255, 255], 2, 1, 3);
        apply(&mut img, 16_384);
        assert_eq!(img.pixels, vec![128; 6]);
    }
}
