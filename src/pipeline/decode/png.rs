//! PNG decoding with the pure-Rust `png` crate, expanded to 8 bits per sample
//! (palette + tRNS -> RGBA, 16-bit -> 8-bit), first frame only for APNG.

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::probe::Probe;
use super::{alloc, check_size};

fn err(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Decode(e.to_string())
}

pub fn decode(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    // the profile was read by `icc::extract` (bounded by its own limit); not twice
    dec.set_ignore_iccp_chunk(true);
    // The crate's own allocation fence, in bytes: the probed size at 8 bytes/pixel.
    let budget = (probe.width as u64 * probe.height as u64).saturating_mul(8);
    dec.set_limits(png::Limits {
        bytes: budget.min(usize::MAX as u64) as usize,
    });
    let mut reader = dec.read_info().map_err(err)?;
    let (w, h, interlaced) = {
        let i = reader.info();
        (i.width, i.height, i.interlaced)
    };
    check_size("PNG", probe, w, h)?;
    let (ct, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return Err(PipelineError::Unsupported(format!(
            "PNG output depth {depth:?}"
        )));
    }
    let channels = match ct {
        png::ColorType::Grayscale => 1u8,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(PipelineError::Unsupported(
                "indexed PNG not expanded".into(),
            ));
        }
    };
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| PipelineError::TooLarge("PNG buffer size overflows".into()))?;
    let line = w as usize * channels as usize;
    let need = line * h as usize;
    let mut buf = alloc(size.max(need))?;
    if interlaced {
        reader.next_frame(&mut buf).map_err(err)?;
    } else {
        // Row by row, stopping after the last row: `next_frame` would also read the
        // chunks after the image data and fail on a (common) missing IEND.
        for row in buf.chunks_exact_mut(line).take(h as usize) {
            match reader.read_row(row) {
                Ok(Some(_)) => {}
                Ok(None) => return Err(PipelineError::Decode("PNG data ended early".into())),
                Err(e) => return Err(err(e)),
            }
        }
        // Checks the last IDAT's CRC; a missing IEND after complete pixel data is
        // accepted, as libpng-based decoders do.
        match reader.finish() {
            Ok(()) => {}
            Err(png::DecodingError::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(err(e)),
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
