//! Benchmark-only alternatives to the codecs in [`crate::pipeline_proto`]. Each one
//! returns the same [`Bitmap`] / `Vec<u8>` so the harness can swap them.
//! These are written for measurement, not for production (fewer limits checks).

use crate::pipeline_proto::{Bitmap, Error, Result, jpeg_dimensions, jpeg_shrink_factor};

/// JPEG decoders under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegDec {
    /// mozjpeg crate, DCT scaled (the prototype).
    Moz,
    /// mozjpeg crate, always full size (to show what shrink-on-load buys).
    MozFull,
    /// turbojpeg crate (libjpeg-turbo 3.1 built with cmake + nasm), DCT scaled.
    Turbo,
    /// turbojpeg, always full size.
    TurboFull,
    /// jpeg-decoder (pure Rust), `Decoder::scale`.
    JpegDecoder,
    /// zune-jpeg (pure Rust), full size only.
    ZuneFull,
    /// image 0.25 (its JPEG decoder is zune-jpeg), full size only.
    ImageFull,
}

impl JpegDec {
    pub fn name(self) -> &'static str {
        match self {
            JpegDec::Moz => "mozjpeg",
            JpegDec::MozFull => "mozjpeg-full",
            JpegDec::Turbo => "turbojpeg",
            JpegDec::TurboFull => "turbojpeg-full",
            JpegDec::JpegDecoder => "jpeg-decoder",
            JpegDec::ZuneFull => "zune-jpeg-full",
            JpegDec::ImageFull => "image-full",
        }
    }

    /// Whether this decoder is compiled into this build (mozjpeg / turbojpeg are exclusive).
    pub fn available(self) -> bool {
        match self {
            JpegDec::Moz | JpegDec::MozFull => cfg!(feature = "mozjpeg"),
            JpegDec::Turbo | JpegDec::TurboFull => cfg!(feature = "turbojpeg"),
            _ => true,
        }
    }

    pub fn decode(self, bytes: &[u8], tw: u32, th: u32) -> Result<Bitmap> {
        match self {
            #[cfg(feature = "mozjpeg")]
            JpegDec::Moz => crate::pipeline_proto::decode_jpeg_scaled(bytes, tw, th),
            #[cfg(feature = "mozjpeg")]
            JpegDec::MozFull => crate::pipeline_proto::decode_jpeg_scaled(bytes, 0, 0),
            #[cfg(not(feature = "mozjpeg"))]
            JpegDec::Moz | JpegDec::MozFull => Err(not_built()),
            #[cfg(feature = "turbojpeg")]
            JpegDec::Turbo => decode_turbo(bytes, tw, th),
            #[cfg(feature = "turbojpeg")]
            JpegDec::TurboFull => decode_turbo(bytes, 0, 0),
            #[cfg(not(feature = "turbojpeg"))]
            JpegDec::Turbo | JpegDec::TurboFull => Err(not_built()),
            JpegDec::JpegDecoder => decode_jpeg_decoder(bytes, tw, th),
            JpegDec::ZuneFull => decode_zune(bytes),
            JpegDec::ImageFull => decode_image(bytes),
        }
    }
}

#[allow(dead_code)]
fn not_built() -> Error {
    Error::Unsupported("codec not in this build (mozjpeg and turbojpeg are exclusive)".into())
}

fn de<E: std::fmt::Display>(e: E) -> Error {
    Error::Decode(e.to_string())
}
fn ee<E: std::fmt::Display>(e: E) -> Error {
    Error::Encode(e.to_string())
}

#[cfg(feature = "turbojpeg")]
pub fn decode_turbo(bytes: &[u8], tw: u32, th: u32) -> Result<Bitmap> {
    let mut d = turbojpeg::Decompressor::new().map_err(de)?;
    let header = d.read_header(bytes).map_err(de)?;
    if header.width == 0 || header.height == 0 {
        return Err(Error::Limits("zero size".into()));
    }
    let denom = if tw == 0 && th == 0 {
        1
    } else {
        jpeg_shrink_factor(header.width as u32, header.height as u32, tw, th)
    };
    let sf = turbojpeg::ScalingFactor::new(1, denom as usize);
    d.set_scaling_factor(sf).map_err(de)?;
    let sh = header.scaled(sf);
    if (sh.width as u64) * (sh.height as u64) > 0x3FFF * 0x3FFF {
        return Err(Error::Limits("too big".into()));
    }
    let mut pixels = vec![0u8; sh.width * sh.height * 3];
    let image = turbojpeg::Image {
        pixels: &mut pixels[..],
        width: sh.width,
        pitch: sh.width * 3,
        height: sh.height,
        format: turbojpeg::PixelFormat::RGB,
    };
    d.decompress(bytes, image).map_err(de)?;
    Ok(Bitmap {
        pixels,
        width: sh.width as u32,
        height: sh.height as u32,
        channels: 3,
    })
}

