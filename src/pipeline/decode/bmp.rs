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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::probe;
    use image::ExtendedColorType;
    use image::codecs::bmp::BmpEncoder;

    fn bmp(px: &[u8], w: u32, h: u32, color: ExtendedColorType) -> Vec<u8> {
        let mut out = Vec::new();
        BmpEncoder::new(&mut out).encode(px, w, h, color).unwrap();
        out
    }

    #[test]
    fn rgb_and_rgba_round_trip() {
        let rgb = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let b = bmp(&rgb, 2, 2, ExtendedColorType::Rgb8);
        let img = decode(&b, &probe::probe(&b, u64::MAX).unwrap()).unwrap();
        assert_eq!((img.width, img.height, img.channels), (2, 2, 3));
        assert_eq!(img.pixels, rgb);
        let rgba = [9, 8, 7, 100, 6, 5, 4, 0];
        let b = bmp(&rgba, 2, 1, ExtendedColorType::Rgba8);
        let img = decode(&b, &probe::probe(&b, u64::MAX).unwrap()).unwrap();
        assert_eq!((img.channels, &img.pixels[..]), (4, &rgba[..]));
    }

    #[test]
    fn short_pixel_data_is_an_error() {
        let b = bmp(&[7; 3 * 16 * 16], 16, 16, ExtendedColorType::Rgb8);
        let p = probe::probe(&b, u64::MAX).unwrap();
        assert!(decode(&b[..b.len() - 100], &p).is_err());
    }
}
