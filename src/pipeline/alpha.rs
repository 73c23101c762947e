//! Alpha for the output: flattened onto the background when the output format has no
//! alpha (JPEG) or when `background` is set (imgproxy fills transparent areas then);
//! kept otherwise (PNG, WebP, and GIF, whose encoder makes it binary).

use super::bitmap::Bitmap;
use crate::options::{OutputFormat, Rgb};

const WHITE: Rgb = Rgb {
    r: 255,
    g: 255,
    b: 255,
};

pub fn prepare(img: Bitmap, format: OutputFormat, background: Option<Rgb>) -> Bitmap {
    if !img.has_alpha() {
        return img;
    }
    let keeps_alpha = matches!(
        format,
        OutputFormat::Png | OutputFormat::Webp | OutputFormat::Avif | OutputFormat::Gif
    );
    match (keeps_alpha, background) {
        (true, None) => img,
        (_, bg) => flatten(&img, bg.unwrap_or(WHITE)),
    }
}

/// `out = fg * a + bg * (1 - a)` per channel, rounded; grey+alpha stays grey when the
/// background is grey, else becomes RGB.
pub fn flatten(img: &Bitmap, bg: Rgb) -> Bitmap {
    let blend = |f: u8, b: u8, a: u8| -> u8 {
        let (f, b, a) = (f as u32, b as u32, a as u32);
        ((f * a + b * (255 - a) + 127) / 255) as u8
    };
    let grey_bg = bg.r == bg.g && bg.g == bg.b;
    let (pixels, channels) = match img.channels {
        2 if grey_bg => (
            img.pixels
                .chunks_exact(2)
                .map(|p| blend(p[0], bg.r, p[1]))
                .collect(),
            1,
        ),
        2 => (
            img.pixels
                .chunks_exact(2)
                .flat_map(|p| {
                    [
                        blend(p[0], bg.r, p[1]),
                        blend(p[0], bg.g, p[1]),
                        blend(p[0], bg.b, p[1]),
                    ]
                })
                .collect(),
            3,
        ),
        _ => (
            img.pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    [
                        blend(p[0], bg.r, p[3]),
                        blend(p[1], bg.g, p[3]),
                        blend(p[2], bg.b, p[3]),
                    ]
                })
                .collect(),
            3,
        ),
    };
    Bitmap {
        pixels,
        width: img.width,
        height: img.height,
        channels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba(px: &[[u8; 4]]) -> Bitmap {
        Bitmap {
            pixels: px.iter().flatten().copied().collect(),
            width: px.len() as u32,
            height: 1,
            channels: 4,
        }
    }

    #[test]
    fn jpeg_flattens_on_white_by_default() {
        let img = rgba(&[[255, 0, 0, 255], [0, 0, 0, 0], [0, 0, 0, 128]]);
        let out = prepare(img, OutputFormat::Jpeg, None);
        assert_eq!(out.channels, 3);
        assert_eq!(out.pixels, vec![255, 0, 0, 255, 255, 255, 127, 127, 127]);
    }

    #[test]
    fn png_and_webp_keep_alpha_unless_bg_is_set() {
        let img = rgba(&[[0, 0, 0, 0]]);
        assert_eq!(prepare(img.clone(), OutputFormat::Png, None).channels, 4);
        assert_eq!(prepare(img.clone(), OutputFormat::Webp, None).channels, 4);
        let bg = Rgb { r: 0, g: 128, b: 0 };
        let out = prepare(img, OutputFormat::Png, Some(bg));
        assert_eq!(out.pixels, vec![0, 128, 0]);
    }

    #[test]
    fn grey_alpha() {
        let img = Bitmap {
            pixels: vec![0, 0, 200, 255],
            width: 2,
            height: 1,
            channels: 2,
        };
        let out = prepare(img, OutputFormat::Jpeg, None);
        assert_eq!((out.channels, out.pixels), (1, vec![255, 200]));
    }
}