pub fn decode_jpeg_decoder(bytes: &[u8], tw: u32, th: u32) -> Result<Bitmap> {
    let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    d.set_max_decoding_buffer_size(0x3FFF * 0x3FFF * 3);
    d.read_info().map_err(de)?;
    let (sw, sh) = {
        let i = d.info().ok_or_else(|| de("no info"))?;
        (i.width as u32, i.height as u32)
    };
    if tw != 0 || th != 0 {
        // jpeg-decoder picks the smallest scale >= the request (same rule as ours)
        let denom = jpeg_shrink_factor(sw, sh, tw, th);
        let rw = sw.div_ceil(denom).min(u16::MAX as u32) as u16;
        let rh = sh.div_ceil(denom).min(u16::MAX as u32) as u16;
        d.scale(rw, rh).map_err(de)?;
    }
    let pixels = d.decode().map_err(de)?;
    let info = d.info().ok_or_else(|| de("no info"))?;
    let channels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => 1,
        jpeg_decoder::PixelFormat::RGB24 => 3,
        other => return Err(Error::Unsupported(format!("{other:?}"))),
    };
    // after scale(), info() reports the scaled size
    let (w, h) = (info.width as u32, info.height as u32);
    if pixels.len() != (w * h * channels as u32) as usize {
        return Err(de(format!("size mismatch {}x{} {}", w, h, pixels.len())));
    }
    Ok(Bitmap {
        pixels,
        width: w,
        height: h,
        channels,
    })
}

pub fn decode_zune(bytes: &[u8]) -> Result<Bitmap> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let opts = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(0x3FFF)
        .set_max_height(0x3FFF);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
    let pixels = d.decode().map_err(de)?;
    let info = d.info().ok_or_else(|| de("no info"))?;
    Ok(Bitmap {
        pixels,
        width: info.width as u32,
        height: info.height as u32,
        channels: 3,
    })
}

pub fn decode_image(bytes: &[u8]) -> Result<Bitmap> {
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg).map_err(de)?;
    let rgb = img.into_rgb8();
    let (w, h) = rgb.dimensions();
    Ok(Bitmap {
        pixels: rgb.into_raw(),
        width: w,
        height: h,
        channels: 3,
    })
}

/// JPEG encoders under test (all 4:2:0, quality 80 in the harness).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegEnc {
    /// mozjpeg fastest profile + optimised Huffman (the prototype; = sharp defaults).
    Moz,
    /// mozjpeg fastest profile, standard Huffman tables (= libvips / Pillow default).
    MozStdHuff,
    /// mozjpeg's own defaults (trellis, progressive, scan optimisation): slow.
    MozMax,
    /// turbojpeg (libjpeg-turbo 3.1), optimised Huffman.
    Turbo,
    /// jpeg-encoder (pure Rust, AVX2), optimised Huffman.
    JpegEncoder,
    /// image 0.25's JpegEncoder (pure Rust).
    Image,
}

impl JpegEnc {
    pub fn name(self) -> &'static str {
        match self {
            JpegEnc::Moz => "mozjpeg",
            JpegEnc::MozStdHuff => "mozjpeg-stdhuff",
            JpegEnc::MozMax => "mozjpeg-max",
            JpegEnc::Turbo => "turbojpeg",
            JpegEnc::JpegEncoder => "jpeg-encoder",
            JpegEnc::Image => "image",
        }
    }

    pub fn available(self) -> bool {
        match self {
            JpegEnc::Moz | JpegEnc::MozStdHuff | JpegEnc::MozMax => cfg!(feature = "mozjpeg"),
            JpegEnc::Turbo => cfg!(feature = "turbojpeg"),
            _ => true,
        }
    }

    pub fn encode(self, img: &Bitmap, q: u8) -> Result<Vec<u8>> {
        if img.channels != 3 {
            return Err(Error::Unsupported("RGB only in candidates".into()));
        }
        match self {
            #[cfg(feature = "mozjpeg")]
            JpegEnc::Moz => crate::pipeline_proto::encode_jpeg(img, q),
            #[cfg(feature = "mozjpeg")]
            JpegEnc::MozStdHuff => encode_moz(img, q, false, false),
            #[cfg(feature = "mozjpeg")]
            JpegEnc::MozMax => encode_moz(img, q, true, true),
            #[cfg(not(feature = "mozjpeg"))]
            JpegEnc::Moz | JpegEnc::MozStdHuff | JpegEnc::MozMax => Err(not_built()),
            #[cfg(not(feature = "turbojpeg"))]
            JpegEnc::Turbo => Err(not_built()),
            #[cfg(feature = "turbojpeg")]
            JpegEnc::Turbo => {
                let mut c = turbojpeg::Compressor::new().map_err(ee)?;
                c.set_quality(q as i32).map_err(ee)?;
                c.set_subsamp(turbojpeg::Subsamp::Sub2x2).map_err(ee)?;
                c.set_optimize(true).map_err(ee)?;
                let image = turbojpeg::Image {
                    pixels: &img.pixels[..],
                    width: img.width as usize,
                    pitch: img.width as usize * 3,
                    height: img.height as usize,
                    format: turbojpeg::PixelFormat::RGB,
                };
                let mut out = turbojpeg::OutputBuf::new_owned();
                c.compress(image, &mut out).map_err(ee)?;
                Ok(out.to_vec())
            }
            JpegEnc::JpegEncoder => {
                let mut out = Vec::with_capacity(64 * 1024);
                let mut e = jpeg_encoder::Encoder::new(&mut out, q);
                e.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
                e.set_optimized_huffman_tables(true);
                e.encode(
                    &img.pixels,
                    img.width as u16,
                    img.height as u16,
                    jpeg_encoder::ColorType::Rgb,
                )
                .map_err(ee)?;
                Ok(out)
            }
            JpegEnc::Image => {
                let mut out = Vec::with_capacity(64 * 1024);
                let mut e = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q);
                e.encode(
                    &img.pixels,
                    img.width,
                    img.height,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(ee)?;
                Ok(out)
            }
        }
    }
}

