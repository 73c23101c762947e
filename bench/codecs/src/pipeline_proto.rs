//! Prototype thumbnail pipeline: decode → resize → encode, using the codec crates
//! that won the measurements in `CODECS.md`.
//!
//! * JPEG decode: `mozjpeg` (libjpeg-turbo-derived C, SIMD via nasm) with DCT-domain
//!   **shrink-on-load** (1/2, 1/4, 1/8), so a 24 MP photo decoded for a 300 px
//!   thumbnail never exists as a full-resolution bitmap (baseline JPEGs; progressive
//!   JPEGs still need libjpeg's whole-image coefficient buffer, see `CODECS.md`).
//! * Resize: `fast_image_resize` Lanczos3 convolution (AVX2 picked at run time), with
//!   premultiplied alpha (multiply → resize → divide) for images that have alpha.
//! * JPEG encode: `mozjpeg` with its *fastest* profile (no trellis, no overshoot
//!   deringing, no scan optimisation, Annex K tables: the same as libjpeg-turbo and as
//!   sharp's defaults), 4:2:0, optimised Huffman tables (sharp's `optimiseCoding`).
//! * WebP encode: `libwebp-sys` (libwebp C built with `cc`), lossy, `method` 4
//!   (= sharp's `effort: 4`), alpha kept with `alpha_quality` 100.
//! * PNG decode: `png` (pure Rust), expanded to 8 bits per sample.
//!
//! # Error handling
//!
//! Every function that reads untrusted bytes returns [`Result`]; none of them panic
//! on corrupt input. libjpeg reports fatal errors through `error_exit`, whose default
//! calls `exit()`: the `mozjpeg` crate replaces it with a handler that *unwinds*
//! (the C code is built with `-fexceptions`), and this module catches that unwind
//! with [`std::panic::catch_unwind`] and turns it into [`Error::Decode`] /
//! [`Error::Encode`]. **This needs `panic = "unwind"`** (the default): with
//! `panic = "abort"` a corrupt JPEG would abort the process. libjpeg *warnings*
//! (corrupt entropy data, "premature end of JPEG file", extraneous bytes) are fatal
//! by default ([`Limits::fail_on_warning`], like sharp's default `failOn: 'warning'`);
//! with it off they are ignored and the missing part is filled with grey (libvips'
//! default).
//!
//! The JPEG functions need the crate feature `mozjpeg` (on by default): `mozjpeg-sys`
//! and `turbojpeg-sys` must never be linked into one binary (both export `jpeg_*`).
//!
//! Input limits ([`Limits`]) are checked on the header before any pixel buffer is
//! allocated.

use std::fmt;
#[cfg(feature = "mozjpeg")]
use std::panic::{AssertUnwindSafe, catch_unwind};

use fast_image_resize as fir;

/// Errors of the pipeline. The message is for logs, not for clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input is not a decodable image (corrupt, truncated, unsupported variant).
    Decode(String),
    /// The image's dimensions are zero or exceed [`Limits`].
    Limits(String),
    /// The pixel layout is not supported by this stage (e.g. CMYK JPEG, 2-channel JPEG out).
    Unsupported(String),
    /// The resizer refused the request (e.g. zero-sized output).
    Resize(String),
    /// The encoder failed.
    Encode(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(m) => write!(f, "decode error: {m}"),
            Error::Limits(m) => write!(f, "limits exceeded: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            Error::Resize(m) => write!(f, "resize error: {m}"),
            Error::Encode(m) => write!(f, "encode error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Limits checked on the image header before anything is allocated.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum width × height of the *source* image (sharp's `limitInputPixels`
    /// default, 0x3FFF², is used by [`Limits::default`]).
    pub max_input_pixels: u64,
    /// Treat decoder warnings (truncated or corrupt JPEG data) as errors.
    pub fail_on_warning: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_pixels: 0x3FFF * 0x3FFF,
            fail_on_warning: true,
        }
    }
}

