//! The estimated peak memory of one pipeline run, from its plan alone (issue 5 item 3):
//! what a job reserves from the memory budget before it decodes anything.
//!
//! An estimate, deliberately on the high side: under-estimating lets real usage pass
//! the ceiling, over-estimating only costs some concurrency. Bytes per pixel are
//! taken as 4 (RGBA, and CMYK JPEGs decode to 4 channels) for the decoded bitmap, 8
//! for PNG (a 16-bit RGBA row buffer before it is narrowed), 8 for GIF (the canvas
//! and frame 1's own RGBA buffer, at most canvas-sized), 8 for ICO (its PNG entries
//! take the PNG path), 8 for 8-bit TIFF (the page, plus a whole JPEG-compressed strip
//! the codec decodes before copying it) and 12 for 16-bit TIFF (the 16-bit page and
//! its 8-bit copy). AVIF: 10 for 8-bit (dav1d's planes, 3 at 4:4:4, with padding, an
//! alpha plane, the RGBA output) and 14 for 10/12-bit (2-byte samples). SVG: 12 (the
//! canvas and two canvas-sized layers for groups with opacity, masks or filters;
//! deeper nesting can take more). BMP decodes straight into our buffer (4). The terms, all held at
//! once in the worst case:
//!
//! - the source bytes (already in memory while the job runs);
//! - the decoded bitmap at the planned DCT scale (JPEG 1/2, 1/4, 1/8), twice when an
//!   orientation copies it;
//! - the resampler's intermediate (one pass's output, whichever pass is larger);
//! - the resized bitmap, and with blur/sharpen/pixelate two more of its size (the
//!   blur's ring of rows is at most one image; sharpen's two lightness planes and their
//!   ring are under one more: generous, filters are rare and outputs small);
//! - the final canvas (after extend/padding), twice when it is a new buffer, and as
//!   much again for the encoder's buffers and output (`max_bytes` drops each attempt
//!   before the next); for AVIF, rav1e's working frames instead, about 32 bytes per
//!   output pixel plus 12 MB whatever the size; lossless WebP adds 40 bytes per output pixel (measured, see
//!   `LOSSLESS_WEBP_BYTES_PER_PIXEL`).
//!
//! Animations (see `animation`): one source canvas at a time in the decoder's buffers
//! (12 bytes a pixel for GIF, 20 for WebP), one frame through the steps above, and
//! the animated encoder's working buffers plus every frame's encoded bytes
//! (`animation::encoder_bytes`).
//!
//! An embedded ICC profile adds its own bytes (three times over) and about 1.3 MB of
//! transform tables ([`super::icc::working_bytes`]); the conversion itself runs in
//! place, row by row, so no bitmap-sized term.
//!
//! A watermark (`wm`) adds its scaled copy, the resampler's input copy and
//! intermediate, and a
//! colour copy of a grey result ([`super::watermark::working_bytes`]); the blend itself
//! is in place.
//!
//! `trim` decodes at full size and crops into a copy (one more decoded bitmap); the
//! resized size is not known before trimming, so the canvas bound from `prepare` stands
//! for it. `skip_processing` holds only the source and its copy.
//!
//! `docs/memory.md` explains how this feeds the ceiling; the load test (issue 5
//! item 8) is what will calibrate it.

use super::decode::{self, dct_denominator};
use super::probe::SourceFormat;
use super::{Prepared, animation};
use crate::options::OutputFormat;

/// Fixed cost of any job: codec state, row buffers, tables.
const BASE: u64 = 256 * 1024;

