//! `max_bytes`/`mb`: encode, and while the result is over the limit, encode again at a
//! lower quality (imgproxy's `saveImageToFitBytes`): the quality drops to a quarter
//! when the result is over 3x the limit, to half over 1.5x, else to three quarters,
//! always by at least 1; at quality 10 or below the last result is returned even if
//! it is still too large (imgproxy's floor: a worse image is not worth less bytes).
//! Only lossy outputs (JPEG, WebP) are re-encoded; PNG ignores the option, as in
//! imgproxy (whose list is jpg, webp, avif, heic, tiff).

use super::bitmap::Bitmap;
use super::encode;
use super::error::PipelineError;
use crate::options::{OutputFormat, WebpCompression};

const FLOOR: u8 = 10;

pub fn encode(
    img: &Bitmap,
    format: OutputFormat,
    quality: u8,
    max_bytes: u64,
    webp: WebpCompression,
) -> Result<Vec<u8>, PipelineError> {
    fit(lossy(format, webp), quality, max_bytes, |q| {
        encode::encode_with(img, format, q, webp)
    })
}

/// Whether a lower quality makes a smaller file: JPEG and lossy WebP (lossless
/// WebP's quality is its effort; imgproxy's list has no PNG or GIF either).
pub fn lossy(format: OutputFormat, webp: WebpCompression) -> bool {
    match format {
        OutputFormat::Jpeg => true,
        OutputFormat::Webp => webp == WebpCompression::Lossy,
        _ => false,
    }
}

/// The loop itself, around any encoding at a given quality (the animation step
/// re-runs its whole frame loop per attempt; each attempt's output is dropped
/// before the next).
pub fn fit(
    lossy: bool,
    quality: u8,
    max_bytes: u64,
    mut attempt: impl FnMut(u8) -> Result<Vec<u8>, PipelineError>,
) -> Result<Vec<u8>, PipelineError> {
    let mut quality = quality;
    loop {
        let out = attempt(quality)?;
        let size = out.len() as u64;
        if !lossy || max_bytes == 0 || size <= max_bytes || quality <= FLOOR {
            return Ok(out);
        }
        quality = lower(quality, size as f64 / max_bytes as f64);
    }
}

fn lower(quality: u8, over: f64) -> u8 {
    let factor = if over > 3.0 {
        0.25
    } else if over > 1.5 {
        0.5
    } else {
        0.75
    };
    let scaled = (f64::from(quality) * factor).round() as u8;
    scaled.min(quality - 1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(w: u32, h: u32) -> Bitmap {
        let mut x: u32 = 12345;
        let pixels = (0..w * h * 3)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        Bitmap::new(pixels, w, h, 3)
    }

    #[test]
    fn lowers_quality_until_it_fits() {
        let img = noise(96, 96);
        for format in [OutputFormat::Jpeg, OutputFormat::Webp] {
            let full = encode(&img, format, 90, 0, WebpCompression::Lossy).unwrap();
            let limit = full.len() as u64 / 2;
            let out = encode(&img, format, 90, limit, WebpCompression::Lossy).unwrap();
            assert!(
                out.len() as u64 <= limit,
                "{format:?}: {} > {limit}",
                out.len()
            );
            // an impossible limit stops at the floor with a result
            let out = encode(&img, format, 90, 10, WebpCompression::Lossy).unwrap();
            assert!(!out.is_empty() && out.len() < full.len());
        }
        // PNG is lossless: unchanged
        let png = encode(&img, OutputFormat::Png, 90, 10, WebpCompression::Lossy).unwrap();
        assert_eq!(
            png,
            encode(&img, OutputFormat::Png, 90, 0, WebpCompression::Lossy).unwrap()
        );
    }

    #[test]
    fn quality_steps() {
        assert_eq!(lower(80, 4.0), 20);
        assert_eq!(lower(80, 2.0), 40);
        assert_eq!(lower(80, 1.1), 60);
        assert_eq!(lower(2, 1.1), 1);
        assert_eq!(lower(11, 4.0), 3);
    }
}
