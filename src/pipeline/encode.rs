//! Encoding: JPEG (mozjpeg), PNG (png), WebP lossy (libwebp), GIF (gif), AVIF
//! (ravif, in [`avif`]).
//!
//! JPEG uses mozjpeg's *fastest* profile (no trellis, no deringing, no scan
//! optimisation; Annex K tables = libjpeg-turbo's output and sharp's default), 4:2:0,
//! optimised Huffman tables: the codec study's measured choice. WebP is lossy unless
//! `webp_options` asks for lossless or near-lossless, `method` 4 (sharp's
//! `effort: 4`), alpha kept at `alpha_quality` 100. Metadata is
//! never written, which is imgproxy's default `strip_metadata`. A still GIF is one
//! frame (animations: [`Animated`]), quantised to 256 colours by NeuQuant (the gif crate's, see [`neuquant_speed`]), alpha
//! below 128 transparent and the rest opaque (GIF has one transparent index, no
//! partial alpha; libvips' gifsave thresholds the same way); `quality` is unused.

mod avif;
mod gif_anim;
mod webp_anim;

use super::bitmap::Bitmap;
use super::decode::jpeg::catch_libjpeg;
use super::error::PipelineError;
use crate::options::{OutputFormat, WebpCompression};

/// [`encode_with`] lossy, for tests.
#[cfg(test)]
pub fn encode(img: &Bitmap, format: OutputFormat, quality: u8) -> Result<Vec<u8>, PipelineError> {
    encode_with(img, format, quality, WebpCompression::Lossy)
}

/// Encodes `img`, with WebP written as `webp` asks (`webp_options`).
pub fn encode_with(
    img: &Bitmap,
    format: OutputFormat,
    quality: u8,
    webp: WebpCompression,
) -> Result<Vec<u8>, PipelineError> {
    if !img.is_consistent() || img.width == 0 || img.height == 0 {
        return Err(PipelineError::Encode(format!(
            "bad bitmap {}x{}x{}",
            img.width, img.height, img.channels
        )));
    }
    match format {
        OutputFormat::Jpeg => jpeg(img, quality),
        OutputFormat::Png => png(img),
        OutputFormat::Webp => self::webp(img, quality, 4, webp),
        OutputFormat::Avif => avif::encode(img, quality),
        OutputFormat::Gif => gif(img),
        other => Err(PipelineError::Unsupported(format!(
            "{} output is not supported yet",
            other.extension()
        ))),
    }
}

/// An animated GIF or WebP being written, one frame at a time.
pub enum Animated {
    Gif(gif_anim::GifAnim),
    Webp(webp_anim::WebpAnim),
}

impl Animated {
    /// An encoder for `width` x `height` frames; `loops` is how many times the
    /// animation plays (0 = forever).
    pub fn new(
        format: OutputFormat,
        width: u32,
        height: u32,
        loops: u16,
        quality: u8,
        webp: WebpCompression,
    ) -> Result<Animated, PipelineError> {
        match format {
            OutputFormat::Gif => Ok(Animated::Gif(gif_anim::GifAnim::new(width, height, loops)?)),
            OutputFormat::Webp => Ok(Animated::Webp(webp_anim::WebpAnim::new(
                width, height, loops, quality, 4, webp,
            )?)),
            other => Err(PipelineError::Unsupported(format!(
                "animated {} output",
                other.extension()
            ))),
        }
    }

    pub fn add(&mut self, img: &Bitmap, delay_ms: u32) -> Result<(), PipelineError> {
        if !img.is_consistent() {
            return Err(PipelineError::Encode("bad animation frame".into()));
        }
        match self {
            Animated::Gif(e) => e.add(img, delay_ms),
            Animated::Webp(e) => e.add(img, delay_ms),
        }
    }

    pub fn finish(self) -> Result<Vec<u8>, PipelineError> {
        match self {
            Animated::Gif(e) => e.finish(),
            Animated::Webp(e) => e.finish(),
        }
    }
}

