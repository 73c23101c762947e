//! Animated GIF output: frames streamed into the gif crate's encoder as they come
//! out of the per-frame pipeline, so only the encoded bytes accumulate.
//!
//! Each frame gets its own 256-colour palette from NeuQuant (as the still path), as a
//! local colour table: a palette from frame 1 would band every later frame whose
//! colours differ (a fade, a scene cut), and a local table costs at most 768 bytes
//! per frame. Every frame covers the whole canvas and is disposed to the background,
//! so a transparent pixel shows the page, never the previous frame.

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::{gif_error, gif_frame, gif_size};

pub struct GifAnim {
    enc: gif::Encoder<Vec<u8>>,
    size: (u16, u16),
}

impl GifAnim {
    /// `loops`: how many times it plays, 0 = forever.
    pub fn new(width: u32, height: u32, loops: u16) -> Result<GifAnim, PipelineError> {
        let size = gif_size(&Bitmap::new(Vec::new(), width, height, 4))?;
        let mut enc = gif::Encoder::new(Vec::new(), size.0, size.1, &[]).map_err(gif_error)?;
        // no NETSCAPE2.0 extension is "play once"; its count is repeats after the first
        // play, one less than the plays (a GIF source's count comes back unchanged)
        match loops {
            0 => enc.set_repeat(gif::Repeat::Infinite).map_err(gif_error)?,
            1 => {}
            n => enc
                .set_repeat(gif::Repeat::Finite(n - 1))
                .map_err(gif_error)?,
        }
        Ok(GifAnim { enc, size })
    }

    pub fn add(&mut self, img: &Bitmap, delay_ms: u32) -> Result<(), PipelineError> {
        let mut frame = gif_frame(img, self.size.0, self.size.1);
        frame.delay = u16::try_from(delay_ms.div_ceil(10)).unwrap_or(u16::MAX);
        frame.dispose = gif::DisposalMethod::Background;
        self.enc.write_frame(&frame).map_err(gif_error)
    }

    pub fn finish(self) -> Result<Vec<u8>, PipelineError> {
        self.enc.into_inner().map_err(gif_error)
    }
}
