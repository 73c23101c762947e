//! Animated GIF/WebP sources answered as animated GIF/WebP (issue #4 item 2): which
//! requests take this path, how many frames they keep, and the per-frame loop.
//!
//! A source with more than one frame whose output format can hold an animation (GIF,
//! WebP) keeps its animation; every other output (JPEG, PNG, AVIF), a cap of 1 and
//! `skip_processing` answers take the still path and its first frame. As imgproxy:
//! the first `max_animation_frames` frames are kept and later ones dropped, then
//! frames x width x height must fit `max_src_resolution`, or, when
//! `max_animation_frame_resolution` is set, each frame must fit it (422 otherwise),
//! all decided
//! in `prepare` from the frame count the probe read from the headers, before any
//! pixel is decoded; `trim` is ignored for animations (imgproxy: "not supported for
//! animated images").
//!
//! Frames are decoded one at a time as full canvases (disposal and blending done by
//! the decoder), put through the still path's steps with the same plan (orient,
//! resize, filters, extend, padding, alpha) and streamed into the encoder, so what is
//! held at once is one source canvas, one frame's working buffers and the encoded
//! bytes so far: the estimate in `peak` counts exactly that.
//!
//! Delays: a stored delay of 10 ms or less plays as 100 ms in browsers (Chrome,
//! Firefox and Safari all do this for ad-era GIFs that ask for 0), so it is written
//! as 100 ms; others are kept (GIF output rounds up to its 10 ms unit). The number of
//! plays is kept: a GIF's NETSCAPE2.0 count is repeats after the first play, WebP's
//! `ANIM` count is plays, so GIF n is WebP n + 1 (as libwebp's gif2webp converts).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::decode;
use super::encode::Animated;
use super::error::PipelineError;
use super::fit_bytes;
use super::probe::Probe;
use super::{Prepared, Settings, StageTimings, Variant};
use crate::options::{OutputFormat, ProcessingOptions};

/// Frames the animation step will decode for this request: 1 means the still path.
/// Refuses (422) when the kept frames together exceed the resolution limit.
pub fn frames(
    probed: &Probe,
    format: OutputFormat,
    skip: bool,
    settings: &Settings,
) -> Result<u32, PipelineError> {
    let animates = matches!(format, OutputFormat::Gif | OutputFormat::Webp);
    let kept = probed.frames.min(settings.max_animation_frames);
    if skip || !animates || kept <= 1 {
        return Ok(1);
    }
    let frame = u64::from(probed.width) * u64::from(probed.height);
    if settings.max_animation_frame_pixels > 0 {
        if frame > settings.max_animation_frame_pixels {
            return Err(PipelineError::TooLarge(format!(
                "animation frames of {}x{} are over the {:.1} MP limit \
                 (max_animation_frame_resolution)",
                probed.width,
                probed.height,
                settings.max_animation_frame_pixels as f64 / 1e6
            )));
        }
        return Ok(kept);
    }
    let pixels = u64::from(kept) * frame;
    if pixels > settings.max_src_pixels {
        return Err(PipelineError::TooLarge(format!(
            "animation of {kept} frames of {}x{} is {:.1} MP, over the {:.1} MP limit \
             (max_src_resolution; frames kept: max_animation_frames)",
            probed.width,
            probed.height,
            pixels as f64 / 1e6,
            settings.max_src_pixels as f64 / 1e6
        )));
    }
    Ok(kept)
}

/// The delay a browser plays for a stored delay.
pub fn played_delay(ms: u32) -> u32 {
    if ms <= 10 { 100 } else { ms }
}

/// Decodes, processes and encodes the kept frames; with `max_bytes`, again at lower
/// qualities while too large (the whole loop per attempt: nothing is held between).
pub fn execute(
    p: &Prepared,
    bytes: &[u8],
    opts: &ProcessingOptions,
) -> Result<Variant, PipelineError> {
    let mut timings = StageTimings::default();
    let mut size = (0, 0);
    let lossy = fit_bytes::lossy(p.format, opts.webp_compression);
    let encoded = fit_bytes::fit(lossy, p.quality, opts.max_bytes, |quality| {
        let (out, s) = encode_frames(p, bytes, opts, quality, &mut timings)?;
        size = s;
        Ok(out)
    })?;
    Ok(Variant {
        bytes: Bytes::from(encoded),
        format: p.format,
        width: size.0,
        height: size.1,
        timings,
    })
}

