//! AVIF decoding: the HEIF container by `avif-parse` (the primary item's AV1 data and
//! its auxiliary alpha item), the AV1 frames by the system's libdav1d through
//! `dav1d-sys`, then YUV -> RGB(A) here.
//!
//! dav1d sizes its buffers from the AV1 sequence and frame headers, never from the
//! container; its `frame_size_limit` is set to the probed (`ispe`) area, and a frame
//! of any other size than `ispe` is refused, so a container claiming 60000x60000 over
//! a 64x64 stream (or the reverse) is a 422 before we allocate anything ourselves.
//! One thread per decode: the pipeline's workers are the parallelism.
//!
//! Colour: the sequence header's matrix (BT.601, BT.709, BT.2020 NCL, SMPTE 240, FCC,
//! identity/GBR; unspecified = BT.601, as libavif) and range; 8, 10 and 12 bits
//! reduced to 8; 4:2:0 and 4:2:2 chroma upsampled by nearest neighbour (thumbnails
//! shrink far more than that); monochrome as grey. An ICC profile (`colr`/`prof`) is
//! applied later by the `icc` step, like every format's. `irot`/`imir` are read by the
//! probe as an orientation and applied by the `orient` step. Not yet: grid images, the
//! `colr` nclx box overriding the sequence header (encoders write the same values in
//! both).

use std::os::raw::c_int;

use dav1d_sys as d;

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::probe::Probe;
use super::{alloc, check_size};

fn bad(what: impl std::fmt::Display) -> PipelineError {
    PipelineError::Decode(format!("AVIF: {what}"))
}

pub fn decode(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    let avif = avif_parse::read_avif(&mut std::io::Cursor::new(bytes)).map_err(bad)?;
    let limit = probe.width.saturating_mul(probe.height);
    let color = Frame::decode(&avif.primary_item, limit)?;
    check_size("AVIF", probe, color.width(), color.height())?;
    let alpha = match &avif.alpha_item {
        Some(item) => {
            let a = Frame::decode(item, limit)?;
            if (a.width(), a.height()) != (color.width(), color.height()) {
                return Err(bad("the alpha item's size differs from the image's"));
            }
            Some(a)
        }
        None => None,
    };
    let (w, h) = (color.width() as usize, color.height() as usize);
    let channels = if alpha.is_some() { 4 } else { 3 };
    let mut pixels = alloc(w * h * channels)?;
    let m = Matrix::of(&color)?;
    let full = color.full_range();
    for y in 0..h {
        let row = &mut pixels[y * w * channels..(y + 1) * w * channels];
        for (x, px) in row.chunks_exact_mut(channels).enumerate() {
            let luma = color.sample(0, x, y);
            let rgb = if color.monochrome() {
                let v = m.luma(luma, full);
                [v; 3]
            } else {
                let (u, v) = (color.chroma(1, x, y), color.chroma(2, x, y));
                m.rgb(luma, u, v, full)
            };
            px[..3].copy_from_slice(&rgb);
        }
    }
    if let Some(a) = alpha {
        let full = a.full_range();
        let m = Matrix::depth(a.0.p.bpc as u32);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 4;
                let alpha = m.luma(a.sample(0, x, y), full);
                pixels[i + 3] = alpha;
                if avif.premultiplied_alpha && alpha > 0 {
                    for c in &mut pixels[i..i + 3] {
                        *c = ((u32::from(*c) * 255 + u32::from(alpha) / 2) / u32::from(alpha))
                            .min(255) as u8;
                    }
                }
            }
        }
    }
    Ok(Bitmap {
        pixels,
        width: w as u32,
        height: h as u32,
        channels: channels as u8,
    })
}

/// One decoded AV1 frame, owned: the picture is unreferenced on drop, before its
/// decoder is closed (fields drop after `drop`).
struct Frame(d::Dav1dPicture, #[allow(dead_code)] Context);

impl Drop for Frame {
    fn drop(&mut self) {
        // SAFETY: the picture was filled by dav1d_get_picture and is released once.
        unsafe { d::dav1d_picture_unref(&mut self.0) }
    }
}

/// A libdav1d decoder, closed on drop.
struct Context(*mut d::Dav1dContext);

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: opened by dav1d_open; dav1d_close takes the pointer by reference and
        // nulls it.
        unsafe { d::dav1d_close(&mut self.0) }
    }
}

