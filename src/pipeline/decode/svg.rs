//! SVG rasterising with `resvg` (usvg's tree, tiny-skia's renderer), at the size the
//! probe took from the root's `width`/`height`/`viewBox`, or larger when the plan
//! enlarges it (see [`super::svg_size`]), as straight-alpha RGBA.
//!
//! Built without resvg's `text` (shaping needs system fonts: text is left out of the
//! picture) and `raster-images` features. Nothing outside the file is ever read:
//! `<image href>` strings (file paths, URLs) resolve to nothing, only `data:` URLs of
//! nested SVGs are drawn; scripts, event handlers, `foreignObject` and external CSS
//! are not part of usvg's model; external XML entities are not loaded (a reference to
//! one is a parse error, so the XXE probes are a 422).

use resvg::tiny_skia::{PixmapMut, Transform};
use resvg::usvg;

use super::super::bitmap::Bitmap;
use super::super::error::PipelineError;
use super::alloc;

/// Draws the picture stretched to `(w, h)`: the probe's size, or that size enlarged.
pub fn decode(bytes: &[u8], (w, h): (u32, u32)) -> Result<Bitmap, PipelineError> {
    let mut opts = usvg::Options::default();
    opts.image_href_resolver.resolve_string = Box::new(|_, _| None);
    let tree = usvg::Tree::from_data(bytes, &opts)
        .map_err(|e| PipelineError::Decode(format!("SVG: {e}")))?;
    let mut pixels = alloc(w as usize * h as usize * 4)?;
    let mut pixmap = PixmapMut::from_bytes(&mut pixels, w, h)
        .ok_or_else(|| PipelineError::TooLarge(format!("SVG canvas {w}x{h}")))?;
    // the probe's (or the enlarged) size wins: usvg's own (float) size only scales
    // the drawing to it
    let size = tree.size();
    let scale = Transform::from_scale(w as f32 / size.width(), h as f32 / size.height());
    resvg::render(&tree, scale, &mut pixmap);
    unpremultiply(&mut pixels);
    Ok(Bitmap {
        pixels,
        width: w,
        height: h,
        channels: 4,
    })
}

/// tiny-skia draws premultiplied RGBA; the pipeline passes straight alpha.
fn unpremultiply(px: &mut [u8]) {
    for p in px.chunks_exact_mut(4) {
        let a = u16::from(p[3]);
        if a != 0 && a != 255 {
            for c in &mut p[..3] {
                *c = ((u16::from(*c) * 255 + a / 2) / a).min(255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::probe;

    fn run(svg: &str) -> Result<Bitmap, PipelineError> {
        let p = probe::probe(svg.as_bytes(), 50_000_000)?;
        decode(svg.as_bytes(), (p.width, p.height))
    }

    #[test]
    fn draws_at_the_declared_size() {
        let img = run(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">
            <rect width="10" height="10" fill="#ff0000"/></svg>"##,
        )
        .unwrap();
        assert_eq!((img.width, img.height, img.channels), (20, 10, 4));
        assert_eq!(&img.pixels[..4], [255, 0, 0, 255]);
        assert_eq!(img.pixels[19 * 4 + 3], 0, "the right half is transparent");
        let half = run(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 2">
            <rect width="4" height="2" fill="#000" fill-opacity="0.5"/></svg>"##,
        )
        .unwrap();
        assert_eq!((half.width, half.height), (4, 2));
        assert_eq!(&half.pixels[..4], [0, 0, 0, 128]);
    }

    #[test]
    fn draws_enlarged_as_a_vector() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">
            <rect width="10" height="10" fill="#ff0000"/></svg>"##;
        let img = decode(svg.as_bytes(), (80, 40)).unwrap();
        assert_eq!((img.width, img.height), (80, 40));
        // a sharp edge at x = 40: no interpolated column
        let px = |x: usize| &img.pixels[(20 * 80 + x) * 4..(20 * 80 + x) * 4 + 4];
        assert_eq!(px(39), [255, 0, 0, 255]);
        assert_eq!(px(40)[3], 0);
    }

    const RED: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4" fill="#f00"/></svg>"##;

    #[test]
    fn nothing_outside_the_file_is_read() {
        let inner = tempfile::Builder::new().suffix(".svg").tempfile().unwrap();
        std::fs::write(inner.path(), RED).unwrap();
        let inner = inner.path();
        let svg = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><image width="4" height="4" href="{}"/></svg>"##,
            inner.display()
        );
        let img = run(&svg).unwrap();
        assert!(
            img.pixels.iter().all(|&b| b == 0),
            "the local file was drawn"
        );
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY p SYSTEM "file:///etc/passwd">]>
            <svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><text>&p;</text></svg>"#;
        assert!(run(xxe).is_err());
    }
}