fn encode_frames(
    p: &Prepared,
    bytes: &[u8],
    opts: &ProcessingOptions,
    quality: u8,
    timings: &mut StageTimings,
) -> Result<(Vec<u8>, (u32, u32)), PipelineError> {
    let mut source = decode::frames(bytes, &p.probed)?;
    let mut encoder: Option<(Animated, (u32, u32))> = None;
    let mut clock = Instant::now();
    let mut lap = |stage: &mut Duration| {
        let now = Instant::now();
        *stage += now - clock;
        clock = now;
    };
    for frame in source.iter.by_ref().take(p.frames as usize) {
        let (img, delay) = frame?;
        lap(&mut timings.decode);
        let img = p.geometry(img, &p.plan, p.oriented, opts)?;
        lap(&mut timings.resize);
        let size = (img.width, img.height);
        let (enc, first) = match &mut encoder {
            Some(e) => e,
            None => encoder.insert((
                Animated::new(
                    p.format,
                    size.0,
                    size.1,
                    source.loops,
                    quality,
                    opts.webp_compression,
                )?,
                size,
            )),
        };
        if size != *first {
            return Err(PipelineError::Resize(format!(
                "frame became {}x{}, frame 1 {}x{}",
                size.0, size.1, first.0, first.1
            )));
        }
        enc.add(&img, played_delay(delay))?;
        lap(&mut timings.encode);
    }
    let (enc, size) =
        encoder.ok_or_else(|| PipelineError::Decode("animation has no frames".into()))?;
    let out = enc.finish()?;
    lap(&mut timings.encode);
    Ok((out, size))
}

