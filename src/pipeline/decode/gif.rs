//! GIF decoding with the `gif` crate (through `image`'s `GifDecoder`): the first
//! frame, composited on a transparent canvas of the logical screen's size, as RGBA;
//! or, for the animation step, every frame in turn ([`frames`]).
//!
//! The still path decodes frame 1 only, so an animation answered as a still costs one
//! frame however many it has (the 10000-frame bomb costs one canvas); nothing before
//! frame 1 can be disposed of, so disposal modes do not change it. Interlacing and the transparent index are the gif
//! crate's. A frame larger than the screen is refused by the allocation fence in
//! [`super::via_image`]; a truncated frame is an error, never a partly grey picture.

use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, ImageDecoder};

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::probe::{self, Probe};
use super::{Frames, check_size, via_image};

pub fn decode(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    via_image::decode("GIF", GifDecoder::new, bytes, probe)
}

/// Every frame, composited by `image`'s frame iterator (disposal to background or
/// previous, transparent pixels showing what is below): full canvases, one at a time.
/// The iterator holds the undisposed canvas, the frame's own buffer and the composited
/// canvas; the allocation limit of three canvases refuses a frame larger than the
/// screen instead of allocating by its descriptor.
pub fn frames<'a>(bytes: &'a [u8], probe: &Probe) -> Result<Frames<'a>, PipelineError> {
    let err = |e: image::ImageError| PipelineError::Decode(format!("GIF: {e}"));
    let mut dec = GifDecoder::new(Cursor::new(bytes)).map_err(err)?;
    let (w, h) = dec.dimensions();
    check_size("GIF", probe, w, h)?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(3 * u64::from(w) * u64::from(h) * 4);
    dec.set_limits(limits).map_err(err)?;
    // NETSCAPE2.0 counts repeats after the first play (browsers play n + 1 times; libwebp's
    // gif2webp adds 1 the same way); no extension means the animation plays once
    let loops = match probe::gif_blocks(bytes).loops {
        None => 1,
        Some(0) => 0,
        Some(n) => n.saturating_add(1),
    };
    let iter = dec.into_frames().map(move |f| {
        let f = f.map_err(err)?;
        let (numer, denom) = f.delay().numer_denom_ms();
        let buf = f.into_buffer();
        let (fw, fh) = buf.dimensions();
        Ok((Bitmap::new(buf.into_raw(), fw, fh, 4), numer / denom.max(1)))
    });
    Ok(Frames {
        loops,
        iter: Box::new(iter),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::probe;

    const PALETTE: [u8; 6] = [255, 0, 0, 0, 0, 255]; // red, blue

    /// A `w`x`h` screen with frames of (left, top, width, height, colour index).
    fn gif(w: u16, h: u16, frames: &[(u16, u16, u16, u16, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = gif::Encoder::new(&mut out, w, h, &PALETTE).unwrap();
            for &(left, top, fw, fh, index) in frames {
                let mut f = gif::Frame::from_indexed_pixels(
                    fw,
                    fh,
                    vec![index; fw as usize * fh as usize],
                    None,
                );
                (f.left, f.top) = (left, top);
                enc.write_frame(&f).unwrap();
            }
        }
        out
    }

    fn run(bytes: &[u8]) -> Result<Bitmap, PipelineError> {
        decode(bytes, &probe::probe(bytes, 50_000_000)?)
    }

    #[test]
    fn frame_one_sits_on_a_transparent_canvas() {
        // frame 1 is 1x1 at (2, 1) on a 4x2 screen; frame 2 (blue, full) is never drawn
        let img = run(&gif(4, 2, &[(2, 1, 1, 1, 0), (0, 0, 4, 2, 1)])).unwrap();
        assert_eq!((img.width, img.height, img.channels), (4, 2, 4));
        let px = |x: usize, y: usize| &img.pixels[(y * 4 + x) * 4..][..4];
        assert_eq!(px(2, 1), [255, 0, 0, 255]);
        assert_eq!(px(0, 0), [0, 0, 0, 0]);
        assert_eq!(px(3, 1), [0, 0, 0, 0]);
    }

    #[test]
    fn truncated_and_oversized_frames_are_errors() {
        let full = gif(8, 8, &[(0, 0, 8, 8, 1)]);
        assert!(run(&full).is_ok());
        assert!(run(&full[..full.len() - 6]).is_err(), "a cut frame");
        // a 16x16 frame on a 2x2 screen: more than the canvas-sized fence
        assert!(run(&gif(2, 2, &[(0, 0, 16, 16, 0)])).is_err());
    }
}
