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

#[cfg(test)]
mod tests {
    use super::*;
    use image::ExtendedColorType;
    use image::codecs::ico::{IcoEncoder, IcoFrame};

    #[test]
    fn the_largest_png_entry_whatever_its_colour_type() {
        let grey = IcoFrame::as_png(&[50; 4], 2, 2, ExtendedColorType::L8).unwrap();
        let rgb = IcoFrame::as_png(&[200; 3 * 9], 3, 3, ExtendedColorType::Rgb8).unwrap();
        let mut ico = Vec::new();
        IcoEncoder::new(&mut ico)
            .encode_images(&[rgb, grey])
            .unwrap();
        let p = probe::probe(&ico, u64::MAX).unwrap();
        assert_eq!((p.format, p.width, p.height), (SourceFormat::Ico, 3, 3));
        let img = decode(&ico, &p).unwrap();
        assert_eq!((img.width, img.channels, img.pixels[0]), (3, 3, 200));
    }
}