/// Data handed to dav1d, unreferenced on drop if dav1d did not consume all of it.
struct Data(d::Dav1dData);

impl Drop for Data {
    fn drop(&mut self) {
        if self.0.sz > 0 {
            // SAFETY: created by dav1d_data_create, not yet consumed.
            unsafe { d::dav1d_data_unref(&mut self.0) }
        }
    }
}

impl Frame {
    /// Decodes the first frame of an AV1 item (OBUs), refusing frames over `limit`
    /// pixels before dav1d allocates them.
    fn decode(obus: &[u8], limit: u32) -> Result<Frame, PipelineError> {
        let again = d::DAV1D_ERR_AGAIN;
        // SAFETY: settings are initialised by dav1d_default_settings; each resource is
        // owned by a guard (Context, Data, Frame) that releases it on every path; the
        // data buffer dav1d_data_create returns is `obus.len()` bytes.
        unsafe {
            let mut s: d::Dav1dSettings = std::mem::zeroed();
            d::dav1d_default_settings(&mut s);
            s.n_threads = 1;
            s.max_frame_delay = 1;
            s.frame_size_limit = limit;
            // no logging to stderr: a corrupt file is an error value, logged by the server
            s.logger.callback = std::ptr::null_mut();
            let mut ctx = Context(std::ptr::null_mut());
            if d::dav1d_open(&mut ctx.0, &s) < 0 || ctx.0.is_null() {
                return Err(PipelineError::Decode("AVIF: cannot start libdav1d".into()));
            }
            let mut data = Data(std::mem::zeroed());
            let buf = d::dav1d_data_create(&mut data.0, obus.len());
            if buf.is_null() {
                return Err(bad("empty or unallocatable AV1 item"));
            }
            std::ptr::copy_nonoverlapping(obus.as_ptr(), buf, obus.len());
            loop {
                if data.0.sz > 0 {
                    let r = d::dav1d_send_data(ctx.0, &mut data.0);
                    if r < 0 && r != again {
                        return Err(dav1d_error("AV1 data", r));
                    }
                }
                let mut pic: d::Dav1dPicture = std::mem::zeroed();
                let r = d::dav1d_get_picture(ctx.0, &mut pic);
                if r == 0 {
                    let frame = Frame(pic, ctx);
                    if !matches!(frame.0.p.bpc, 8 | 10 | 12) || frame.0.seq_hdr.is_null() {
                        return Err(bad("unexpected AV1 picture"));
                    }
                    return Ok(frame);
                }
                if r != again {
                    return Err(dav1d_error("AV1 frame", r));
                }
                if data.0.sz == 0 {
                    return Err(bad("the AV1 data holds no complete frame"));
                }
            }
        }
    }

    fn width(&self) -> u32 {
        self.0.p.w.max(0) as u32
    }

    fn height(&self) -> u32 {
        self.0.p.h.max(0) as u32
    }

    fn seq(&self) -> &d::Dav1dSequenceHeader {
        // SAFETY: checked non-null in `decode`; lives as long as the picture.
        unsafe { &*self.0.seq_hdr }
    }

    fn full_range(&self) -> bool {
        self.seq().color_range != 0
    }

    fn monochrome(&self) -> bool {
        self.0.p.layout == d::DAV1D_PIXEL_LAYOUT_I400
    }

    /// log2 of the chroma subsampling, horizontally and vertically.
    fn chroma_shift(&self) -> (usize, usize) {
        match self.0.p.layout {
            d::DAV1D_PIXEL_LAYOUT_I420 => (1, 1),
            d::DAV1D_PIXEL_LAYOUT_I422 => (1, 0),
            _ => (0, 0),
        }
    }