#[cfg(feature = "mozjpeg")]
fn encode_moz(img: &Bitmap, q: u8, max: bool, optimize: bool) -> Result<Vec<u8>> {
    std::panic::catch_unwind(|| -> Result<Vec<u8>> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        if !max {
            c.set_fastest_defaults();
        }
        c.set_size(img.width as usize, img.height as usize);
        c.set_quality(q as f32);
        c.set_optimize_coding(optimize);
        c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        let mut s = c.start_compress(Vec::new()).map_err(ee)?;
        s.write_scanlines(&img.pixels).map_err(ee)?;
        s.finish().map_err(ee)
    })
    .unwrap_or_else(|_| Err(ee("libjpeg error")))
}

/// PNG decoders under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PngDec {
    /// png crate (the prototype).
    Png,
    /// zune-png.
    Zune,
    /// image 0.25 (png crate underneath, via DynamicImage).
    Image,
}

impl PngDec {
    pub fn name(self) -> &'static str {
        match self {
            PngDec::Png => "png",
            PngDec::Zune => "zune-png",
            PngDec::Image => "image(png)",
        }
    }
    pub fn decode(self, bytes: &[u8]) -> Result<Bitmap> {
        match self {
            PngDec::Png => crate::pipeline_proto::decode_png(bytes),
            PngDec::Zune => {
                use zune_core::bytestream::ZCursor;
                use zune_core::options::DecoderOptions;
                let opts = DecoderOptions::default()
                    .png_set_strip_to_8bit(true)
                    .set_max_width(0x3FFF)
                    .set_max_height(0x3FFF);
                let mut d = zune_png::PngDecoder::new_with_options(ZCursor::new(bytes), opts);
                d.decode_headers().map_err(de)?;
                let (w, h) = d.dimensions().ok_or_else(|| de("no dims"))?;
                let cs = d.colorspace().ok_or_else(|| de("no colorspace"))?;
                let channels = cs.num_components() as u8;
                let pixels = d.decode_raw().map_err(de)?;
                if pixels.len() != w * h * channels as usize {
                    return Err(de(format!("zune-png size mismatch {}", pixels.len())));
                }
                Ok(Bitmap {
                    pixels,
                    width: w as u32,
                    height: h as u32,
                    channels,
                })
            }
            PngDec::Image => {
                let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
                    .map_err(de)?;
                let (w, h) = (img.width(), img.height());
                let (channels, pixels) = if img.color().has_alpha() {
                    (4, img.into_rgba8().into_raw())
                } else {
                    (3, img.into_rgb8().into_raw())
                };
                Ok(Bitmap {
                    pixels,
                    width: w,
                    height: h,
                    channels,
                })
            }
        }
    }
}

/// Header-only size, used by the harness for every decoder.
pub fn source_size(bytes: &[u8]) -> Result<(u32, u32)> {
    if bytes.starts_with(b"\x89PNG") {
        let d = png::Decoder::new(std::io::Cursor::new(bytes));
        let r = d.read_info().map_err(de)?;
        let i = r.info();
        Ok((i.width, i.height))
    } else {
        jpeg_dimensions(bytes)
    }
}