pub fn estimate(p: &Prepared, source_len: u64) -> u64 {
    if p.skip {
        return BASE + 2 * source_len;
    }
    let (sw, sh) = (p.probed.width, p.probed.height);
    let (dw, dh, bpp) = match p.probed.format {
        SourceFormat::Jpeg => {
            let d = dct_denominator(sw, sh, p.stored_scale.0, p.stored_scale.1);
            (sw.div_ceil(d), sh.div_ceil(d), 4)
        }
        // the animation step's GIF iterator: undisposed canvas, frame, composite
        SourceFormat::Gif if p.frames > 1 => (sw, sh, 12),
        // libwebp's animation decoder (also frame 1 of a still answer): its canvas and
        // the disposed previous one, a lossless frame's ARGB and alpha, our copy
        SourceFormat::Webp if p.probed.frames > 1 => (sw, sh, 20),
        SourceFormat::Png | SourceFormat::Gif | SourceFormat::Ico => (sw, sh, 8),
        SourceFormat::Tiff if p.probed.bits_per_sample > 8 => (sw, sh, 12),
        SourceFormat::Tiff => (sw, sh, 8),
        SourceFormat::Avif if p.probed.bits_per_sample > 8 => (sw, sh, 14),
        SourceFormat::Avif => (sw, sh, 10),
        SourceFormat::Svg => {
            let (w, h) = decode::svg_size(&p.probed, p.stored_scale.0, p.stored_scale.1);
            (w, h, 12)
        }
        _ => (sw, sh, 4),
    };
    let decoded = u64::from(dw) * u64::from(dh) * bpp;
    let copies = if p.transform.is_identity() { 1 } else { 2 } + u64::from(p.trims);
    let (cw, ch) = (u64::from(p.canvas.0), u64::from(p.canvas.1));
    let (ow, oh) = if p.trims {
        (cw, ch)
    } else {
        (u64::from(p.plan.out_w), u64::from(p.plan.out_h))
    };
    // A two-pass resample holds one pass's output: output width x decoded height, or
    // decoded width x output height, whichever pass comes first. Resizing runs after
    // orienting, so in the oriented axes.
    let (ew, eh) = p.transform.oriented_size(dw, dh);
    let intermediate = (ow * u64::from(eh)).max(u64::from(ew) * oh) * 4;
    let resized = ow * oh * 4;
    let effects = if p.effects { 2 * resized } else { 0 };
    let canvas = cw * ch * 4;
    let grown = if (cw, ch) == (ow, oh) { 0 } else { canvas };
    let lossless = if p.lossless {
        cw * ch * LOSSLESS_WEBP_BYTES_PER_PIXEL
    } else {
        0
    };
    // rav1e holds the frame as 16-bit YUV planes plus its reconstruction, analysis and
    // lookahead copies: measured (docs/codecs.md) under 32 bytes per output pixel.
    let encoder = match p.format {
        OutputFormat::Avif => AVIF_ENCODER_BASE + cw * ch * AVIF_BYTES_PER_PIXEL,
        f if p.frames > 1 => canvas + animation::encoder_bytes(f, p.frames, cw * ch),
        _ => canvas,
    } + lossless;
    let icc = super::icc::working_bytes(p.icc.as_ref().map_or(0, Vec::len));
    let watermark = p.watermark.as_ref().map_or(0, |wm| {
        super::watermark::working_bytes(wm, &p.watermark_opts, p.canvas)
    });
    BASE + source_len
        + p.decoder_buffers
        + decoded * copies
        + intermediate
        + resized
        + effects
        + grown
        + encoder
        + icc
        + watermark
}

/// rav1e's working memory per output pixel, rounded up (see `estimate`).
const AVIF_BYTES_PER_PIXEL: u64 = 32;

/// rav1e's working memory whatever the frame size (its tables and per-thread context):
/// a 400x300 AVIF took 13 MB of RSS in a fresh process where the per-pixel term gives
/// under 4 MB (docs/memory.md, "Allocator and threads"); rounded up.
const AVIF_ENCODER_BASE: u64 = 12 << 20;

/// What libwebp's lossless (and near-lossless) encoder holds beyond lossy's, per
/// output pixel: its ARGB copy, hash chains, backward references and histograms.
/// Measured with `examples/peak_rss.rs`: 1200x800 lossless took 33.5 MB of RSS where
/// lossy took 5.9 MB, ~29 bytes a pixel more; rounded up.
const LOSSLESS_WEBP_BYTES_PER_PIXEL: u64 = 40;

