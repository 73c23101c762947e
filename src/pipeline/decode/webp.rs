//! WebP decoding with libwebp (lossy, lossless, alpha; the first frame of an
//! animation, or all of them for the animation step, composited on its canvas by
//! libwebp's animation decoder).

use libwebp_sys as w;

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::probe::Probe;
use super::{Frames, alloc, check_size};

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
    match frames(bytes, probe)?.iter.next() {
        Some(frame) => frame.map(|(img, _)| img),
        None => Err(PipelineError::Decode("WebP animation has no frames".into())),
    }
}

/// Every frame of an animated WebP, composited on its canvas by libwebp's animation
/// decoder (blending and disposal are libwebp's), copied out one at a time.
pub fn frames<'a>(bytes: &'a [u8], probe: &Probe) -> Result<Frames<'a>, PipelineError> {
    let data = w::WebPData {
        bytes: bytes.as_ptr(),
        size: bytes.len(),
    };
    // SAFETY: options are initialised by libwebp; the decoder borrows `bytes`, which
    // outlives it (the iterator's lifetime is tied to `bytes`); `AnimFrames` deletes it.
    let dec = unsafe {
        let mut opts: w::WebPAnimDecoderOptions = std::mem::zeroed();
        if w::WebPAnimDecoderOptionsInit(&mut opts) == 0 {
            return Err(PipelineError::Decode("WebP animation decoder (ABI)".into()));
        }
        opts.color_mode = w::WEBP_CSP_MODE::MODE_RGBA;
        opts.use_threads = 0;
        w::WebPAnimDecoderNew(&data, &opts)
    };
    if dec.is_null() {
        return Err(PipelineError::Decode("WebP animation is corrupt".into()));
    }
    let mut frames = AnimFrames {
        dec,
        width: 0,
        height: 0,
        timestamp: 0,
        done: false,
        _bytes: std::marker::PhantomData,
    };
    let mut info = w::WebPAnimInfo::default();
    // SAFETY: `dec` is a live decoder; `info` is written by libwebp.
    if unsafe { w::WebPAnimDecoderGetInfo(dec, &mut info) } == 0 {
        return Err(PipelineError::Decode("WebP animation info".into()));
    }
    check_size("WebP", probe, info.canvas_width, info.canvas_height)?;
    (frames.width, frames.height) = (info.canvas_width, info.canvas_height);
    Ok(Frames {
        loops: u16::try_from(info.loop_count).unwrap_or(0),
        iter: Box::new(frames),
    })
}

/// Owns a `WebPAnimDecoder` reading from bytes that live for `'a`.
struct AnimFrames<'a> {
    dec: *mut w::WebPAnimDecoder,
    width: u32,
    height: u32,
    /// End of the previous frame, in ms (libwebp gives end times, not durations).
    timestamp: i32,
    done: bool,
    _bytes: std::marker::PhantomData<&'a [u8]>,
}

impl Iterator for AnimFrames<'_> {
    type Item = Result<(Bitmap, u32), PipelineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf: *mut u8 = std::ptr::null_mut();
        let mut timestamp = 0;
        // SAFETY: `dec` is live until drop; on success `buf` points at the decoder's
        // canvas (width x height RGBA), valid until the next call, copied at once.
        unsafe {
            if self.done || w::WebPAnimDecoderHasMoreFrames(self.dec) == 0 {
                return None;
            }
            if w::WebPAnimDecoderGetNext(self.dec, &mut buf, &mut timestamp) == 0 || buf.is_null() {
                // a corrupt frame ends the animation with an error, once
                self.done = true;
                return Some(Err(PipelineError::Decode(
                    "WebP animation frame is corrupt".into(),
                )));
            }
            let len = self.width as usize * self.height as usize * 4;
            let mut pixels = match alloc(len) {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
            pixels.copy_from_slice(std::slice::from_raw_parts(buf, len));
            let delay = timestamp.saturating_sub(self.timestamp).max(0) as u32;
            self.timestamp = timestamp;
            Some(Ok((Bitmap::new(pixels, self.width, self.height, 4), delay)))
        }
    }
}

impl Drop for AnimFrames<'_> {
    fn drop(&mut self) {
        // SAFETY: created by WebPAnimDecoderNew, deleted once.
        unsafe { w::WebPAnimDecoderDelete(self.dec) }
    }
}
