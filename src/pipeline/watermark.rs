//! `watermark`/`wm`: the configured watermark image (`processing.watermark_path` or
//! `processing.watermark_data`, decoded once at start) alpha-blended over the result,
//! after extend, padding and flattening and before encoding (imgproxy's order: its
//! `watermark` step follows `flatten`). Animated outputs get it on every frame.
//!
//! As imgproxy (`processing/watermark.go`, `calc_position.go`):
//!
//! - opacity: the URL's `opacity` times `processing.watermark_opacity`; each watermark
//!   pixel covers the image by its own alpha times that (libvips' `composite` OVER);
//! - position: a gravity (`ce` default, `no`, `so`, `ea`, `we`, `noea`, `nowe`, `soea`,
//!   `sowe`), the offsets moving it away from the edge the gravity names (for `ce`,
//!   and along the free axis of `no`/`so`/`ea`/`we`, right and down); a watermark
//!   partly outside the image is cut there, never placed past the image's last pixel;
//! - `re`: the watermark tiled over the whole image, the middle tile centred, with the
//!   offsets as the spacing between tiles (half of it on each side of each tile);
//! - offsets: pixels times the applied dpr when |offset| >= 1, else a fraction of the
//!   image's width (x) or height (y);
//! - scale > 0: the watermark fitted (aspect ratio kept, enlarged if need be) into
//!   `scale` x the result's width by `scale` x its height; 0 keeps its own size.
//!
//! Deviations: a scale above 1 counts as 1 (the scaled copy never exceeds the image,
//! which also bounds its memory); a grey result becomes RGB when watermarked (imgproxy
//! only does so for a coloured watermark).

use std::borrow::Cow;

use aperture_resize::{Filter, Region, Resizer};

use super::bitmap::Bitmap;
use super::error::PipelineError;
use super::{decode, icc, orient, probe};
use crate::options::{GravityType, Watermark, WatermarkPosition};

/// The configured watermark: decoded, oriented, in sRGB, RGBA; and its base opacity.
#[derive(Debug, Clone, PartialEq)]
pub struct WatermarkImage {
    pub image: Bitmap,
    /// `processing.watermark_opacity`, 0-1.
    pub opacity: f64,
}

impl WatermarkImage {
    /// Decodes `bytes` (any source format aperture reads) at most `max_pixels` large.
    pub fn decode(bytes: &[u8], opacity: f64, max_pixels: u64) -> Result<Self, PipelineError> {
        let probed = probe::probe(bytes, max_pixels)?;
        let mut img = decode::decode_full(bytes, &probed)?;
        icc::to_srgb(
            &mut img,
            icc::extract::extract(bytes, probed.format).as_deref(),
        );
        let img = orient::apply(img, orient::Transform::from_exif(probed.orientation));
        Ok(WatermarkImage {
            image: to_rgba(&img),
            opacity,
        })
    }
}

/// The bitmap as RGBA (alpha 255 where it had none).
fn to_rgba(img: &Bitmap) -> Bitmap {
    let pixels = match img.channels {
        4 => img.pixels.clone(),
        3 => img
            .pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        2 => img
            .pixels
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        _ => img.pixels.iter().flat_map(|&v| [v, v, v, 255]).collect(),
    };
    Bitmap::new(pixels, img.width, img.height, 4)
}

/// Grey and grey+alpha as RGB and RGBA; RGB(A) unchanged.
fn to_colour(img: Bitmap) -> Bitmap {
    let pixels = match img.channels {
        1 => img.pixels.iter().flat_map(|&v| [v, v, v]).collect(),
        2 => img
            .pixels
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        _ => return img,
    };
    Bitmap::new(pixels, img.width, img.height, img.channels + 2)
}