#[cfg(test)]
mod tests {
    use crate::options::{OutputFormat, ProcessingOptions};
    use crate::pipeline::{Bitmap, Settings, encode, prepare};

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = Bitmap {
            pixels: vec![128; (w * h * 3) as usize],
            width: w,
            height: h,
            channels: 3,
        };
        encode::encode(&img, OutputFormat::Jpeg, 80).unwrap()
    }

    #[test]
    fn shrink_on_load_shrinks_the_estimate() {
        let src = jpeg(1600, 1200);
        let small = ProcessingOptions {
            width: 100,
            ..Default::default()
        };
        let full = ProcessingOptions::default();
        let s = Settings::default();
        let a = prepare(&src, &small, None, &s)
            .unwrap()
            .peak_bytes(src.len());
        let b = prepare(&src, &full, None, &s)
            .unwrap()
            .peak_bytes(src.len());
        // 1/8 decode: 200x150x4 = 120 kB of pixels, vs 7.7 MB at full size
        assert!(a < 2 * 1024 * 1024, "{a}");
        assert!(b > 1600 * 1200 * 4, "{b}");
        assert!(b < 40 * 1024 * 1024, "{b}");
    }

    #[test]
    fn an_embedded_profile_is_counted() {
        let tagged: &[u8] = include_bytes!("../../tests/fixtures/p3.png");
        let s = Settings::default();
        let opts = ProcessingOptions::default();
        let p = prepare(tagged, &opts, None, &s).unwrap();
        let mut untagged = p.clone();
        untagged.icc = None;
        let extra = p.peak_bytes(tagged.len()) - untagged.peak_bytes(tagged.len());
        assert_eq!(extra, crate::pipeline::icc::working_bytes(600));
    }

    #[test]
    fn a_webp_with_alpha_counts_the_lossless_coder() {
        // libwebp codes an alpha plane with its lossless coder, even in a lossy WebP.
        let badge: &[u8] = include_bytes!("../../tests/fixtures/badge.png");
        let s = Settings::default();
        let transparent = ProcessingOptions::default();
        let flattened = ProcessingOptions {
            background: Some(crate::options::Rgb {
                r: 255,
                g: 255,
                b: 255,
            }),
            ..Default::default()
        };
        let webp = Some(OutputFormat::Webp);
        let a = prepare(badge, &transparent, webp, &s).unwrap();
        let b = prepare(badge, &flattened, webp, &s).unwrap();
        let (w, h) = (u64::from(a.canvas.0), u64::from(a.canvas.1));
        let extra = a.peak_bytes(badge.len()) - b.peak_bytes(badge.len());
        assert_eq!(extra, w * h * super::LOSSLESS_WEBP_BYTES_PER_PIXEL);
    }

    #[test]
    fn a_watermark_counts_its_scaled_copy() {
        use std::sync::Arc;
        let src = jpeg(400, 300);
        let wm = crate::pipeline::WatermarkImage {
            image: Bitmap::new(vec![255; 16 * 16 * 4], 16, 16, 4),
            opacity: 1.0,
        };
        let s = Settings {
            watermark: Some(Arc::new(wm.clone())),
            ..Settings::default()
        };
        let po = |o: &str| {
            let segments: Vec<&str> = o.split('/').collect();
            crate::options::parse(&segments, &crate::options::Presets::empty()).unwrap()
        };
        let peak = |o: &str| {
            prepare(&src, &po(o), None, &s)
                .unwrap()
                .peak_bytes(src.len())
        };
        let plain = peak("rs:fit:200:200");
        // 200x150 result: fitted into 100x75 at scale 0.5, 75x75
        let scaled = peak("rs:fit:200:200/wm:1:ce:0:0:0.5");
        let opts = po("wm:1:ce:0:0:0.5").watermark;
        let extra = crate::pipeline::watermark::working_bytes(&wm, &opts, (200, 150));
        assert_eq!(extra, (16 * 16 + 75 * 16 + 75 * 75) * 4 + 200 * 150 * 4);
        assert_eq!(scaled - plain, extra);
        // opacity 0 asks for nothing
        assert_eq!(peak("rs:fit:200:200/wm:0"), plain);
    }

    #[test]
    fn a_wide_strip_is_not_estimated_as_a_square() {
        let src = jpeg(8000, 50);
        let opts = ProcessingOptions::default();
        let p = prepare(&src, &opts, None, &Settings::default()).unwrap();
        // 8000x50 RGBA is 1.6 MB; each term is at most a few of those.
        let peak = p.peak_bytes(src.len());
        assert!(peak < 10 * 1024 * 1024, "{peak}");
    }
}
