//! BMP decoding with the `image` crate's decoder: 1/4/8-bit palettes, RLE4/RLE8,
//! 16/24/32-bit with or without bitfields, V4/V5 alpha; RGB, or RGBA when the file
//! has alpha. The RLE bombs (a huge declared size, an end-of-bitmap at once) are
//! refused by the probe's resolution limit before this runs.

use image::codecs::bmp::BmpDecoder;

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::probe::Probe;
use super::via_image;

pub fn decode(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    via_image::decode("BMP", BmpDecoder::new, bytes, probe)
}