fn jpeg(img: &Bitmap, quality: u8) -> Result<Vec<u8>, PipelineError> {
    let cs = match img.channels {
        1 => mozjpeg::ColorSpace::JCS_GRAYSCALE,
        3 => mozjpeg::ColorSpace::JCS_RGB,
        n => return Err(PipelineError::Encode(format!("{n}-channel JPEG output"))),
    };
    if img.width > 65_500 || img.height > 65_500 {
        return Err(PipelineError::TooLarge(format!(
            "{}x{} is over JPEG's 65500 pixel limit",
            img.width, img.height
        )));
    }
    catch_libjpeg(PipelineError::Encode, || {
        let mut c = mozjpeg::Compress::new(cs);
        c.set_fastest_defaults();
        c.set_size(img.width as usize, img.height as usize);
        c.set_quality(quality.clamp(1, 100) as f32);
        c.set_optimize_coding(true);
        if img.channels == 3 {
            c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        }
        let cap = (img.pixels.len() / 8).max(4096);
        let mut s = c
            .start_compress(Vec::with_capacity(cap))
            .map_err(|e| PipelineError::Encode(e.to_string()))?;
        s.write_scanlines(&img.pixels)
            .map_err(|e| PipelineError::Encode(e.to_string()))?;
        s.finish().map_err(|e| PipelineError::Encode(e.to_string()))
    })
}

fn png(img: &Bitmap) -> Result<Vec<u8>, PipelineError> {
    let err = |e: png::EncodingError| PipelineError::Encode(e.to_string());
    let mut out = Vec::with_capacity(img.pixels.len() / 2 + 1024);
    {
        let mut enc = png::Encoder::new(&mut out, img.width, img.height);
        enc.set_color(match img.channels {
            1 => png::ColorType::Grayscale,
            2 => png::ColorType::GrayscaleAlpha,
            3 => png::ColorType::Rgb,
            _ => png::ColorType::Rgba,
        });
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(err)?;
        w.write_image_data(&img.pixels).map_err(err)?;
        w.finish().map_err(err)?;
    }
    Ok(out)
}

fn webp(
    img: &Bitmap,
    quality: u8,
    method: u8,
    compression: WebpCompression,
) -> Result<Vec<u8>, PipelineError> {
    use libwebp_sys as w;
    webp_size(img.width, img.height)?;
    // SAFETY: plain libwebp calls on zeroed structs that the Init functions fill in;
    // the picture imports (copies) `img.pixels` within its bounds (checked: consistent
    // bitmap); the writer's memory is freed with WebPMemoryWriterClear on every path.
    unsafe {
        let config = webp_config(quality, method, compression)?;
        let mut pic = webp_picture(img, config.lossless != 0)?;
        let mut wr: w::WebPMemoryWriter = std::mem::zeroed();
        w::WebPMemoryWriterInit(&mut wr);
        pic.writer = Some(w::WebPMemoryWrite);
        pic.custom_ptr = (&mut wr as *mut w::WebPMemoryWriter).cast();
        let ok = w::WebPEncode(&config, &mut pic);
        let code = pic.error_code;
        w::WebPPictureFree(&mut pic);
        let out = if ok != 0 && !wr.mem.is_null() {
            Ok(std::slice::from_raw_parts(wr.mem, wr.size).to_vec())
        } else {
            Err(PipelineError::Encode(format!(
                "WebPEncode failed: {code:?}"
            )))
        };
        w::WebPMemoryWriterClear(&mut wr);
        out
    }
}

fn gif(img: &Bitmap) -> Result<Vec<u8>, PipelineError> {
    let (w, h) = gif_size(img)?;
    let frame = gif_frame(img, w, h);
    let mut out = Vec::with_capacity(img.pixels.len() / 4 + 1024);
    {
        let mut enc = gif::Encoder::new(&mut out, w, h, &[]).map_err(gif_error)?;
        enc.write_frame(&frame).map_err(gif_error)?;
    }
    Ok(out)
}

fn gif_size(img: &Bitmap) -> Result<(u16, u16), PipelineError> {
    match (u16::try_from(img.width), u16::try_from(img.height)) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(PipelineError::TooLarge(format!(
            "{}x{} is over GIF's 65535 pixel limit",
            img.width, img.height
        ))),
    }
}

fn gif_error(e: gif::EncodingError) -> PipelineError {
    PipelineError::Encode(format!("GIF: {e}"))
}

/// One frame with its own palette: binary alpha, then NeuQuant.
fn gif_frame(img: &Bitmap, w: u16, h: u16) -> gif::Frame<'static> {
    let mut rgba: Vec<u8> = match img.channels {
        1 => img.pixels.iter().flat_map(|&v| [v, v, v, 255]).collect(),
        2 => img
            .pixels
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        3 => img
            .pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        _ => img.pixels.clone(),
    };
    for p in rgba.chunks_exact_mut(4) {
        if p[3] < 128 {
            p.copy_from_slice(&[0; 4]); // one colour for every transparent pixel
        } else {
            p[3] = 255;
        }
    }
    let speed = neuquant_speed(rgba.len() / 4);
    gif::Frame::from_rgba_speed(w, h, &mut rgba, speed)
}