    /// Chroma plane 1 (U) or 2 (V) at luma position (x, y): bilinear between the
    /// stored samples of a subsampled axis (each sited between its two luma samples,
    /// as libavif's default upsampling), so colour edges do not become 2x2 blocks.
    fn chroma(&self, plane: usize, x: usize, y: usize) -> f32 {
        let (sx, sy) = self.chroma_shift();
        let along = |pos: usize, shift: usize, luma_len: u32| -> (usize, usize, f32) {
            if shift == 0 {
                return (pos, pos, 0.0);
            }
            let last = (luma_len as usize).div_ceil(2).saturating_sub(1);
            let p = (pos as f32 - 0.5) / 2.0;
            if p <= 0.0 {
                return (0, 0, 0.0);
            }
            let i0 = p.floor() as usize;
            (i0.min(last), (i0 + 1).min(last), p - p.floor())
        };
        let (x0, x1, fx) = along(x, sx, self.width());
        let (y0, y1, fy) = along(y, sy, self.height());
        let at = |x, y| f32::from(self.sample(plane, x, y));
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// Sample (x, y) of plane 0 (Y), 1 (U) or 2 (V), at the picture's bit depth.
    fn sample(&self, plane: usize, x: usize, y: usize) -> u16 {
        let stride = self.0.stride[plane.min(1)];
        let deep = self.0.p.bpc > 8;
        let offset = y as isize * stride + (x << usize::from(deep)) as isize;
        // SAFETY: (x, y) is inside the plane (callers iterate the picture's size, chroma
        // coordinates shifted by the layout's subsampling), rows are `stride` bytes
        // apart, and 10/12-bit samples are u16 (dav1d's layout).
        unsafe {
            let p = (self.0.data[plane] as *const u8).offset(offset);
            if deep {
                (p as *const u16).read_unaligned()
            } else {
                u16::from(*p)
            }
        }
    }
}

fn dav1d_error(what: &str, code: c_int) -> PipelineError {
    if code == d::DAV1D_ERR_NOMEM {
        return PipelineError::TooLarge(format!("AVIF: {what}: out of memory"));
    }
    bad(format!(
        "{what} is corrupt or unsupported (libdav1d error {code})"
    ))
}

/// YUV -> RGB for one matrix and bit depth, in floats (0..1).
struct Matrix {
    kr: f32,
    kb: f32,
    identity: bool,
    bits: u32,
}

impl Matrix {
    fn of(f: &Frame) -> Result<Matrix, PipelineError> {
        let (kr, kb) = match f.seq().mtrx {
            d::DAV1D_MC_IDENTITY => (0.0, 0.0),
            d::DAV1D_MC_BT709 => (0.2126, 0.0722),
            d::DAV1D_MC_FCC => (0.30, 0.11),
            d::DAV1D_MC_SMPTE240 => (0.212, 0.087),
            d::DAV1D_MC_BT2020_NCL => (0.2627, 0.0593),
            d::DAV1D_MC_BT470BG | d::DAV1D_MC_BT601 | d::DAV1D_MC_UNKNOWN => (0.299, 0.114),
            other => {
                return Err(PipelineError::Unsupported(format!(
                    "AVIF matrix coefficients {other}"
                )));
            }
        };
        Ok(Matrix {
            kr,
            kb,
            identity: f.seq().mtrx == d::DAV1D_MC_IDENTITY,
            bits: f.0.p.bpc as u32,
        })
    }

    /// For a plane read as luma only (alpha): no matrix.
    fn depth(bits: u32) -> Matrix {
        Matrix {
            kr: 0.0,
            kb: 0.0,
            identity: false,
            bits,
        }
    }

    /// Luma (or alpha) normalised to 0..1.
    fn y(&self, v: f32, full: bool) -> f32 {
        let max = ((1u32 << self.bits) - 1) as f32;
        if full {
            v / max
        } else {
            let s = (1u32 << (self.bits - 8)) as f32;
            (v - 16.0 * s) / (219.0 * s)
        }
    }

    /// Chroma normalised to -0.5..0.5.
    fn c(&self, v: f32, full: bool) -> f32 {
        let half = (1u32 << (self.bits - 1)) as f32;
        if full {
            (v - half) / ((1u32 << self.bits) - 1) as f32
        } else {
            let s = (1u32 << (self.bits - 8)) as f32;
            (v - half) / (224.0 * s)
        }
    }