impl Limits {
    fn check(&self, w: u64, h: u64) -> Result<()> {
        if w == 0 || h == 0 {
            return Err(Error::Limits(format!("zero dimension {w}x{h}")));
        }
        if w.saturating_mul(h) > self.max_input_pixels {
            return Err(Error::Limits(format!(
                "{w}x{h} exceeds {} pixels",
                self.max_input_pixels
            )));
        }
        Ok(())
    }
}

/// An interleaved 8-bit bitmap: `channels` is 1 (grey), 2 (grey+alpha), 3 (RGB) or
/// 4 (RGBA, straight i.e. not premultiplied alpha).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
}

impl Bitmap {
    fn check_len(&self) -> Result<()> {
        let need = self.width as usize * self.height as usize * self.channels as usize;
        if !(1..=4).contains(&self.channels) || self.pixels.len() != need {
            return Err(Error::Unsupported(format!(
                "bitmap {}x{}x{} with {} bytes",
                self.width,
                self.height,
                self.channels,
                self.pixels.len()
            )));
        }
        Ok(())
    }
}

/// Size of the image that fits within `box_w` × `box_h`, keeping the aspect ratio
/// (sharp's `fit: 'inside'`, libvips' `thumbnail`), never smaller than 1×1 and never
/// enlarged beyond the source.
pub fn fit_within(src_w: u32, src_h: u32, box_w: u32, box_h: u32) -> (u32, u32) {
    if src_w == 0 || src_h == 0 || box_w == 0 || box_h == 0 {
        return (1, 1);
    }
    if src_w <= box_w && src_h <= box_h {
        return (src_w, src_h);
    }
    let (sw, sh, bw, bh) = (src_w as u64, src_h as u64, box_w as u64, box_h as u64);
    if sw * bh >= sh * bw {
        // width-limited
        let h = ((sh * bw * 2 + sw) / (2 * sw)).max(1);
        (box_w, h as u32)
    } else {
        let w = ((sw * bh * 2 + sh) / (2 * sh)).max(1);
        (w as u32, box_h)
    }
}

/// The JPEG DCT-domain reduction (1, 2, 4 or 8) to decode at: the largest one whose
/// output (libjpeg rounds up: `ceil(dim / d)`) is still at least `target` in both
/// dimensions. This is Pillow's `draft()` rule and, for T1/T2/T3, the same factor
/// sharp picks.
pub fn jpeg_shrink_factor(src_w: u32, src_h: u32, target_w: u32, target_h: u32) -> u32 {
    for d in [8u32, 4, 2] {
        if src_w.div_ceil(d) >= target_w && src_h.div_ceil(d) >= target_h {
            return d;
        }
    }
    1
}

/// Runs `f`, turning a libjpeg `error_exit` unwind into an `Err`.
#[cfg(feature = "mozjpeg")]
fn catch_libjpeg<T>(
    what: fn(String) -> Error,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else {
                "libjpeg error".to_string()
            };
            Err(what(msg))
        }
    }
}

/// libjpeg error manager: fatal errors unwind (caught by [`catch_libjpeg`]) and,
/// when `strict`, so do warnings (`emit_message` with level -1). Messages are
/// formatted into a `JMSG_LENGTH_MAX` (200-byte) buffer.
#[cfg(feature = "mozjpeg")]
mod jerr {
    use mozjpeg_sys as ffi;
    use std::os::raw::c_int;

