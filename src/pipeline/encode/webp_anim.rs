//! Animated WebP output through libwebp's `WebPAnimEncoder` (libwebpmux, built by
//! libwebp-sys with the rest of libwebp): frames are added as they come out of the
//! per-frame pipeline; the encoder keeps the previous canvas and the encoded frames,
//! picks sub-rectangles and blending itself, and assembles the RIFF at the end. Each
//! frame uses the still encoder's config (same quality, method, alpha quality,
//! compression).

use libwebp_sys as w;

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::{webp_config, webp_picture, webp_size};
use crate::options::WebpCompression;

pub struct WebpAnim {
    enc: *mut w::WebPAnimEncoder,
    config: w::WebPConfig,
    /// Start of the next frame, in ms.
    timestamp: i32,
}

impl WebpAnim {
    /// `loops`: how many times it plays, 0 = forever.
    pub fn new(
        width: u32,
        height: u32,
        loops: u16,
        quality: u8,
        method: u8,
        compression: WebpCompression,
    ) -> Result<WebpAnim, PipelineError> {
        webp_size(width, height)?;
        let config = webp_config(quality, method, compression)?;
        // SAFETY: options zeroed then filled by libwebp's Init; the encoder is deleted
        // by Drop.
        let enc = unsafe {
            let mut opts: w::WebPAnimEncoderOptions = std::mem::zeroed();
            if w::WebPAnimEncoderOptionsInitInternal(&mut opts, w::WEBP_MUX_ABI_VERSION as i32) == 0
            {
                return Err(PipelineError::Encode(
                    "WebPAnimEncoderOptionsInit (ABI mismatch)".into(),
                ));
            }
            opts.anim_params.loop_count = i32::from(loops);
            w::WebPAnimEncoderNewInternal(
                width as i32,
                height as i32,
                &opts,
                w::WEBP_MUX_ABI_VERSION as i32,
            )
        };
        if enc.is_null() {
            return Err(PipelineError::Encode("WebPAnimEncoderNew failed".into()));
        }
        Ok(WebpAnim {
            enc,
            config,
            timestamp: 0,
        })
    }

    pub fn add(&mut self, img: &Bitmap, delay_ms: u32) -> Result<(), PipelineError> {
        let mut pic = webp_picture(img, self.config.lossless != 0)?;
        // SAFETY: a live encoder and an imported picture, freed right after the add
        // (the encoder copies what it keeps).
        let ok = unsafe {
            let ok = w::WebPAnimEncoderAdd(self.enc, &mut pic, self.timestamp, &self.config);
            w::WebPPictureFree(&mut pic);
            ok
        };
        if ok == 0 {
            return Err(self.error("WebPAnimEncoderAdd"));
        }
        let delay = i32::try_from(delay_ms).unwrap_or(i32::MAX);
        self.timestamp = self.timestamp.saturating_add(delay);
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<u8>, PipelineError> {
        // SAFETY: a null frame marks the end (its timestamp is the last frame's end);
        // the assembled data is libwebp's, copied, then cleared.
        unsafe {
            let end = w::WebPAnimEncoderAdd(
                self.enc,
                std::ptr::null_mut(),
                self.timestamp,
                std::ptr::null(),
            );
            if end == 0 {
                return Err(self.error("WebPAnimEncoderAdd(end)"));
            }
            let mut data: w::WebPData = std::mem::zeroed();
            if w::WebPAnimEncoderAssemble(self.enc, &mut data) == 0 || data.bytes.is_null() {
                return Err(self.error("WebPAnimEncoderAssemble"));
            }
            let out = std::slice::from_raw_parts(data.bytes, data.size).to_vec();
            w::WebPDataClear(&mut data);
            Ok(out)
        }
    }

    fn error(&self, call: &str) -> PipelineError {
        // SAFETY: a live encoder; the message is a NUL-terminated string it owns.
        let msg = unsafe {
            let p = w::WebPAnimEncoderGetError(self.enc);
            if p.is_null() {
                String::new()
            } else {
                std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        PipelineError::Encode(format!("{call} failed: {msg}"))
    }
}

impl Drop for WebpAnim {
    fn drop(&mut self) {
        // SAFETY: created by WebPAnimEncoderNew, deleted once.
        unsafe { w::WebPAnimEncoderDelete(self.enc) }
    }
}
