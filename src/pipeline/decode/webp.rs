//! WebP decoding with libwebp (lossy, lossless, alpha; the first frame of an
//! animation, composited on its canvas by libwebp's animation decoder).

use libwebp_sys as w;

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::probe::Probe;
use super::{alloc, check_size};

pub fn decode(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    // SAFETY: WebPGetFeatures reads at most `bytes.len()` bytes and fills `f`.
    let mut f: w::WebPBitstreamFeatures = unsafe { std::mem::zeroed() };
    let status = unsafe { w::WebPGetFeatures(bytes.as_ptr(), bytes.len(), &mut f) };
    if status != w::VP8StatusCode::VP8_STATUS_OK {
        return Err(PipelineError::Decode(format!("WebP header: {status:?}")));
    }
    check_size("WebP", probe, f.width as u32, f.height as u32)?;
    if f.has_animation != 0 {
        return first_frame(bytes, probe);
    }
    let channels: u8 = if f.has_alpha != 0 { 4 } else { 3 };
    let (width, height) = (probe.width, probe.height);
    let stride = width as usize * channels as usize;
    let mut pixels = alloc(stride * height as usize)?;
    // SAFETY: the output buffer is exactly stride * height bytes, as passed; libwebp
    // writes within it or fails (returns null).
    let out = unsafe {
        if channels == 4 {
            w::WebPDecodeRGBAInto(
                bytes.as_ptr(),
                bytes.len(),
                pixels.as_mut_ptr(),
                pixels.len(),
                stride as i32,
            )
        } else {
            w::WebPDecodeRGBInto(
                bytes.as_ptr(),
                bytes.len(),
                pixels.as_mut_ptr(),
                pixels.len(),
                stride as i32,
            )
        }
    };
    if out.is_null() {
        return Err(PipelineError::Decode(
            "WebP bitstream is corrupt or truncated".into(),
        ));
    }
    Ok(Bitmap {
        pixels,
        width,
        height,
        channels,
    })
}

/// Frame 1 of an animated WebP, as RGBA on the whole canvas.
fn first_frame(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    let data = w::WebPData {
        bytes: bytes.as_ptr(),
        size: bytes.len(),
    };
    // SAFETY: options are initialised by libwebp; the decoder borrows `bytes`, which
    // outlives it; the frame buffer belongs to the decoder and is copied before
    // WebPAnimDecoderDelete, which runs on every path after a successful New.
    unsafe {
        let mut opts: w::WebPAnimDecoderOptions = std::mem::zeroed();
        if w::WebPAnimDecoderOptionsInit(&mut opts) == 0 {
            return Err(PipelineError::Decode("WebP animation decoder (ABI)".into()));
        }
        opts.color_mode = w::WEBP_CSP_MODE::MODE_RGBA;
        opts.use_threads = 0;
        let dec = w::WebPAnimDecoderNew(&data, &opts);
        if dec.is_null() {
            return Err(PipelineError::Decode("WebP animation is corrupt".into()));
        }
        let mut info = w::WebPAnimInfo::default();
        let result = (|| {
            if w::WebPAnimDecoderGetInfo(dec, &mut info) == 0 {
                return Err(PipelineError::Decode("WebP animation info".into()));
            }
            check_size("WebP", probe, info.canvas_width, info.canvas_height)?;
            let mut buf: *mut u8 = std::ptr::null_mut();
            let mut timestamp = 0;
            if w::WebPAnimDecoderGetNext(dec, &mut buf, &mut timestamp) == 0 || buf.is_null() {
                return Err(PipelineError::Decode(
                    "WebP animation frame 1 is corrupt".into(),
                ));
            }
            let len = info.canvas_width as usize * info.canvas_height as usize * 4;
            let mut pixels = alloc(len)?;
            pixels.copy_from_slice(std::slice::from_raw_parts(buf, len));
            Ok(Bitmap {
                pixels,
                width: info.canvas_width,
                height: info.canvas_height,
                channels: 4,
            })
        })();
        w::WebPAnimDecoderDelete(dec);
        result
    }
}