    fn message(prefix: &str, cinfo: &mut ffi::jpeg_common_struct) -> String {
        // SAFETY: `err` was set by jpeg_create_decompress from our manager; the
        // buffer is JMSG_LENGTH_MAX bytes, as libjpeg's format_message requires (the
        // binding declares 80, so the function pointer is re-typed).
        unsafe {
            let code = (*cinfo.err).msg_code;
            match (*cinfo.err).format_message {
                Some(f) => {
                    let f: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut u8) =
                        std::mem::transmute(f);
                    let mut buf = [0u8; 200];
                    f(cinfo, buf.as_mut_ptr());
                    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
                    format!("{prefix}{}", String::from_utf8_lossy(&buf[..end]))
                }
                None => format!("{prefix}code {code}"),
            }
        }
    }

    extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpeg_common_struct) {
        let m = message("libjpeg: ", cinfo);
        std::panic::resume_unwind(Box::new(m));
    }

    extern "C-unwind" fn emit_strict(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
        if level < 0 {
            let m = message("libjpeg warning: ", cinfo);
            std::panic::resume_unwind(Box::new(m));
        }
    }

    extern "C-unwind" fn emit_silent(_cinfo: &mut ffi::jpeg_common_struct, _level: c_int) {}

    pub(super) fn manager(strict: bool) -> ffi::jpeg_error_mgr {
        // SAFETY: jpeg_std_error fills every field of a zeroed manager.
        unsafe {
            let mut err: ffi::jpeg_error_mgr = std::mem::zeroed();
            ffi::jpeg_std_error(&mut err);
            err.error_exit = Some(error_exit);
            err.emit_message = Some(if strict { emit_strict } else { emit_silent });
            err
        }
    }
}

/// Decodes a JPEG from memory at the largest DCT scale (1/8, 1/4, 1/2, 1) whose
/// output is still at least `target_w` × `target_h` (pass the final thumbnail size).
/// Pass `0, 0` to get the full-size image.
///
/// Returns grey (1 channel) for greyscale JPEGs and RGB (3 channels) for YCbCr/RGB
/// and for CMYK/YCCK (converted without an ICC profile). Arithmetic-coded JPEGs are
/// supported (`mozjpeg-sys` feature `arith_dec`).
#[cfg(feature = "mozjpeg")]
pub fn decode_jpeg_scaled(bytes: &[u8], target_w: u32, target_h: u32) -> Result<Bitmap> {
    decode_jpeg_scaled_with(bytes, target_w, target_h, &Limits::default())
}

/// [`decode_jpeg_scaled`] with explicit [`Limits`].
#[cfg(feature = "mozjpeg")]
pub fn decode_jpeg_scaled_with(
    bytes: &[u8],
    target_w: u32,
    target_h: u32,
    limits: &Limits,
) -> Result<Bitmap> {
    use mozjpeg::ColorSpace as Cs;
    catch_libjpeg(Error::Decode, || {
        let mut d = mozjpeg::Decompress::builder()
            .with_markers(&[mozjpeg::Marker::APP(14)])
            .with_err(jerr::manager(limits.fail_on_warning))
            .from_mem(bytes)
            .map_err(|e| Error::Decode(e.to_string()))?;
        let (w, h) = d.size();
        limits.check(w as u64, h as u64)?;
        let denom = if target_w == 0 && target_h == 0 {
            1
        } else {
            jpeg_shrink_factor(w as u32, h as u32, target_w, target_h)
        };
        d.scale((8 / denom) as u8);
        // Adobe APP14 present => CMYK samples are stored inverted (Photoshop).
        let adobe = d
            .markers()
            .any(|m| m.marker == mozjpeg::Marker::APP(14) && m.data.starts_with(b"Adobe"));
        let (channels, out_cs) = match d.color_space() {
            Cs::JCS_GRAYSCALE => (1u8, Cs::JCS_GRAYSCALE),
            Cs::JCS_YCbCr | Cs::JCS_RGB => (3u8, Cs::JCS_RGB),
            // libjpeg converts YCCK to CMYK; CMYK -> RGB is done below
            Cs::JCS_CMYK | Cs::JCS_YCCK => (4u8, Cs::JCS_CMYK),
            other => return Err(Error::Unsupported(format!("JPEG colour space {other:?}"))),
        };
        let mut started = d
            .to_colorspace(out_cs)
            .map_err(|e| Error::Decode(e.to_string()))?;
        let (ow, oh) = (started.width(), started.height());
        limits.check(ow as u64, oh as u64)?;
        let mut pixels: Vec<u8> = started
            .read_scanlines()
            .map_err(|e| Error::Decode(e.to_string()))?;
        if pixels.len() != ow * oh * channels as usize {
            return Err(Error::Decode("short read".into()));
        }
        started.finish().map_err(|e| Error::Decode(e.to_string()))?;
        let channels = if channels == 4 {
            cmyk_to_rgb_in_place(&mut pixels, adobe);
            3
        } else {
            channels
        };
        Ok(Bitmap {
            pixels,
            width: ow as u32,
            height: oh as u32,
            channels,
        })
    })
}

