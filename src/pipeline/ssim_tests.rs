//! Quality of shrink-on-load: a thumbnail made from the DCT-scaled decode must match a
//! full-resolution decode + Lanczos3 reference with mean SSIM >= 0.98 (issue 4).

use super::*;

/// Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03) on
/// BT.601 luma of two same-sized bitmaps; the study's `bench/codecs/src/ssim.rs`.
fn ssim(a: &Bitmap, b: &Bitmap) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let luma = |m: &Bitmap| -> Vec<f32> {
        let c = m.channels as usize;
        m.pixels
            .chunks_exact(c)
            .map(|p| {
                if c >= 3 {
                    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
                } else {
                    p[0] as f32
                }
            })
            .collect()
    };
    let (w, h) = (a.width as usize, a.height as usize);
    let k: Vec<f32> = {
        let k: Vec<f32> = (-5..=5)
            .map(|i: i32| (-((i * i) as f32) / 4.5).exp())
            .collect();
        let sum: f32 = k.iter().sum();
        k.iter().map(|v| v / sum).collect()
    };
    let blur = |src: &[f32]| -> Vec<f32> {
        let (ow, oh) = (w - 10, h - 10);
        let mut tmp = vec![0f32; ow * h];
        for y in 0..h {
            for x in 0..ow {
                tmp[y * ow + x] = k
                    .iter()
                    .enumerate()
                    .map(|(i, kv)| kv * src[y * w + x + i])
                    .sum();
            }
        }
        let mut out = vec![0f32; ow * oh];
        for y in 0..oh {
            for x in 0..ow {
                out[y * ow + x] = k
                    .iter()
                    .enumerate()
                    .map(|(i, kv)| kv * tmp[(y + i) * ow + x])
                    .sum();
            }
        }
        out
    };
    let (x, y) = (luma(a), luma(b));
    let mul = |p: &[f32], q: &[f32]| -> Vec<f32> { p.iter().zip(q).map(|(a, b)| a * b).collect() };
    let (mx, my) = (blur(&x), blur(&y));
    let (sxx, syy, sxy) = (blur(&mul(&x, &x)), blur(&mul(&y, &y)), blur(&mul(&x, &y)));
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut total = 0f64;
    for i in 0..mx.len() {
        let (mx, my) = (mx[i] as f64, my[i] as f64);
        let vx = sxx[i] as f64 - mx * mx;
        let vy = syy[i] as f64 - my * my;
        let cxy = sxy[i] as f64 - mx * my;
        total +=
            ((2.0 * mx * my + c1) * (2.0 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
    total / mx.len() as f64
}

#[test]
fn shrink_on_load_matches_a_full_decode_reference() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let big = root.join("../shared/bench-images/photo-12mp.jpg");
    let path = if big.is_file() {
        big
    } else {
        println!(
            "note: {} missing; using the small fixture photo",
            big.display()
        );
        root.join("tests/fixtures/photo.jpg")
    };
    let bytes = std::fs::read(&path).unwrap();
    let p = probe::probe(&bytes, u64::MAX).unwrap();
    let opts = ProcessingOptions {
        width: 300,
        height: 300,
        ..ProcessingOptions::default()
    };
    let plan = plan::plan(p.width, p.height, &opts);
    let algo = opts.resizing_algorithm;

    let small = decode::decode(&bytes, &p, plan.scale_x, plan.scale_y).unwrap();
    assert!(
        small.width < p.width,
        "shrink-on-load was used ({}px)",
        small.width
    );
    let thumb = resize::apply(small, &plan, p.width, p.height, algo).unwrap();
    let full = decode_full(&bytes, &p).unwrap();
    let reference = resize::apply(full, &plan, p.width, p.height, algo).unwrap();

    let score = ssim(&thumb, &reference);
    println!(
        "{}: SSIM {score:.4} ({}x{})",
        path.display(),
        thumb.width,
        thumb.height
    );
    assert!(score >= 0.98, "SSIM {score}");
}