    fn luma(&self, v: u16, full: bool) -> u8 {
        to8(self.y(f32::from(v), full))
    }

    fn rgb(&self, y: u16, u: f32, v: f32, full: bool) -> [u8; 3] {
        if self.identity {
            // GBR: Y holds G, U holds B, V holds R
            return [
                to8(self.y(v, full)),
                self.luma(y, full),
                to8(self.y(u, full)),
            ];
        }
        let (y, cb, cr) = (self.y(f32::from(y), full), self.c(u, full), self.c(v, full));
        let r = y + 2.0 * (1.0 - self.kr) * cr;
        let b = y + 2.0 * (1.0 - self.kb) * cb;
        let g = (y - self.kr * r - self.kb * b) / (1.0 - self.kr - self.kb);
        [to8(r), to8(g), to8(b)]
    }
}

fn to8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::probe;

    fn matrix(bits: u32) -> Matrix {
        Matrix {
            kr: 0.299,
            kb: 0.114,
            ..Matrix::depth(bits)
        }
    }

    #[test]
    fn limited_and_full_range_greys_and_primaries() {
        let m = matrix(8);
        assert_eq!(m.rgb(16, 128.0, 128.0, false), [0, 0, 0]);
        assert_eq!(m.rgb(235, 128.0, 128.0, false), [255, 255, 255]);
        assert_eq!(m.rgb(255, 128.0, 128.0, true), [255, 255, 255]);
        // BT.601 full-range red: Y 76, Cb 85, Cr 255
        let [r, g, b] = m.rgb(76, 85.0, 255.0, true);
        assert!(r >= 253 && g <= 2 && b <= 2, "{r} {g} {b}");
        // 10 bits: limited white is 940
        assert_eq!(matrix(10).rgb(940, 512.0, 512.0, false), [255, 255, 255]);
    }

    const ALPHA: &[u8] = include_bytes!("../../../tests/fixtures/alpha.avif");
    const ISPE_LIE: &[u8] = include_bytes!("../../../tests/fixtures/ispe_lie.avif");

    #[test]
    fn decodes_colour_and_alpha_items() {
        let p = probe::probe(ALPHA, u64::MAX).unwrap();
        assert_eq!((p.width, p.height, p.bits_per_sample), (320, 200, 8));
        let img = decode(ALPHA, &p).unwrap();
        assert_eq!((img.width, img.height, img.channels), (320, 200, 4));
        let alphas: std::collections::BTreeSet<u8> =
            img.pixels.iter().skip(3).step_by(4).copied().collect();
        assert!(alphas.len() > 2, "alpha is not flat: {alphas:?}");
    }

    #[test]
    fn a_container_lying_about_the_size_is_refused_not_allocated() {
        let p = probe::probe(ISPE_LIE, u64::MAX).unwrap();
        assert_eq!((p.width, p.height), (60000, 60000));
        assert!(matches!(
            probe::probe(ISPE_LIE, 50_000_000),
            Err(PipelineError::TooLarge(_))
        ));
        // past the limit, dav1d decodes the 64x64 stream and the size check refuses it
        let e = decode(ISPE_LIE, &p).unwrap_err();
        assert!(e.to_string().contains("64x64"), "{e}");
        // and the reverse lie: the stream is larger than the probed size
        let small = Probe {
            width: 16,
            height: 16,
            ..p
        };
        assert!(decode(ISPE_LIE, &small).is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        let probe = Probe {
            format: probe::SourceFormat::Avif,
            width: 64,
            height: 64,
            orientation: 1,
            frames: 1,
            bits_per_sample: 8,
            alpha: false,
        };
        assert!(decode(b"\0\0\0\x14ftypavif\0\0\0\0avif", &probe).is_err());
        assert!(Frame::decode(&[0x12, 0, 0x0a, 0x0b, 0xff, 0xff], 4096).is_err());
        assert!(Frame::decode(&[], 4096).is_err());
    }
}