/// Naive CMYK → RGB (no ICC profile: `R = (255-C)(255-K)/255`), compacting 4 bytes
/// per pixel to 3 in place. `inverted` is Adobe's convention (samples stored as
/// 255-C etc.), which nearly all CMYK JPEGs use.
#[cfg(feature = "mozjpeg")]
fn cmyk_to_rgb_in_place(px: &mut Vec<u8>, inverted: bool) {
    let n = px.len() / 4;
    for i in 0..n {
        let (c, m, y, k) = (px[4 * i], px[4 * i + 1], px[4 * i + 2], px[4 * i + 3]);
        let (c, m, y, k) = if inverted {
            (c as u32, m as u32, y as u32, k as u32)
        } else {
            (255 - c as u32, 255 - m as u32, 255 - y as u32, 255 - k as u32)
        };
        px[3 * i] = ((c * k + 127) / 255) as u8;
        px[3 * i + 1] = ((m * k + 127) / 255) as u8;
        px[3 * i + 2] = ((y * k + 127) / 255) as u8;
    }
    px.truncate(n * 3);
}

/// A reusable Lanczos3 resizer (keeps `fast_image_resize`'s scratch buffers between
/// calls; one per worker thread).
pub struct Resizer {
    inner: fir::Resizer,
}

impl Default for Resizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Resizer {
    pub fn new() -> Self {
        Resizer {
            inner: fir::Resizer::new(),
        }
    }

    /// The SIMD extension `fast_image_resize` selected at run time (e.g. `Avx2`).
    pub fn cpu_extensions(&self) -> String {
        format!("{:?}", self.inner.cpu_extensions())
    }

    /// Resizes `src` to exactly `dst_w` × `dst_h` with Lanczos3. Images with alpha
    /// (2 or 4 channels) are premultiplied, resized and un-premultiplied, so
    /// transparent pixels' colours do not bleed.
    pub fn resize(&mut self, src: &Bitmap, dst_w: u32, dst_h: u32) -> Result<Bitmap> {
        src.check_len()?;
        if dst_w == 0 || dst_h == 0 || src.width == 0 || src.height == 0 {
            return Err(Error::Resize(format!("zero size {dst_w}x{dst_h}")));
        }
        let pt = match src.channels {
            1 => fir::PixelType::U8,
            2 => fir::PixelType::U8x2,
            3 => fir::PixelType::U8x3,
            _ => fir::PixelType::U8x4,
        };
        let src_img = fir::images::ImageRef::new(src.width, src.height, &src.pixels, pt)
            .map_err(|e| Error::Resize(e.to_string()))?;
        let mut dst_img = fir::images::Image::new(dst_w, dst_h, pt);
        let opts = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3))
            .use_alpha(true);
        self.inner
            .resize(&src_img, &mut dst_img, &opts)
            .map_err(|e| Error::Resize(e.to_string()))?;
        Ok(Bitmap {
            pixels: dst_img.into_vec(),
            width: dst_w,
            height: dst_h,
            channels: src.channels,
        })
    }

    /// Like [`Resizer::resize`] but consumes `src`: for images with alpha the
    /// premultiplication is done in `src`'s own buffer, which saves the full-size
    /// premultiplied copy that [`Resizer::resize`] makes (16 MB for 2000x2000 RGBA).
    pub fn resize_owned(&mut self, mut src: Bitmap, dst_w: u32, dst_h: u32) -> Result<Bitmap> {
        if src.channels != 2 && src.channels != 4 {
            return self.resize(&src, dst_w, dst_h);
        }
        src.check_len()?;
        if dst_w == 0 || dst_h == 0 || src.width == 0 || src.height == 0 {
            return Err(Error::Resize(format!("zero size {dst_w}x{dst_h}")));
        }
        let pt = if src.channels == 2 { fir::PixelType::U8x2 } else { fir::PixelType::U8x4 };
        let (sw, sh) = (src.width, src.height);
        let mul_div = fir::MulDiv::default();
        let mut src_img = fir::images::Image::from_vec_u8(sw, sh, std::mem::take(&mut src.pixels), pt)
            .map_err(|e| Error::Resize(e.to_string()))?;
        mul_div
            .multiply_alpha_inplace(&mut src_img)
            .map_err(|e| Error::Resize(e.to_string()))?;
        let mut dst_img = fir::images::Image::new(dst_w, dst_h, pt);
        let opts = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3))
            .use_alpha(false);
        self.inner
            .resize(&src_img, &mut dst_img, &opts)
            .map_err(|e| Error::Resize(e.to_string()))?;
        drop(src_img);
        mul_div
            .divide_alpha_inplace(&mut dst_img)
            .map_err(|e| Error::Resize(e.to_string()))?;
        Ok(Bitmap {
            pixels: dst_img.into_vec(),
            width: dst_w,
            height: dst_h,
            channels: src.channels,
        })
    }
}