/// NeuQuant's sampling factor (it learns from every n-th pixel): 10 from 200 000
/// pixels up, less below so that it always learns from about 20 000 pixels. At 10, a
/// small thumbnail gave the network too few samples to train: a 50x30 gradient came
/// out in 101 colours with its mean green 11 levels off (0.4 at 1). The original
/// NeuQuant drops to 1 for small pictures for the same reason.
fn neuquant_speed(pixels: usize) -> i32 {
    (pixels / 20_000).clamp(1, 10) as i32
}

fn webp_size(width: u32, height: u32) -> Result<(), PipelineError> {
    if width > 16_383 || height > 16_383 {
        return Err(PipelineError::TooLarge(format!(
            "{width}x{height} is over WebP's 16383 pixel limit"
        )));
    }
    Ok(())
}

/// The still and animated encoders' shared settings: `method`, alpha kept at
/// quality 100. Lossless and near-lossless are libvips' mapping (imgproxy Pro's
/// `webp_options`): `lossless` with the quality as the effort, near-lossless with the
/// quality as its preprocessing level.
fn webp_config(
    quality: u8,
    method: u8,
    compression: WebpCompression,
) -> Result<libwebp_sys::WebPConfig, PipelineError> {
    use libwebp_sys as w;
    // SAFETY: a zeroed config filled in by libwebp's Init, then validated.
    unsafe {
        let mut config: w::WebPConfig = std::mem::zeroed();
        if w::WebPConfigInitInternal(
            &mut config,
            w::WebPPreset::WEBP_PRESET_DEFAULT,
            quality.min(100) as f32,
            w::WEBP_ENCODER_ABI_VERSION as i32,
        ) == 0
        {
            return Err(PipelineError::Encode(
                "WebPConfigInit (ABI mismatch)".into(),
            ));
        }
        config.method = method.min(6) as i32;
        config.alpha_quality = 100;
        if compression != WebpCompression::Lossy {
            config.lossless = 1;
        }
        if compression == WebpCompression::NearLossless {
            config.near_lossless = i32::from(quality.min(100));
        }
        if w::WebPValidateConfig(&config) == 0 {
            return Err(PipelineError::Encode("invalid WebP config".into()));
        }
        Ok(config)
    }
}

/// `img` copied into a new picture (grey expanded to RGB(A): libwebp imports RGB and
/// RGBA only); the caller frees it with `WebPPictureFree`. Lossless encoding needs
/// the picture kept as ARGB: imported as YUV (the lossy default) it is converted
/// back, and that round trip is not exact.
fn webp_picture(img: &Bitmap, argb: bool) -> Result<libwebp_sys::WebPPicture, PipelineError> {
    use libwebp_sys as w;
    let expanded;
    let img = match img.channels {
        1 | 2 => {
            expanded = grey_to_rgb(img);
            &expanded
        }
        _ => img,
    };
    // SAFETY: the import copies `img.pixels` within its bounds (a consistent bitmap,
    // checked by `encode`'s callers); a failed import frees what it allocated.
    unsafe {
        let mut pic: w::WebPPicture = std::mem::zeroed();
        if !w::WebPPictureInit(&mut pic) {
            return Err(PipelineError::Encode("WebPPictureInit".into()));
        }
        pic.width = img.width as i32;
        pic.height = img.height as i32;
        pic.use_argb = i32::from(argb);
        let stride = (img.width * img.channels as u32) as i32;
        let ok = if img.channels == 4 {
            w::WebPPictureImportRGBA(&mut pic, img.pixels.as_ptr(), stride)
        } else {
            w::WebPPictureImportRGB(&mut pic, img.pixels.as_ptr(), stride)
        };
        if ok == 0 {
            w::WebPPictureFree(&mut pic);
            return Err(PipelineError::Encode(
                "WebPPictureImport (out of memory?)".into(),
            ));
        }
        Ok(pic)
    }
}

