//! JPEG decoding with libjpeg (mozjpeg's libjpeg-turbo code, nasm SIMD), scaled in
//! the DCT domain, through a strict error manager.
//!
//! libjpeg's default `error_exit` calls `exit()`. The `mozjpeg` crate builds the C code
//! with `-fexceptions` so an error can unwind through it; our manager turns fatal
//! errors *and warnings* (corrupt entropy data, premature end of data) into unwinds
//! that [`catch_libjpeg`] catches. Warnings are fatal like sharp's `failOn: 'warning'`:
//! otherwise a truncated file decodes "fine" with a grey bottom. This needs
//! `panic = "unwind"` (the default) in every profile.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::icc;

/// Decodes at 1/`denom` of the stored size (1, 2, 4 or 8). Grey stays 1 channel;
/// YCbCr, RGB, CMYK and YCCK come out RGB (CMYK through its embedded ICC profile,
/// see [`icc::cmyk_to_rgb`]; RGB and grey profiles are applied after the resize).
pub fn decode(bytes: &[u8], denom: u32) -> Result<Bitmap, PipelineError> {
    use mozjpeg::ColorSpace as Cs;
    catch_libjpeg(PipelineError::Decode, || {
        let mut d = mozjpeg::Decompress::builder()
            .with_markers(&[mozjpeg::Marker::APP(14)])
            .with_err(jerr::manager())
            .from_mem(bytes)
            .map_err(|e| PipelineError::Decode(e.to_string()))?;
        d.scale((8 / denom.clamp(1, 8)) as u8);
        // Adobe APP14 present => CMYK samples are stored inverted (Photoshop).
        let adobe = d
            .markers()
            .any(|m| m.marker == mozjpeg::Marker::APP(14) && m.data.starts_with(b"Adobe"));
        let (channels, out_cs) = match d.color_space() {
            Cs::JCS_GRAYSCALE => (1u8, Cs::JCS_GRAYSCALE),
            Cs::JCS_YCbCr | Cs::JCS_RGB => (3u8, Cs::JCS_RGB),
            // libjpeg converts YCCK to CMYK; CMYK -> RGB is done below
            Cs::JCS_CMYK | Cs::JCS_YCCK => (4u8, Cs::JCS_CMYK),
            other => {
                return Err(PipelineError::Unsupported(format!(
                    "JPEG colour space {other:?} is not supported"
                )));
            }
        };
        let mut started = d
            .to_colorspace(out_cs)
            .map_err(|e| PipelineError::Decode(e.to_string()))?;
        let (w, h) = (started.width(), started.height());
        let mut pixels: Vec<u8> = started
            .read_scanlines()
            .map_err(|e| PipelineError::Decode(e.to_string()))?;
        if pixels.len() != w * h * channels as usize {
            return Err(PipelineError::Decode("JPEG data ended early".into()));
        }
        started
            .finish()
            .map_err(|e| PipelineError::Decode(e.to_string()))?;
        let channels = if channels == 4 {
            // CMYK is rare enough that reading the header again for the profile is free
            let profile = icc::extract::extract(bytes, crate::pipeline::SourceFormat::Jpeg);
            icc::cmyk_to_rgb(&mut pixels, w, adobe, profile.as_deref());
            3
        } else {
            channels
        };
        Ok(Bitmap {
            pixels,
            width: w as u32,
            height: h as u32,
            channels,
        })
    })
}

/// Runs `f`, turning a libjpeg unwind into an `Err` built by `what`.
pub(in crate::pipeline) fn catch_libjpeg<T>(
    what: fn(String) -> PipelineError,
    f: impl FnOnce() -> Result<T, PipelineError>,
) -> Result<T, PipelineError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(what(crate::pipeline::panic_message(payload.as_ref()))),
    }
}

/// libjpeg error manager: fatal errors and warnings unwind with the formatted message.
pub(in crate::pipeline) mod jerr {
    use mozjpeg_sys as ffi;
    use std::os::raw::c_int;

    fn message(prefix: &str, cinfo: &mut ffi::jpeg_common_struct) -> String {
        // SAFETY: `err` points at the manager libjpeg was created with; the buffer is
        // JMSG_LENGTH_MAX (200) bytes as libjpeg's format_message requires (the binding
        // declares 80, so the function pointer is re-typed to take a raw pointer).
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
        // resume_unwind: no panic hook, so no log noise for a corrupt file
        std::panic::resume_unwind(Box::new(m));
    }

    extern "C-unwind" fn emit_strict(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
        if level < 0 {
            let m = message("libjpeg warning: ", cinfo);
            std::panic::resume_unwind(Box::new(m));
        }
    }

    pub fn manager() -> ffi::jpeg_error_mgr {
        // SAFETY: jpeg_std_error fills every field of a zeroed manager.
        unsafe {
            let mut err: ffi::jpeg_error_mgr = std::mem::zeroed();
            ffi::jpeg_std_error(&mut err);
            err.error_exit = Some(error_exit);
            err.emit_message = Some(emit_strict);
            err
        }
    }
}