/// Working memory of the animated encoders, besides the per-frame canvas the still
/// estimate already counts: GIF holds a frame's RGBA copy and its indices (8 bytes a
/// pixel, generous); libwebp's animation encoder holds its previous and current
/// canvases, their copies and up to four sub-frame candidates with their YUV planes
/// (48). The encoded bytes accumulate until the end and are copied once when
/// assembled: GIF's LZW codes at worst ~1.5 bytes a pixel, in a doubling `Vec` (4);
/// lossy WebP stays under 2 bytes a pixel even on noise, kept by the encoder, its mux
/// and the assembled copy (6).
pub fn encoder_bytes(format: OutputFormat, frames: u32, canvas_pixels: u64) -> u64 {
    let (working, per_frame) = match format {
        OutputFormat::Gif => (8, 4),
        _ => (48, 6),
    };
    canvas_pixels * (working + per_frame * u64::from(frames))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{prepare, run};

    /// A 40x20 GIF of `delays.len()` full frames (red, green, blue, ...), delays in
    /// centiseconds, looping forever.
    fn gif(delays: &[u16]) -> Vec<u8> {
        let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255];
        let mut out = Vec::new();
        {
            let mut enc = gif::Encoder::new(&mut out, 40, 20, &palette).unwrap();
            enc.set_repeat(gif::Repeat::Infinite).unwrap();
            for (i, &delay) in delays.iter().enumerate() {
                let mut f = gif::Frame::from_indexed_pixels(40, 20, vec![(i % 3) as u8; 800], None);
                f.delay = delay;
                enc.write_frame(&f).unwrap();
            }
        }
        out
    }

    fn opts(format: OutputFormat) -> ProcessingOptions {
        ProcessingOptions {
            width: 20,
            format: Some(format),
            ..Default::default()
        }
    }

    /// A decoded frame: width, height, delay in ms, centre pixel RGBA.
    type Seen = (u32, u32, u32, [u8; 4]);

    /// Frames of an answer, and its loop count.
    fn decoded(bytes: &[u8]) -> (Vec<Seen>, u16) {
        let probed = crate::pipeline::probe::probe(bytes, u64::MAX).unwrap();
        let frames = decode::frames(bytes, &probed).unwrap();
        let loops = frames.loops;
        let list = frames
            .iter
            .map(|f| {
                let (img, delay) = f.unwrap();
                let c = ((img.height / 2 * img.width + img.width / 2) * 4) as usize;
                let px = img.pixels[c..c + 4].try_into().unwrap();
                (img.width, img.height, delay, px)
            })
            .collect();
        (list, loops)
    }

    #[test]
    fn gif_to_gif_keeps_frames_delays_and_loops() {
        let src = gif(&[20, 0, 7]);
        let out = run(&src, &opts(OutputFormat::Gif), None, &Settings::default()).unwrap();
        assert_eq!((out.width, out.height), (20, 10));
        let (frames, loops) = decoded(&out.bytes);
        let delays: Vec<u32> = frames.iter().map(|f| f.2).collect();
        // 0 cs plays (and is written) as 100 ms
        assert_eq!(delays, [200, 100, 70]);
        assert_eq!(loops, 0);
        assert!(frames.iter().all(|f| (f.0, f.1) == (20, 10)));
        let (red, green) = (frames[0].3, frames[1].3);
        assert!(red[0] > 200 && red[1] < 50, "{red:?}");
        assert!(green[1] > 200 && green[0] < 50, "{green:?}");
    }

    #[test]
    fn a_watermark_is_drawn_on_every_frame() {
        let src = gif(&[20, 30, 40]);
        let white = crate::pipeline::WatermarkImage {
            image: crate::pipeline::Bitmap::new(vec![255; 4 * 4 * 4], 4, 4, 4),
            opacity: 1.0,
        };
        let settings = Settings {
            watermark: Some(std::sync::Arc::new(white)),
            ..Settings::default()
        };
        let mut po = opts(OutputFormat::Gif);
        po.watermark.enabled = true;
        let out = run(&src, &po, None, &settings).unwrap();
        let (frames, _) = decoded(&out.bytes);
        assert_eq!(frames.len(), 3);
        for (i, f) in frames.iter().enumerate() {
            assert!(f.3[..3].iter().all(|&v| v > 230), "frame {i}: {:?}", f.3);
        }
        // without it the centres are red, green, blue
        let out = run(&src, &opts(OutputFormat::Gif), None, &settings).unwrap();
        assert!(
            decoded(&out.bytes)
                .0
                .iter()
                .all(|f| f.3[..3] != [255, 255, 255])
        );
    }

    #[test]
    fn gif_to_webp_is_an_animated_webp() {
        let src = gif(&[20, 30, 40]);
        let out = run(&src, &opts(OutputFormat::Webp), None, &Settings::default()).unwrap();
        let b = &out.bytes;
        assert!(b.starts_with(b"RIFF") && b.windows(4).any(|w| w == b"ANIM"));
        let (frames, loops) = decoded(b);
        assert_eq!(frames.len(), 3);
        assert_eq!(
            frames.iter().map(|f| f.2).collect::<Vec<_>>(),
            [200, 300, 400]
        );
        assert_eq!(loops, 0);
        let blue = frames[2].3;
        assert!(blue[2] > 200 && blue[0] < 50, "{blue:?}");
    }

    #[test]
    fn other_outputs_and_a_cap_of_one_take_the_first_frame() {
        let src = gif(&[20, 30, 40]);
        let s = Settings::default();
        for f in [OutputFormat::Jpeg, OutputFormat::Png] {
            assert_eq!(prepare(&src, &opts(f), None, &s).unwrap().frames, 1);
        }
        let one = Settings {
            max_animation_frames: 1,
            ..Settings::default()
        };
        let out = run(&src, &opts(OutputFormat::Gif), None, &one).unwrap();
        assert_eq!(decoded(&out.bytes).0.len(), 1);
    }

    #[test]
    fn the_cap_drops_later_frames_and_the_total_is_limited() {
        let src = gif(&[10; 5]);
        let two = Settings {
            max_animation_frames: 2,
            ..Settings::default()
        };
        let out = run(&src, &opts(OutputFormat::Gif), None, &two).unwrap();
        assert_eq!(decoded(&out.bytes).0.len(), 2);
        // 5 frames of 40x20 = 4000 pixels; 3999 allowed: refused before decoding
        let tight = Settings {
            max_src_pixels: 3999,
            ..Settings::default()
        };
        let e = prepare(&src, &opts(OutputFormat::Webp), None, &tight).unwrap_err();
        assert!(matches!(e, PipelineError::TooLarge(_)), "{e:?}");
        // ... but the first frame alone is fine as a still
        assert!(prepare(&src, &opts(OutputFormat::Jpeg), None, &tight).is_ok());
        // a per-frame limit replaces the total, as imgproxy's
        let per_frame = |max| Settings {
            max_animation_frame_pixels: max,
            ..tight.clone()
        };
        let p = prepare(&src, &opts(OutputFormat::Gif), None, &per_frame(800)).unwrap();
        assert_eq!(p.frames, 5);
        let e = prepare(&src, &opts(OutputFormat::Gif), None, &per_frame(799)).unwrap_err();
        assert!(matches!(e, PipelineError::TooLarge(_)), "{e:?}");
    }

    #[test]
    fn the_estimate_grows_with_the_frames() {
        let s = Settings::default();
        let peak = |n: usize| {
            let src = gif(&vec![10; n]);
            prepare(&src, &opts(OutputFormat::Webp), None, &s)
                .unwrap()
                .peak_bytes(src.len())
        };
        assert!(peak(20) > peak(2));
    }

    #[test]
    fn finite_loop_counts_are_kept() {
        // NETSCAPE2.0 with 2 repeats plays three times: WebP's loop count 3; without
        // the extension, once
        let two_frames = |repeat: Option<u16>| {
            let mut src = Vec::new();
            {
                let palette = [0, 0, 0, 255, 255, 255];
                let mut enc = gif::Encoder::new(&mut src, 4, 4, &palette).unwrap();
                if let Some(n) = repeat {
                    enc.set_repeat(gif::Repeat::Finite(n)).unwrap();
                }
                for i in 0..2 {
                    let f = gif::Frame::from_indexed_pixels(4, 4, vec![i; 16], None);
                    enc.write_frame(&f).unwrap();
                }
            }
            src
        };
        let s = Settings::default();
        for (repeat, plays) in [(Some(2), 3), (None, 1)] {
            let src = two_frames(repeat);
            let out = run(&src, &opts(OutputFormat::Gif), None, &s).unwrap();
            assert_eq!(crate::pipeline::probe::gif_blocks(&out.bytes).loops, repeat);
            let webp = run(&src, &opts(OutputFormat::Webp), None, &s).unwrap();
            assert_eq!(decoded(&webp.bytes).1, plays);
        }
    }

    #[test]
    fn tiny_delays_play_as_100_ms() {
        assert_eq!([0, 10, 11, 500].map(played_delay), [100, 100, 11, 500]);
    }
}
