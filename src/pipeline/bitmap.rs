//! [`Bitmap`]: the pixels passed between pipeline steps.

/// Interleaved 8-bit pixels: `channels` is 1 (grey), 2 (grey+alpha), 3 (RGB) or 4
/// (RGBA); alpha is straight (not premultiplied) between steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
}

impl Bitmap {
    pub fn has_alpha(&self) -> bool {
        self.channels == 2 || self.channels == 4
    }

    /// Whether the buffer holds exactly `width * height * channels` bytes.
    pub fn is_consistent(&self) -> bool {
        (1..=4).contains(&self.channels)
            && self.pixels.len()
                == self.width as usize * self.height as usize * self.channels as usize
    }
}
