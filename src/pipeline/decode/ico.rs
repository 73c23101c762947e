//! ICO decoding: the entry with the most bits per pixel, then the largest (the probe
//! picks it and reads its real size from the entry's own header). PNG entries go
//! through the PNG path (any PNG colour type; `image`'s ICO decoder refuses all but
//! RGBA), BMP entries through `image`'s ICO decoder (DIB + AND mask), as RGBA.

use image::codecs::ico::IcoDecoder;

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::probe::{self, Probe, SourceFormat};
use super::{png, via_image};

pub fn decode(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    let entry = probe::ico_entry(bytes)?;
    if entry.starts_with(probe::PNG_SIGNATURE) {
        let as_png = Probe {
            format: SourceFormat::Png,
            ..*probe
        };
        return png::decode(entry, &as_png);
    }
    via_image::decode("ICO", IcoDecoder::new, bytes, probe)
}