/// Encodes grey or RGB pixels as baseline JPEG, 4:2:0, at `quality` (1-100), with
/// mozjpeg's fastest profile (= libjpeg-turbo output) and optimised Huffman tables.
/// Alpha is not flattened here: 2/4-channel input is [`Error::Unsupported`].
#[cfg(feature = "mozjpeg")]
pub fn encode_jpeg(img: &Bitmap, quality: u8) -> Result<Vec<u8>> {
    img.check_len()?;
    let cs = match img.channels {
        1 => mozjpeg::ColorSpace::JCS_GRAYSCALE,
        3 => mozjpeg::ColorSpace::JCS_RGB,
        n => return Err(Error::Unsupported(format!("{n}-channel JPEG output"))),
    };
    if img.width == 0 || img.height == 0 || img.width > 65_500 || img.height > 65_500 {
        return Err(Error::Encode(format!("bad JPEG size {}x{}", img.width, img.height)));
    }
    catch_libjpeg(Error::Encode, || {
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
            .map_err(|e| Error::Encode(e.to_string()))?;
        s.write_scanlines(&img.pixels)
            .map_err(|e| Error::Encode(e.to_string()))?;
        s.finish().map_err(|e| Error::Encode(e.to_string()))
    })
}

/// Encodes RGB or RGBA pixels as lossy WebP at `quality` (0-100) with libwebp
/// `method` (0-6; sharp's default `effort` 4 is method 4). Alpha is kept
/// (`alpha_quality` 100, libwebp's default, like sharp).
pub fn encode_webp(img: &Bitmap, quality: u8, method: u8) -> Result<Vec<u8>> {
    use libwebp_sys as w;
    img.check_len()?;
    if img.channels != 3 && img.channels != 4 {
        return Err(Error::Unsupported(format!("{}-channel WebP input", img.channels)));
    }
    // WEBP_MAX_DIMENSION
    if img.width == 0 || img.height == 0 || img.width > 16383 || img.height > 16383 {
        return Err(Error::Encode(format!("bad WebP size {}x{}", img.width, img.height)));
    }
    // SAFETY: plain libwebp calls on zero-initialised structs that the Init functions
    // fill in; the picture imports (copies) `img.pixels` within its bounds, checked
    // above; the writer's memory is freed with WebPMemoryWriterClear on every path.
    unsafe {
        let mut config: w::WebPConfig = std::mem::zeroed();
        if w::WebPConfigInitInternal(
            &mut config,
            w::WebPPreset::WEBP_PRESET_DEFAULT,
            quality.min(100) as f32,
            w::WEBP_ENCODER_ABI_VERSION as i32,
        ) == 0
        {
            return Err(Error::Encode("WebPConfigInit (ABI mismatch)".into()));
        }
        config.method = method.min(6) as i32;
        config.alpha_quality = 100;
        if w::WebPValidateConfig(&config) == 0 {
            return Err(Error::Encode("invalid WebP config".into()));
        }
        let mut pic: w::WebPPicture = std::mem::zeroed();
        if !w::WebPPictureInit(&mut pic) {
            return Err(Error::Encode("WebPPictureInit".into()));
        }
        pic.width = img.width as i32;
        pic.height = img.height as i32;
        let stride = (img.width * img.channels as u32) as i32;
        let ok = if img.channels == 4 {
            w::WebPPictureImportRGBA(&mut pic, img.pixels.as_ptr(), stride)
        } else {
            w::WebPPictureImportRGB(&mut pic, img.pixels.as_ptr(), stride)
        };
        if ok == 0 {
            w::WebPPictureFree(&mut pic);
            return Err(Error::Encode("WebPPictureImport (out of memory?)".into()));
        }
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
            Err(Error::Encode(format!("WebPEncode failed: {code:?}")))
        };
        w::WebPMemoryWriterClear(&mut wr);
        out
    }
}

