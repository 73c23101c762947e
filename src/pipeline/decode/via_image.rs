//! The glue between the `image` crate's decoders (GIF, BMP, ICO, TIFF) and the
//! pipeline, in one place so each format module stays a few lines: the decoder must
//! see the probed size, its own allocations are fenced, its output buffer is ours
//! (allocated fallibly), and its colour types become a [`Bitmap`].
//!
//! `image` is built with only these decoders (`default-features = false`); PNG inside
//! ICO reuses the `png` crate the PNG path already links.

use std::io::Cursor;

use image::{ColorType, ImageDecoder, ImageError, ImageResult};

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::probe::Probe;
use super::{alloc, check_size};

/// Decodes the first image of `bytes` with the decoder `open` makes, into a bitmap of
/// the probed size.
pub fn decode<'a, D: ImageDecoder>(
    format: &str,
    open: impl FnOnce(Cursor<&'a [u8]>) -> ImageResult<D>,
    bytes: &'a [u8],
    probe: &Probe,
) -> Result<Bitmap, PipelineError> {
    let source_len = bytes.len();
    let mut dec = open(Cursor::new(bytes)).map_err(|e| error(format, e))?;
    let (w, h) = dec.dimensions();
    check_size(format, probe, w, h)?;
    let color = dec.color_type();
    let channels = match color {
        ColorType::L8 | ColorType::L16 => 1,
        ColorType::La8 | ColorType::La16 => 2,
        ColorType::Rgb8 | ColorType::Rgb16 => 3,
        ColorType::Rgba8 | ColorType::Rgba16 => 4,
        other => {
            return Err(PipelineError::Unsupported(format!(
                "{format} with {other:?} samples is not supported"
            )));
        }
    };
    let total = dec.total_bytes();
    // What the decoder may allocate besides our buffer: a copy of the image (TIFF
    // decodes into its own buffer first; a GIF frame is composited from a frame-sized
    // one) and chunks no larger than the file. A frame or strip that claims more fails
    // here instead of allocating by its header.
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(total.saturating_mul(2).saturating_add(source_len as u64));
    dec.set_limits(limits).map_err(|e| error(format, e))?;
    let len = usize::try_from(total)
        .map_err(|_| PipelineError::TooLarge(format!("{format} of {total} bytes")))?;
    let mut buf = alloc(len)?;
    dec.read_image(&mut buf).map_err(|e| error(format, e))?;
    if color.bytes_per_pixel() > channels {
        narrow_16_to_8(&mut buf);
    }
    Ok(Bitmap {
        pixels: buf,
        width: w,
        height: h,
        channels,
    })
}

/// Native-endian 16-bit samples to 8 bits (the high byte, as the PNG path's
/// `STRIP_16`), in place: no second buffer at the largest size.
fn narrow_16_to_8(buf: &mut Vec<u8>) {
    let n = buf.len() / 2;
    for i in 0..n {
        buf[i] = (u16::from_ne_bytes([buf[2 * i], buf[2 * i + 1]]) >> 8) as u8;
    }
    buf.truncate(n);
}

fn error(format: &str, e: ImageError) -> PipelineError {
    match e {
        ImageError::Limits(e) => PipelineError::TooLarge(format!("{format}: {e}")),
        ImageError::Unsupported(e) => PipelineError::Unsupported(format!("{format}: {e}")),
        other => PipelineError::Decode(format!("{format}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bits_keep_the_high_byte() {
        let mut v: Vec<u8> = [0x1234u16, 0xFFFF, 0x00FF]
            .iter()
            .flat_map(|s| s.to_ne_bytes())
            .collect();
        narrow_16_to_8(&mut v);
        assert_eq!(v, [0x12, 0xFF, 0x00]);
    }
}