fn grey_to_rgb(img: &Bitmap) -> Bitmap {
    let (pixels, channels) = if img.channels == 2 {
        let p = img
            .pixels
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]]);
        (p.collect(), 4)
    } else {
        (img.pixels.iter().flat_map(|&v| [v, v, v]).collect(), 3)
    };
    Bitmap {
        pixels,
        width: img.width,
        height: img.height,
        channels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: u32, h: u32, channels: u8) -> Bitmap {
        Bitmap {
            pixels: vec![128; (w * h * channels as u32) as usize],
            width: w,
            height: h,
            channels,
        }
    }

    #[test]
    fn every_format_and_layout_encodes() {
        for channels in 1..=4u8 {
            let img = flat(17, 13, channels);
            let png = encode(&img, OutputFormat::Png, 80).unwrap();
            assert!(png.starts_with(b"\x89PNG"));
            let webp = encode(&img, OutputFormat::Webp, 80).unwrap();
            assert!(webp.starts_with(b"RIFF") && &webp[8..12] == b"WEBP");
            let gif = encode(&img, OutputFormat::Gif, 80).unwrap();
            assert!(gif.starts_with(b"GIF89a"));
            if channels % 2 == 1 {
                let jpeg = encode(&img, OutputFormat::Jpeg, 80).unwrap();
                assert!(jpeg.starts_with(&[0xFF, 0xD8]));
            }
        }
    }

    #[test]
    fn unsupported_outputs_are_refused() {
        let img = flat(2, 2, 3);
        assert!(matches!(
            encode(&img, OutputFormat::Jxl, 80),
            Err(PipelineError::Unsupported(_))
        ));
        let bad = Bitmap {
            pixels: vec![0; 5],
            ..img
        };
        assert!(matches!(
            encode(&bad, OutputFormat::Jpeg, 80),
            Err(PipelineError::Encode(_))
        ));
    }

    #[test]
    fn small_gif_keeps_its_mean_colour() {
        // a 50x30 thumbnail with 1500 distinct colours: NeuQuant at speed 10 learnt
        // from 150 pixels and shifted the mean green by 11 levels
        let (w, h) = (50u32, 30u32);
        let pixels: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [(x * 5) as u8, (y * 8) as u8, 128 + (x % 7 * 10) as u8]
            })
            .collect();
        let img = Bitmap::new(pixels.clone(), w, h, 3);
        let out = encode(&img, OutputFormat::Gif, 80).unwrap();
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::RGBA);
        let mut dec = opts.read_info(&out[..]).unwrap();
        let frame = dec.read_next_frame().unwrap().unwrap();
        let mean = |px: &[u8], c: usize, step: usize| {
            px.iter()
                .skip(c)
                .step_by(step)
                .map(|&v| f64::from(v))
                .sum::<f64>()
                / f64::from(w * h)
        };
        for c in 0..3 {
            let (got, want) = (mean(&frame.buffer, c, 4), mean(&pixels, c, 3));
            assert!((got - want).abs() < 2.0, "channel {c}: {got} vs {want}");
        }
        assert_eq!(neuquant_speed(50 * 30), 1);
        assert_eq!(neuquant_speed(300 * 200), 3);
        assert_eq!(neuquant_speed(4000 * 3000), 10);
    }

    #[test]
    fn gif_keeps_colours_and_binary_transparency() {
        // red, half-transparent green (kept, opaque), almost transparent blue (dropped)
        let img = Bitmap {
            pixels: vec![255, 0, 0, 255, 0, 255, 0, 200, 0, 0, 255, 20],
            width: 3,
            height: 1,
            channels: 4,
        };
        let out = encode(&img, OutputFormat::Gif, 80).unwrap();
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::RGBA);
        let mut dec = opts.read_info(&out[..]).unwrap();
        let frame = dec.read_next_frame().unwrap().unwrap();
        let px = &frame.buffer;
        assert!(
            px[0] > 240 && px[1] < 16 && px[2] < 16 && px[3] == 255,
            "{px:?}"
        );
        assert!(
            px[4] < 16 && px[5] > 240 && px[6] < 16 && px[7] == 255,
            "{px:?}"
        );
        assert_eq!(px[11], 0, "{px:?}");
    }

    #[test]
    fn lossless_webp_is_exact() {
        let pixels: Vec<u8> = (0..17 * 13 * 4).map(|i| (i * 37 % 256) as u8).collect();
        let img = Bitmap::new(pixels, 17, 13, 4);
        let out = encode_with(&img, OutputFormat::Webp, 80, WebpCompression::Lossless).unwrap();
        assert_eq!(&out[12..16], b"VP8L");
        let probe = crate::pipeline::probe::probe(&out, u64::MAX).unwrap();
        let back = crate::pipeline::decode_full(&out, &probe).unwrap();
        // libwebp may change the colour under fully transparent pixels, nothing else
        for (a, b) in img.pixels.chunks(4).zip(back.pixels.chunks(4)) {
            if a[3] != 0 {
                assert_eq!(a, b);
            }
        }
        let lossy = encode_with(&img, OutputFormat::Webp, 80, WebpCompression::Lossy).unwrap();
        assert_eq!(&lossy[12..16], b"VP8X");
    }
}