/// Decodes a PNG from memory to 8-bit grey / grey+alpha / RGB / RGBA (palette and
/// tRNS expanded, 16-bit stripped to 8). Only the first frame of an APNG.
pub fn decode_png(bytes: &[u8]) -> Result<Bitmap> {
    decode_png_with(bytes, &Limits::default())
}

/// [`decode_png`] with explicit [`Limits`].
pub fn decode_png_with(bytes: &[u8], limits: &Limits) -> Result<Bitmap> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    // The png crate's own allocation limit, in bytes, as a second fence.
    dec.set_limits(png::Limits {
        bytes: (limits.max_input_pixels.saturating_mul(4)).min(usize::MAX as u64) as usize,
    });
    let info = dec
        .read_header_info()
        .map_err(|e| Error::Decode(e.to_string()))?;
    limits.check(info.width as u64, info.height as u64)?;
    let mut reader = dec.read_info().map_err(|e| Error::Decode(e.to_string()))?;
    let (ct, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return Err(Error::Unsupported(format!("PNG output depth {depth:?}")));
    }
    let channels = match ct {
        png::ColorType::Grayscale => 1u8,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(Error::Unsupported("indexed PNG not expanded".into()));
        }
    };
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| Error::Limits("PNG buffer size overflows".into()))?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(size)
        .map_err(|_| Error::Limits(format!("cannot allocate {size} bytes")))?;
    buf.resize(size, 0);
    let (w, h, interlaced) = {
        let i = reader.info();
        (i.width, i.height, i.interlaced)
    };
    let line = w as usize * channels as usize;
    let need = line * h as usize;
    if buf.len() < need {
        return Err(Error::Decode("unexpected PNG buffer size".into()));
    }
    if interlaced {
        reader
            .next_frame(&mut buf)
            .map_err(|e| Error::Decode(e.to_string()))?;
    } else {
        // Row by row and stop after the last row: `next_frame` would also read the
        // chunks after the image data and fail on a (common) missing IEND.
        for row in buf.chunks_exact_mut(line).take(h as usize) {
            match reader.read_row(row) {
                Ok(Some(_)) => {}
                Ok(None) => return Err(Error::Decode("PNG ended early".into())),
                Err(e) => return Err(Error::Decode(e.to_string())),
            }
        }
        // Read the rest (checks the last IDAT's CRC); a missing IEND / truncated
        // trailer after complete pixel data is accepted, as libpng-based decoders do.
        match reader.finish() {
            Ok(()) => {}
            Err(png::DecodingError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(Error::Decode(e.to_string())),
        }
    }
    buf.truncate(need);
    Ok(Bitmap {
        pixels: buf,
        width: w,
        height: h,
        channels,
    })
}