/// The opacity the watermark is drawn with; 0 = not drawn.
pub fn opacity(wm: &WatermarkImage, opts: &Watermark) -> f64 {
    if opts.enabled {
        (opts.opacity * wm.opacity).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The watermark's size on a `width` x `height` result: its own without a scale, else
/// fitted into the scaled box (the box never larger than the image).
pub fn scaled_size(wm: (u32, u32), (width, height): (u32, u32), scale: f64) -> (u32, u32) {
    if scale <= 0.0 {
        return wm;
    }
    let s = scale.min(1.0);
    let bw = (f64::from(width) * s).round_ties_even().max(1.0);
    let bh = (f64::from(height) * s).round_ties_even().max(1.0);
    let (ww, wh) = (f64::from(wm.0.max(1)), f64::from(wm.1.max(1)));
    let k = (bw / ww).min(bh / wh);
    let w = (ww * k).round().clamp(1.0, bw);
    let h = (wh * k).round().clamp(1.0, bh);
    (w as u32, h as u32)
}

/// Bytes the watermark step may hold beyond the result itself on a `canvas`-sized
/// result: the copy of the watermark the resampler premultiplies in place, its
/// intermediate and the scaled copy, and a colour copy of the result (grey results).
pub fn working_bytes(wm: &WatermarkImage, opts: &Watermark, canvas: (u32, u32)) -> u64 {
    if opacity(wm, opts) <= 0.0 {
        return 0;
    }
    let (ww, wh) = (u64::from(wm.image.width), u64::from(wm.image.height));
    let (sw, sh) = scaled_size((wm.image.width, wm.image.height), canvas, opts.scale);
    let (sw, sh) = (u64::from(sw), u64::from(sh));
    let scaled = if (sw, sh) == (ww, wh) {
        0
    } else {
        (ww * wh + (sw * wh).max(ww * sh) + sw * sh) * 4
    };
    scaled + u64::from(canvas.0) * u64::from(canvas.1) * 4
}

/// The watermark drawn over `img` as `opts` says; `dpr` scales pixel offsets.
pub fn apply(
    img: Bitmap,
    wm: &WatermarkImage,
    opts: &Watermark,
    dpr: f64,
) -> Result<Bitmap, PipelineError> {
    let alpha = opacity(wm, opts);
    if alpha <= 0.0 || img.width == 0 || img.height == 0 {
        return Ok(img);
    }
    let mut img = to_colour(img);
    let (w, h) = (img.width, img.height);
    let mark = scaled(
        &wm.image,
        scaled_size((wm.image.width, wm.image.height), (w, h), opts.scale),
    )?;
    let off_x = offset(opts.x_offset, dpr, w);
    let off_y = offset(opts.y_offset, dpr, h);
    match opts.position {
        WatermarkPosition::Gravity(g) => {
            let (left, top) = position(g, (w, h), (mark.width, mark.height), (off_x, off_y));
            blend_at(&mut img, &mark, left, top, alpha);
        }
        WatermarkPosition::Replicate => {
            let xs = tile_starts(w, mark.width, off_x);
            for top in tile_starts(h, mark.height, off_y) {
                for &left in &xs {
                    blend_at(&mut img, &mark, left, top, alpha);
                }
            }
        }
    }
    Ok(img)
}

/// The watermark resampled (Lanczos3, imgproxy's default) to `size`.
fn scaled(mark: &Bitmap, (w, h): (u32, u32)) -> Result<Cow<'_, Bitmap>, PipelineError> {
    if (w, h) == (mark.width, mark.height) {
        return Ok(Cow::Borrowed(mark));
    }
    let region = Region {
        left: 0.0,
        top: 0.0,
        width: f64::from(mark.width),
        height: f64::from(mark.height),
    };
    let pixels = Resizer::new()
        .resize(
            mark.pixels.clone(),
            mark.width,
            mark.height,
            4,
            region,
            w,
            h,
            Filter::Lanczos3,
        )
        .map_err(|e| PipelineError::Resize(e.to_string()))?;
    Ok(Cow::Owned(Bitmap::new(pixels, w, h, 4)))
}

/// An offset in result pixels: `v` x `dpr` when |v| >= 1, else `v` of `size`.
fn offset(v: f64, dpr: f64, size: u32) -> i64 {
    if v.abs() >= 1.0 {
        (v * dpr).round_ties_even() as i64
    } else {
        (v * f64::from(size)).round_ties_even() as i64
    }
}

/// Top-left corner of a `mw` x `mh` watermark on a `w` x `h` image (imgproxy's
/// `calcPosition` with overflow allowed: at least one pixel stays on the image).
fn position(
    g: GravityType,
    (w, h): (u32, u32),
    (mw, mh): (u32, u32),
    (ox, oy): (i64, i64),
) -> (i64, i64) {
    let (w, h, mw, mh) = (i64::from(w), i64::from(h), i64::from(mw), i64::from(mh));
    let centre =
        |outer: i64, inner: i64| ((outer - inner + 1) as f64 / 2.0).round_ties_even() as i64;
    use GravityType::*;
    let left = match g {
        East | NorthEast | SouthEast => w - mw - ox,
        West | NorthWest | SouthWest => ox,
        _ => centre(w, mw) + ox,
    };
    let top = match g {
        North | NorthEast | NorthWest => oy,
        South | SouthEast | SouthWest => h - mh - oy,
        _ => centre(h, mh) + oy,
    };
    (left.clamp(1 - mw, w - 1), top.clamp(1 - mh, h - 1))
}

/// Where the `re` tiles start along one axis of `size` pixels: cells of the `mark`
/// plus the `spacing` (half before, half after), an odd number of them so that the
/// middle one is centred, as libvips' replicate then a centred crop (imgproxy) gives.
/// The corners are the product of both axes' lists, walked without being collected
/// (a 1-pixel watermark on a large image has millions).
fn tile_starts(size: u32, mark: u32, spacing: i64) -> Vec<i64> {
    let spacing = spacing.max(0);
    let cell = i64::from(mark.max(1)) + spacing;
    let size = i64::from(size);
    let mut n = (size + cell - 1) / cell;
    if n % 2 == 0 {
        n += 1;
    }
    let origin = (n * cell - size) / 2;
    (0..n).map(|i| i * cell - origin + spacing / 2).collect()
}

/// `mark` (RGBA) composited OVER `img` (RGB or RGBA) with its top-left corner at
/// (`left`, `top`), each pixel's alpha times `opacity`; what falls outside is cut.
fn blend_at(img: &mut Bitmap, mark: &Bitmap, left: i64, top: i64, opacity: f64) {
    let (w, h) = (i64::from(img.width), i64::from(img.height));
    let (mw, mh) = (i64::from(mark.width), i64::from(mark.height));
    let (x0, y0) = (left.max(0), top.max(0));
    let (x1, y1) = ((left + mw).min(w), (top + mh).min(h));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let c = img.channels as usize;
    let opacity = opacity as f32;
    for y in y0..y1 {
        let src = &mark.pixels[(((y - top) * mw + (x0 - left)) * 4) as usize..]
            [..((x1 - x0) * 4) as usize];
        let dst = &mut img.pixels[((y * w + x0) as usize) * c..][..(x1 - x0) as usize * c];
        for (d, s) in dst.chunks_exact_mut(c).zip(src.chunks_exact(4)) {
            blend(d, s, opacity);
        }
    }
}

/// One pixel: `src` (RGBA, straight alpha) OVER `dst` (RGB, or RGBA straight).
fn blend(dst: &mut [u8], src: &[u8], opacity: f32) {
    let a = f32::from(src[3]) / 255.0 * opacity;
    if a <= 0.0 {
        return;
    }
    let to_u8 = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    if dst.len() == 3 {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = to_u8(f32::from(s) * a + f32::from(*d) * (1.0 - a));
        }
        return;
    }
    let b = f32::from(dst[3]) / 255.0;
    let out = a + b * (1.0 - a);
    for (d, &s) in dst[..3].iter_mut().zip(src) {
        *d = to_u8((f32::from(s) * a + f32::from(*d) * b * (1.0 - a)) / out);
    }
    dst[3] = to_u8(out * 255.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    const RED: [u8; 4] = [255, 0, 0, 255];

    fn solid(w: u32, h: u32, px: &[u8]) -> Bitmap {
        let pixels = px
            .iter()
            .copied()
            .cycle()
            .take((w * h) as usize * px.len())
            .collect();
        Bitmap::new(pixels, w, h, px.len() as u8)
    }

    fn mark(w: u32, h: u32, opacity: f64) -> WatermarkImage {
        WatermarkImage {
            image: solid(w, h, &RED),
            opacity,
        }
    }

    /// The `wm` option with these arguments, parsed.
    fn opts(args: &str) -> Watermark {
        let option = format!("wm:{args}");
        crate::options::parse(&[option.as_str()], &crate::options::Presets::empty())
            .unwrap()
            .watermark
    }

    fn at(img: &Bitmap, x: u32, y: u32) -> &[u8] {
        let c = img.channels as usize;
        &img.pixels[(y * img.width + x) as usize * c..][..c]
    }

    /// The pixels the watermark changed, as (left, top, right, bottom) inclusive.
    fn covered(img: &Bitmap, background: &[u8]) -> Option<(u32, u32, u32, u32)> {
        let mut b: Option<(u32, u32, u32, u32)> = None;
        for y in 0..img.height {
            for x in 0..img.width {
                if at(img, x, y) != background {
                    b = Some(match b {
                        None => (x, y, x, y),
                        Some((l, t, r, bt)) => (l.min(x), t.min(y), r.max(x), bt.max(y)),
                    });
                }
            }
        }
        b
    }

    #[test]
    fn blending_is_alpha_times_opacity_over_the_pixel() {
        // opaque over RGB: the watermark; half alpha: the mean
        let mut px = [255, 255, 255];
        blend(&mut px, &RED, 1.0);
        assert_eq!(px, [255, 0, 0]);
        let mut px = [255, 255, 255];
        blend(&mut px, &[255, 0, 0, 128], 1.0);
        assert_eq!(px, [255, 127, 127]);
        let mut px = [0, 0, 255];
        blend(&mut px, &RED, 0.5);
        assert_eq!(px, [128, 0, 128]);
        // transparent pixel under: the watermark's colour at its alpha
        let mut px = [0, 0, 0, 0];
        blend(&mut px, &RED, 0.5);
        assert_eq!(px, [255, 0, 0, 128]);
        // half-transparent blue under half red: OVER
        let mut px = [0, 0, 255, 128];
        blend(&mut px, &[255, 0, 0, 128], 1.0);
        // out alpha = 0.502 + 0.502 * 0.498 = 0.752; red = 255 * 0.502 / 0.752
        assert_eq!(px, [170, 0, 85, 192]);
        // fully transparent watermark pixels change nothing
        let mut px = [1, 2, 3, 4];
        blend(&mut px, &[255, 0, 0, 0], 1.0);
        assert_eq!(px, [1, 2, 3, 4]);
    }

    #[test]
    fn each_gravity_places_it_from_its_edge() {
        use GravityType::*;
        let (img, m, off) = ((100, 80), (10, 6), (3, 2));
        let cases = [
            (Center, (49, 40)),
            (North, (49, 2)),
            (South, (49, 72)),
            (East, (87, 40)),
            (West, (3, 40)),
            (NorthWest, (3, 2)),
            (NorthEast, (87, 2)),
            (SouthWest, (3, 72)),
            (SouthEast, (87, 72)),
        ];
        for (g, want) in cases {
            assert_eq!(position(g, img, m, off), want, "{g:?}");
        }
        // (100 - 10 + 1) / 2 = 45.5 rounds to even, as imgproxy's ShrinkToEven
        assert_eq!(position(Center, img, m, (0, 0)), (46, 38));
        // pushed out: at least one pixel stays on the image
        assert_eq!(position(SouthEast, img, m, (500, -500)), (-9, 79));
    }

    #[test]
    fn offsets_are_pixels_times_dpr_or_fractions_of_the_image() {
        assert_eq!(offset(5.0, 2.0, 100), 10);
        assert_eq!(offset(-3.0, 1.0, 100), -3);
        assert_eq!(offset(0.1, 2.0, 300), 30);
        assert_eq!(offset(0.0, 1.0, 300), 0);
    }

    #[test]
    fn a_corner_watermark_covers_only_its_corner() {
        let white = [255u8, 255, 255];
        let img = solid(40, 30, &white);
        let wm = mark(8, 8, 1.0);
        let se = opts("1:soea:2:3:0");
        let out = apply(img.clone(), &wm, &se, 1.0).unwrap();
        assert_eq!(covered(&out, &white), Some((30, 19, 37, 26)));
        assert_eq!(at(&out, 30, 19), &[255, 0, 0]);
        // dpr 2 doubles pixel offsets
        let out = apply(img.clone(), &wm, &se, 2.0).unwrap();
        assert_eq!(covered(&out, &white), Some((28, 16, 35, 23)));
        // half opacity (URL 0.5 x configured 1, or URL 1 x configured 0.5)
        let half = opts("0.5:nowe:0:0:0");
        let out = apply(img.clone(), &wm, &half, 1.0).unwrap();
        assert_eq!(at(&out, 0, 0), &[255, 128, 128]);
        let nw = opts("1:nowe:0:0:0");
        let out = apply(img.clone(), &mark(8, 8, 0.5), &nw, 1.0).unwrap();
        assert_eq!(at(&out, 0, 0), &[255, 128, 128]);
        // cut at the image's edge, never past it
        let out = apply(img.clone(), &mark(60, 60, 1.0), &nw, 1.0).unwrap();
        assert_eq!(covered(&out, &white), Some((0, 0, 39, 29)));
    }

    #[test]
    fn opacity_zero_leaves_the_image_untouched() {
        let img = solid(20, 20, &[10, 20, 30]);
        let out = apply(img.clone(), &mark(8, 8, 1.0), &opts("0:ce:0:0:0"), 1.0);
        assert_eq!(out.unwrap(), img);
        let out = apply(img.clone(), &mark(8, 8, 0.0), &opts("1:ce:0:0:0"), 1.0);
        assert_eq!(out.unwrap(), img);
        assert_eq!(
            working_bytes(&mark(8, 8, 0.0), &opts("1:ce:0:0:0"), (20, 20)),
            0
        );
    }

    #[test]
    fn replicate_tiles_the_image_from_a_centred_middle_tile() {
        // 10 wide, 4-pixel tiles: 3 of them (odd), the middle one centred
        assert_eq!(tile_starts(10, 4, 0), vec![-1, 3, 7]);
        // exactly one tile: centred
        assert_eq!(tile_starts(4, 4, 0), vec![0]);
        assert_eq!(tile_starts(6, 4, 0), vec![-3, 1, 5]);
        // spacing 2: cells of 6 with the mark at 1..5 of each
        assert_eq!(tile_starts(10, 4, 2), vec![-3, 3, 9]);
        let white = [255u8, 255, 255];
        let re = opts("1:re:0:0:0");
        let out = apply(solid(10, 10, &white), &mark(4, 4, 1.0), &re, 1.0).unwrap();
        assert!(out.pixels.chunks_exact(3).all(|p| p == [255, 0, 0]));
        let spaced = opts("1:re:2:2:0");
        let out = apply(solid(10, 10, &white), &mark(4, 4, 1.0), &spaced, 1.0).unwrap();
        // columns/rows 1-2 and 7-8 are gaps, the rest red
        for (x, y) in [(0, 0), (3, 3), (6, 6), (9, 9), (4, 0)] {
            assert_eq!(at(&out, x, y), &[255, 0, 0], "({x}, {y})");
        }
        for (x, y) in [(1, 0), (2, 5), (0, 7), (8, 8)] {
            assert_eq!(at(&out, x, y), &white, "({x}, {y})");
        }
    }

    #[test]
    fn scale_fits_it_into_a_share_of_the_result() {
        assert_eq!(scaled_size((16, 16), (100, 50), 0.0), (16, 16));
        assert_eq!(scaled_size((16, 16), (100, 50), 0.5), (25, 25));
        assert_eq!(scaled_size((20, 10), (100, 100), 0.5), (50, 25));
        // never larger than the image
        assert_eq!(scaled_size((16, 16), (100, 50), 3.0), (50, 50));
        assert_eq!(scaled_size((16, 16), (3, 2), 0.01), (1, 1));
        let white = [255u8, 255, 255];
        let sw = opts("1:sowe:0:0:0.5");
        let out = apply(solid(40, 20, &white), &mark(4, 4, 1.0), &sw, 1.0).unwrap();
        assert_eq!(covered(&out, &white), Some((0, 10, 9, 19)));
        assert_eq!(at(&out, 5, 15), &[255, 0, 0]);
        // the estimate counts the scaled copy, its intermediate and a colour copy
        let bytes = working_bytes(&mark(4, 4, 1.0), &sw, (40, 20));
        assert_eq!(bytes, (4 * 4 + 10 * 4 + 10 * 10) * 4 + 40 * 20 * 4);
    }

    #[test]
    fn a_grey_result_becomes_colour_and_alpha_is_kept() {
        let wm = mark(2, 2, 1.0);
        let nw = opts("0.5:nowe:0:0:0");
        let out = apply(solid(4, 4, &[200]), &wm, &nw, 1.0).unwrap();
        assert_eq!(out.channels, 3);
        assert_eq!(at(&out, 0, 0), &[228, 100, 100]);
        assert_eq!(at(&out, 3, 3), &[200, 200, 200]);
        let out = apply(solid(4, 4, &[200, 0]), &wm, &nw, 1.0).unwrap();
        assert_eq!(out.channels, 4);
        assert_eq!(at(&out, 0, 0), &[255, 0, 0, 128]);
        assert_eq!(at(&out, 3, 3), &[200, 200, 200, 0]);
    }

    #[test]
    fn decoding_makes_rgba() {
        let png = crate::pipeline::encode::encode(
            &solid(3, 2, &[0, 255, 0]),
            crate::options::OutputFormat::Png,
            80,
        )
        .unwrap();
        let wm = WatermarkImage::decode(&png, 0.7, 1_000_000).unwrap();
        assert_eq!(
            (wm.image.width, wm.image.height, wm.image.channels),
            (3, 2, 4)
        );
        assert_eq!(&wm.image.pixels[..4], &[0, 255, 0, 255]);
        assert_eq!(wm.opacity, 0.7);
        assert!(WatermarkImage::decode(b"not an image", 1.0, 1_000_000).is_err());
    }
}
