//! GIF decoding with the `gif` crate (through `image`'s `GifDecoder`): the first
//! frame, composited on a transparent canvas of the logical screen's size, as RGBA.
//!
//! Only frame 1 is decoded, so an animation costs one frame however many it has (the
//! 10000-frame bomb costs one canvas); nothing before frame 1 can be disposed of, so
//! disposal modes do not change it. Interlacing and the transparent index are the gif
//! crate's. A frame larger than the screen is refused by the allocation fence in
//! [`super::via_image`]; a truncated frame is an error, never a partly grey picture.

use image::codecs::gif::GifDecoder;

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::super::probe::Probe;
use super::via_image;

pub fn decode(bytes: &[u8], probe: &Probe) -> Result<Bitmap, PipelineError> {
    via_image::decode("GIF", GifDecoder::new, bytes, probe)
}
