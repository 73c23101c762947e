//! AVIF output through ravif (rav1e, pure Rust with nasm assembly): still images,
//! YCbCr at ravif's default 10-bit depth (smaller files than 8-bit even from 8-bit
//! input, and every AVIF-capable browser decodes it), alpha kept when the bitmap has it.
//!
//! Speed 8 of rav1e's 1-10 presets: AVIF is the slowest format to write by far, and a
//! thumbnail server pays it on every miss. The codec study (docs/codecs.md, E2) measured
//! speed 8 at 46 ms of encoding for a 300 px thumbnail against 56 ms at speed 6 for
//! the same bytes (+0.6 %), and both well under libvips/aom's cost. No rav1e threads:
//! one job runs on one worker, and the pool already keeps every core busy.

use ravif::{Encoder, Img, RGB8, RGBA8};

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;

const SPEED: u8 = 8;

/// rav1e's largest frame is 2^16 px a side; AVIF tiles are not used for stills.
const MAX_SIDE: u32 = 65_535;

pub fn encode(img: &Bitmap, quality: u8) -> Result<Vec<u8>, PipelineError> {
    if img.width > MAX_SIDE || img.height > MAX_SIDE {
        return Err(PipelineError::TooLarge(format!(
            "{}x{} is larger than AVIF's {MAX_SIDE} px a side",
            img.width, img.height
        )));
    }
    let (w, h) = (img.width as usize, img.height as usize);
    let encoder = Encoder::new()
        .with_quality(f32::from(quality.clamp(1, 100)))
        .with_alpha_quality(f32::from(quality.clamp(1, 100)))
        .with_speed(SPEED)
        .with_num_threads(Some(1));
    let px = &img.pixels;
    let encoded = match img.channels {
        4 => {
            let rgba: Vec<RGBA8> = px
                .chunks_exact(4)
                .map(|p| RGBA8::new(p[0], p[1], p[2], p[3]))
                .collect();
            encoder.encode_rgba(Img::new(&rgba[..], w, h))
        }
        3 => {
            let rgb: Vec<RGB8> = px
                .chunks_exact(3)
                .map(|p| RGB8::new(p[0], p[1], p[2]))
                .collect();
            encoder.encode_rgb(Img::new(&rgb[..], w, h))
        }
        2 => {
            let rgba: Vec<RGBA8> = px
                .chunks_exact(2)
                .map(|p| RGBA8::new(p[0], p[0], p[0], p[1]))
                .collect();
            encoder.encode_rgba(Img::new(&rgba[..], w, h))
        }
        1 => {
            let rgb: Vec<RGB8> = px.iter().map(|&g| RGB8::new(g, g, g)).collect();
            encoder.encode_rgb(Img::new(&rgb[..], w, h))
        }
        n => return Err(PipelineError::Encode(format!("{n}-channel AVIF output"))),
    };
    encoded
        .map(|e| e.avif_file)
        .map_err(|e| PipelineError::Encode(format!("AVIF: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(w: u32, h: u32, channels: u8) -> Bitmap {
        let pixels = (0..w * h * u32::from(channels))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        Bitmap {
            pixels,
            width: w,
            height: h,
            channels,
        }
    }

    #[test]
    fn writes_an_avif_container_for_every_channel_count() {
        for channels in 1..=4 {
            let out = encode(&bitmap(33, 17, channels), 60).unwrap();
            // ISO-BMFF: a `ftyp` box with the `avif` brand first
            assert_eq!(&out[4..12], b"ftypavif", "{channels} channels");
        }
    }

    #[test]
    fn quality_changes_the_size() {
        let img = bitmap(64, 64, 3);
        let low = encode(&img, 20).unwrap().len();
        let high = encode(&img, 95).unwrap().len();
        assert!(low < high, "{low} vs {high}");
    }
}