/// One whole thumbnail operation on an in-memory JPEG: shrink-on-load decode,
/// Lanczos3 to fit within `box_w` × `box_h`, JPEG q`quality` out.
#[cfg(feature = "mozjpeg")]
pub fn thumbnail_jpeg_to_jpeg(
    resizer: &mut Resizer,
    bytes: &[u8],
    box_w: u32,
    box_h: u32,
    quality: u8,
) -> Result<Vec<u8>> {
    let (w, h) = jpeg_target(bytes, box_w, box_h)?;
    let img = decode_jpeg_scaled(bytes, w, h)?;
    let out = if (img.width, img.height) == (w, h) {
        img
    } else {
        resizer.resize_owned(img, w, h)?
    };
    encode_jpeg(&out, quality)
}

/// Reads only the JPEG header and returns the thumbnail size that fits the box.
pub fn jpeg_target(bytes: &[u8], box_w: u32, box_h: u32) -> Result<(u32, u32)> {
    let (sw, sh) = jpeg_dimensions(bytes)?;
    Ok(fit_within(sw, sh, box_w, box_h))
}

/// Width and height from the first SOFn marker, without decoding (a tiny pure-Rust
/// marker walk: no allocation, no panics).
pub fn jpeg_dimensions(bytes: &[u8]) -> Result<(u32, u32)> {
    let err = |m: &str| Error::Decode(format!("JPEG header: {m}"));
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err(err("no SOI"));
    }
    let mut i = 2usize;
    loop {
        // skip fill bytes
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return Err(err("no SOF before end of data"));
        };
        i += 1;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => return Err(err("no SOF before scan")),
            _ => {}
        }
        let len = match bytes.get(i..i + 2) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]) as usize,
            None => return Err(err("truncated segment length")),
        };
        if len < 2 {
            return Err(err("bad segment length"));
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = bytes.get(i + 2..i + len).ok_or_else(|| err("truncated SOF"))?;
            if seg.len() < 5 {
                return Err(err("short SOF"));
            }
            let h = u16::from_be_bytes([seg[1], seg[2]]) as u32;
            let w = u16::from_be_bytes([seg[3], seg[4]]) as u32;
            if w == 0 || h == 0 {
                return Err(Error::Limits(format!("zero dimension {w}x{h}")));
            }
            return Ok((w, h));
        }
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit() {
        assert_eq!(fit_within(4000, 3000, 300, 300), (300, 225));
        assert_eq!(fit_within(6000, 4000, 300, 300), (300, 200));
        assert_eq!(fit_within(4000, 3000, 1200, 1200), (1200, 900));
        assert_eq!(fit_within(2000, 2000, 400, 400), (400, 400));
        assert_eq!(fit_within(3000, 4000, 300, 300), (225, 300));
        assert_eq!(fit_within(10, 10, 300, 300), (10, 10));
        assert_eq!(fit_within(10000, 1, 300, 300), (300, 1));
    }

    #[test]
    fn shrink() {
        assert_eq!(jpeg_shrink_factor(4000, 3000, 300, 225), 8);
        assert_eq!(jpeg_shrink_factor(6000, 4000, 300, 200), 8);
        assert_eq!(jpeg_shrink_factor(4000, 3000, 1200, 900), 2);
        assert_eq!(jpeg_shrink_factor(1920, 1080, 300, 169), 4);
        assert_eq!(jpeg_shrink_factor(100, 100, 0, 0), 8);
        assert_eq!(jpeg_shrink_factor(100, 100, 100, 100), 1);
    }

    #[test]
    fn garbage_is_an_error() {
        #[cfg(feature = "mozjpeg")]
        {
            assert!(decode_jpeg_scaled(b"", 10, 10).is_err());
            assert!(decode_jpeg_scaled(b"\xFF\xD8", 10, 10).is_err());
            assert!(decode_jpeg_scaled(&[0xFF; 100], 10, 10).is_err());
        }
        assert!(decode_png(b"\x89PNG\r\n\x1a\n").is_err());
        assert!(jpeg_dimensions(b"\xFF\xD8\xFF\xC0\x00").is_err());
    }
}
