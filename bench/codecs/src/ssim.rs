//! Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03)
//! on BT.601 luma of two same-sized 8-bit RGB(A)/grey bitmaps.

use crate::pipeline_proto::Bitmap;

fn luma(b: &Bitmap) -> Vec<f32> {
    let c = b.channels as usize;
    b.pixels
        .chunks_exact(c)
        .map(|p| {
            if c >= 3 {
                0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
            } else {
                p[0] as f32
            }
        })
        .collect()
}

fn blur(src: &[f32], w: usize, h: usize, k: &[f32]) -> (Vec<f32>, usize, usize) {
    let r = k.len() / 2;
    let (ow, oh) = (w - 2 * r, h - 2 * r);
    let mut tmp = vec![0f32; ow * h];
    for y in 0..h {
        for x in 0..ow {
            let mut s = 0.0;
            for (i, kv) in k.iter().enumerate() {
                s += kv * src[y * w + x + i];
            }
            tmp[y * ow + x] = s;
        }
    }
    let mut out = vec![0f32; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            let mut s = 0.0;
            for (i, kv) in k.iter().enumerate() {
                s += kv * tmp[(y + i) * ow + x];
            }
            out[y * ow + x] = s;
        }
    }
    (out, ow, oh)
}

/// Mean SSIM over the valid (fully covered) windows. Returns `None` if the sizes
/// differ or the images are smaller than the 11x11 window.
pub fn ssim(a: &Bitmap, b: &Bitmap) -> Option<f64> {
    if (a.width, a.height) != (b.width, b.height) || a.width < 11 || a.height < 11 {
        return None;
    }
    let (w, h) = (a.width as usize, a.height as usize);
    let x = luma(a);
    let y = luma(b);
    let sigma = 1.5f32;
    let mut k: Vec<f32> = (-5..=5)
        .map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    let xx: Vec<f32> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f32> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let (mx, ow, oh) = blur(&x, w, h, &k);
    let (my, _, _) = blur(&y, w, h, &k);
    let (sxx, _, _) = blur(&xx, w, h, &k);
    let (syy, _, _) = blur(&yy, w, h, &k);
    let (sxy, _, _) = blur(&xy, w, h, &k);
    let c1 = (0.01f64 * 255.0).powi(2);
    let c2 = (0.03f64 * 255.0).powi(2);
    let mut total = 0f64;
    for i in 0..ow * oh {
        let (mx, my) = (mx[i] as f64, my[i] as f64);
        let vx = sxx[i] as f64 - mx * mx;
        let vy = syy[i] as f64 - my * my;
        let cxy = sxy[i] as f64 - mx * my;
        total += ((2.0 * mx * my + c1) * (2.0 * cxy + c2))
            / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
    Some(total / (ow * oh) as f64)
}
