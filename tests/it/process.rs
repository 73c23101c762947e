//! Processed images end to end: sizes and formats, HTTP semantics of processed bodies
//! (ETag, 304, Range, HEAD), EXIF orientation, bad input, and the shared corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aperture::pipeline::probe::{self, SourceFormat};
use http::Method;

use crate::support::corpus::{self, Row, Rule};
use crate::support::{TestResponse, TestServer};

/// Format and size of an image response, from its headers only.
fn dims(r: &TestResponse) -> (SourceFormat, u32, u32) {
    let p = probe::probe(&r.body, u64::MAX)
        .unwrap_or_else(|e| panic!("response is not an image ({e}): {}", r.status));
    (p.format, p.width, p.height)
}

/// RGB(A) pixels of a PNG response, decoded with the `png` crate.
fn png_pixels(body: &[u8]) -> (png::ColorType, u32, u32, Vec<u8>) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(body));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.color_type, info.width, info.height, buf)
}

#[tokio::test]
async fn resizes_into_each_output_format() {
    let s = TestServer::signed().await;
    // photo.jpg is 1200x800
    let cases = [
        (
            "rs:fit:300:300",
            SourceFormat::Jpeg,
            "image/jpeg",
            (300, 200),
        ),
        (
            "rs:fit:300:300/f:webp",
            SourceFormat::Webp,
            "image/webp",
            (300, 200),
        ),
        (
            "rs:fit:300:300/f:png",
            SourceFormat::Png,
            "image/png",
            (300, 200),
        ),
        (
            "rs:fill:300:300/q:70",
            SourceFormat::Jpeg,
            "image/jpeg",
            (300, 300),
        ),
        (
            "rs:fill-down:3000:1000",
            SourceFormat::Jpeg,
            "image/jpeg",
            (1200, 400),
        ),
        ("w:150/dpr:2", SourceFormat::Jpeg, "image/jpeg", (300, 200)),
        (
            "rs:force:100:100/f:webp",
            SourceFormat::Webp,
            "image/webp",
            (100, 100),
        ),
        (
            "c:600:400:nowe/rs:fit:60:60",
            SourceFormat::Jpeg,
            "image/jpeg",
            (60, 40),
        ),
        ("q:80", SourceFormat::Jpeg, "image/jpeg", (1200, 800)),
        ("rot:90/w:80", SourceFormat::Jpeg, "image/jpeg", (80, 120)),
    ];
    for (options, format, mime, size) in cases {
        let r = s.get(&s.sign("local:///photo.jpg", options)).await;
        assert_eq!(r.status, 200, "{options}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(mime), "{options}");
        let (f, w, h) = dims(&r);
        assert_eq!((f, (w, h)), (format, size), "{options}");
    }
}

#[tokio::test]
async fn alpha_is_kept_for_png_and_flattened_for_jpeg() {
    let s = TestServer::signed().await;
    // badge.png: 512x512 RGBA, transparent corners
    let r = s.get(&s.sign("local:///badge.png", "rs:fit:64:64")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("image/png"));
    let (ct, w, h, px) = png_pixels(&r.body);
    assert_eq!((ct, w, h), (png::ColorType::Rgba, 64, 64));
    assert_eq!(px[3], 0, "the corner stays transparent");

    let r = s
        .get(&s.sign("local:///badge.png", "rs:fit:64:64/f:jpg"))
        .await;
    assert_eq!(r.status, 200);
    let p = probe::probe(&r.body, u64::MAX).unwrap();
    let img = aperture::pipeline::decode_full(&r.body, &p).unwrap();
    assert_eq!(img.channels, 3);
    assert!(
        img.pixels[..3].iter().all(|&v| v > 240),
        "white corner: {:?}",
        &img.pixels[..3]
    );

    let r = s
        .get(&s.sign("local:///badge.png", "rs:fit:64:64/bg:ff0000/f:png"))
        .await;
    let (ct, _, _, px) = png_pixels(&r.body);
    assert_eq!(ct, png::ColorType::Rgb);
    assert_eq!(&px[..3], &[255, 0, 0]);
}

/// A BMP (BITMAPV4, BI_BITFIELDS with an alpha mask) of `w` x `h`: the left half
/// fully transparent, the right half opaque red; `alpha: false` writes it opaque RGB.
fn half_transparent_bmp(w: u32, h: u32, alpha: bool) -> Vec<u8> {
    use image::ExtendedColorType;
    let px: Vec<u8> = (0..w * h)
        .flat_map(|i| match (i % w < w / 2, alpha) {
            (true, true) => vec![0, 0, 255, 0],
            (false, true) => vec![255, 0, 0, 255],
            (_, false) => vec![255, 0, 0],
        })
        .collect();
    let color = if alpha {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    let mut out = Vec::new();
    image::codecs::bmp::BmpEncoder::new(&mut out)
        .encode(&px, w, h, color)
        .unwrap();
    out
}

/// imgproxy's fallback for sources whose own format is not picked: PNG when the
/// source has alpha (or padding/extend without a background), else JPEG; an explicit
/// or negotiated format still wins.
#[tokio::test]
async fn transparent_tiff_bmp_avif_sources_fall_back_to_png_not_jpeg() {
    let s = TestServer::signed_with(|c| c.processing.prefer_webp = true).await;
    s.root
        .write("rgba.bmp", &half_transparent_bmp(32, 16, true));
    s.root
        .write("rgb.bmp", &half_transparent_bmp(32, 16, false));

    // no format, no Accept: PNG with the transparency kept
    let (ct, w, h, px) = png_ok(&s, "local:///rgba.bmp", "q:80").await;
    assert_eq!((ct, w, h), (png::ColorType::Rgba, 32, 16));
    assert_eq!(at(&px, w, 4, 2, 8)[3], 0, "the left half stays transparent");
    assert_eq!(at(&px, w, 4, 30, 8), &[255, 0, 0, 255]);
    // resized too
    let (ct, w, _, px) = png_ok(&s, "local:///rgba.bmp", "rs:fit:16:16").await;
    assert_eq!((ct, w), (png::ColorType::Rgba, 16));
    assert_eq!(at(&px, w, 4, 1, 4)[3], 0);

    // the AVIF with an auxiliary alpha item (320x200)
    let (ct, w, h, px) = png_ok(&s, "local:///alpha.avif", "w:160").await;
    assert_eq!((ct, w, h), (png::ColorType::Rgba, 160, 100));
    assert!(
        px.chunks_exact(4).any(|p| p[3] < 255),
        "some of alpha.avif's transparency survives"
    );

    // an opaque source still gets JPEG...
    let r = s.get(&s.sign("local:///rgb.bmp", "q:80")).await;
    assert_eq!(r.header("content-type"), Some("image/jpeg"), "{}", r.text());
    // ...unless extend or padding will add transparent pixels (imgproxy's rule)
    let (ct, w, h, _) = png_ok(&s, "local:///rgb.bmp", "pd:4").await;
    assert_eq!((ct, w, h), (png::ColorType::Rgba, 40, 24));

    // a background flattens: nothing transparent is left, so JPEG
    let r = s.get(&s.sign("local:///rgba.bmp", "bg:00ff00")).await;
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    // f:jpg is obeyed and flattened on white
    let r = s.get(&s.sign("local:///rgba.bmp", "f:jpg")).await;
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    let p = probe::probe(&r.body, u64::MAX).unwrap();
    let img = aperture::pipeline::decode_full(&r.body, &p).unwrap();
    assert_eq!(img.channels, 3);
    assert!(
        img.pixels[..3].iter().all(|&v| v > 240),
        "{:?}",
        &img.pixels[..3]
    );
    // a negotiated WebP wins too (and keeps the alpha)
    let path = s.sign("local:///rgba.bmp", "q:80");
    let r = s.get_with(&path, &[("accept", "image/webp,*/*")]).await;
    assert_eq!(r.header("content-type"), Some("image/webp"));
    assert!(probe::probe(&r.body, u64::MAX).unwrap().alpha);
    let r = s.get_with(&path, &[("accept", "*/*")]).await;
    assert_eq!(r.header("content-type"), Some("image/png"));
}

#[tokio::test]
async fn processed_bodies_have_the_foundations_headers() {
    let s = TestServer::signed().await;
    let path = s.sign("local:///photo.jpg", "rs:fit:300:300/f:webp");
    let r = s.get(&path).await;
    assert_eq!(r.status, 200);
    let etag = r.header("etag").unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
        "{etag}"
    );
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        r.header("content-disposition"),
        Some("inline; filename=\"photo.webp\"")
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));

    // the same request makes the same bytes, so the same strong ETag
    let again = s.get(&path).await;
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(again.body, r.body);

    let named = s
        .get(&s.sign(
            "local:///photo.jpg",
            "w:10/filename:pic/return_attachment:1",
        ))
        .await;
    assert_eq!(named.status, 200, "{}", named.text());
    assert_eq!(
        named.header("content-disposition"),
        Some("attachment; filename=\"pic.jpg\"")
    );
}

#[tokio::test]
async fn conditional_range_and_head_on_processed_bodies() {
    let s = TestServer::signed().await;
    let path = s.sign("local:///photo.jpg", "rs:fit:200:200");
    let full = s.get(&path).await;
    let etag = full.header("etag").unwrap().to_string();
    let len = full.body.len();

    let r = s.get_with(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = s.get_with(&path, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(r.status, 200);

    let r = s.get_with(&path, &[("range", "bytes=0-9")]).await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-9/{len}").as_str())
    );
    assert_eq!(r.body, full.body.slice(0..10));
    let r = s.get_with(&path, &[("range", "bytes=-4")]).await;
    assert_eq!(r.body, full.body.slice(len - 4..));
    let r = s.get_with(&path, &[("range", "bytes=0-1,5-6")]).await;
    assert_eq!(r.status, 206);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("multipart/byteranges")
    );
    let r = s
        .get_with(&path, &[("range", &format!("bytes={len}-"))])
        .await;
    assert_eq!(r.status, 416);
    let r = s
        .get_with(&path, &[("range", "bytes=0-9"), ("if-range", "\"stale\"")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), len);

    let r = s.request(Method::HEAD, &path, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
}

/// Corner colours of the upright fixture picture (see scripts/make-orientation-fixtures.py).
const CORNERS: [((f64, f64), [u8; 3]); 4] = [
    ((0.15, 0.15), [255, 0, 0]),
    ((0.85, 0.15), [0, 200, 0]),
    ((0.15, 0.85), [0, 0, 255]),
    ((0.85, 0.85), [255, 200, 0]),
];

fn assert_upright(body: &[u8], what: &str) {
    let (_, w, h, px) = png_pixels(body);
    for ((fx, fy), want) in CORNERS {
        let (x, y) = ((w as f64 * fx) as usize, (h as f64 * fy) as usize);
        let i = (y * w as usize + x) * 3;
        let got = &px[i..i + 3];
        let close = got.iter().zip(want).all(|(&a, b)| a.abs_diff(b) <= 30);
        assert!(
            close,
            "{what}: pixel at {fx},{fy} is {got:?}, want {want:?}"
        );
    }
}

#[tokio::test]
async fn exif_orientations_come_out_upright() {
    let s = TestServer::signed().await;
    for n in 1..=8 {
        let source = format!("local:///orient_{n}.jpg");
        let r = s.get(&s.sign(&source, "f:png")).await;
        assert_eq!(r.status, 200, "orientation {n}: {}", r.text());
        assert_eq!(dims(&r), (SourceFormat::Png, 64, 48), "orientation {n}");
        assert_upright(&r.body, &format!("orientation {n}"));
        // still upright after a resize with a crop
        let r = s.get(&s.sign(&source, "rs:fill:32:32/f:png")).await;
        assert_eq!(dims(&r), (SourceFormat::Png, 32, 32), "orientation {n}");
    }
    // ar:0 keeps the stored layout
    let r = s.get(&s.sign("local:///orient_6.jpg", "ar:0/f:png")).await;
    assert_eq!(dims(&r), (SourceFormat::Png, 48, 64));
}

// ---- colour management ---------------------------------------------------------------

/// Asserts each `(x, y) -> rgb` of a PNG response within `tolerance` per channel.
fn assert_pixels(body: &[u8], want: &[((u32, u32), [u8; 3])], tolerance: u8, what: &str) {
    let (ct, w, _, px) = png_pixels(body);
    assert_eq!(ct, png::ColorType::Rgb, "{what}");
    for &((x, y), rgb) in want {
        let got = at(&px, w, 3, x, y);
        let close = got
            .iter()
            .zip(rgb)
            .all(|(&g, r)| g.abs_diff(r) <= tolerance);
        assert!(close, "{what}: ({x}, {y}) is {got:?}, want {rgb:?}");
    }
}

/// The fixtures and references come from `scripts/make-icc-fixtures.py` (lcms2 via
/// Pillow's ImageCms).
#[tokio::test]
async fn embedded_profiles_are_converted_to_srgb() {
    let s = TestServer::signed().await;
    // Display P3 (200, 100, 50) is sRGB (215, 93, 31), whatever the container, at full
    // size and after a resize (where the conversion runs)
    for source in ["p3.png", "p3.jpg", "p3.webp", "p3.avif"] {
        for options in ["f:png", "rs:fit:8:8/f:png"] {
            let r = s.get(&s.sign(&format!("local:///{source}"), options)).await;
            assert_eq!(r.status, 200, "{source} {options}: {}", r.text());
            let what = format!("{source} {options}");
            assert_pixels(&r.body, &[((4, 4), [215, 93, 31])], 3, &what);
        }
    }
    let patches = |rgb: [[u8; 3]; 4]| -> Vec<((u32, u32), [u8; 3])> {
        let at = [(8, 8), (24, 8), (8, 24), (24, 24)];
        at.into_iter().zip(rgb).collect()
    };
    // CMYK through its own profile (a made-up four-ink press, unlike the naive formula:
    // its half black is (189, 190, 190), not (127, 127, 127)); the 5-point grid is
    // interpolated differently by moxcms and lcms2, hence the wider tolerance. The TIFF
    // stores ink amounts (not Adobe's inverted samples) and its profile in tag 34675.
    let want = [
        [107, 196, 237],
        [232, 82, 41],
        [189, 190, 190],
        [192, 155, 109],
    ];
    for source in ["cmyk_icc.jpg", "cmyk_icc.tif"] {
        let r = s.get(&s.sign(&format!("local:///{source}"), "f:png")).await;
        assert_eq!(r.status, 200, "{source}: {}", r.text());
        assert_pixels(&r.body, &patches(want), 6, source);
    }
    // without a profile: the naive conversion, not inverted
    let r = s.get(&s.sign("local:///cmyk_plain.jpg", "f:png")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let want = [[0, 255, 255], [255, 0, 0], [127, 127, 127], [143, 95, 48]];
    assert_pixels(&r.body, &patches(want), 2, "cmyk_plain.jpg");
}

#[tokio::test]
async fn bad_input_is_a_422_with_a_reason() {
    let s = TestServer::signed().await;
    let jpeg = std::fs::read(s.root.path().join("photo.jpg")).unwrap();
    s.root.write("truncated.jpg", &jpeg[..jpeg.len() / 2]);
    s.root.write("empty.jpg", b"");
    s.root.write("text.png", b"this is not an image at all");
    let mut huge = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xFF, 0xDC, 0xFF, 0xDC, 3];
    huge.extend_from_slice(&[1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
    s.root.write("huge.jpg", &huge);
    for (name, needle) in [
        ("truncated.jpg", "cannot decode"),
        ("empty.jpg", "empty"),
        ("text.png", "unknown image format"),
        ("digits.bin", "unknown image format"),
        ("huge.jpg", "max_src_resolution"),
    ] {
        let started = Instant::now();
        let r = s
            .get(&s.sign(&format!("local:///{name}"), "rs:fit:100:100"))
            .await;
        assert_eq!(r.status, 422, "{name}: {}", r.text());
        assert!(r.text().contains(needle), "{name}: {}", r.text());
        assert!(
            !r.text().trim_end().contains('\n'),
            "one line: {}",
            r.text()
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} took too long"
        );
    }
    let r = s.get(&s.sign("local:///photo.jpg", "f:jxl")).await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("not supported yet"), "{}", r.text());
    // the server is still fine
    let r = s.get(&s.sign("local:///photo.jpg", "w:10")).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn configured_limits_apply_before_decoding() {
    let s = TestServer::start_with(|c| {
        c.processing.max_src_file_size = 10_000;
        c.processing.max_src_resolution = 0.5;
    })
    .await;
    // photo.jpg: 26 KB, over the 10 KB file limit
    let r = s.get(&s.sign("local:///photo.jpg", "w:10")).await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("max_src_file_size"), "{}", r.text());
    // raw delivery is not processing: not limited
    let r = s.get(&s.raw("photo.jpg")).await;
    assert_eq!(r.status, 200);
    // badge.png: 4.5 KB but 512x512 = 0.26 MP; fine. A 1000x1000 PNG header is not.
    let r = s.get(&s.sign("local:///badge.png", "w:10")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut ihdr = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    ihdr.extend_from_slice(&1000u32.to_be_bytes());
    ihdr.extend_from_slice(&1000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    s.root.write("big.png", &ihdr);
    let r = s.get(&s.sign("local:///big.png", "w:10")).await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("max_src_resolution"), "{}", r.text());
}

// ---- extend, padding, filters, trim, max_bytes, skip_processing --------------------

/// An RGB PNG of `w` x `h` made by `colour(x, y)`.
fn png_of(w: u32, h: u32, colour: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let data: Vec<u8> = (0..w * h).flat_map(|i| colour(i % w, i / w)).collect();
    enc.write_header().unwrap().write_image_data(&data).unwrap();
    out
}

/// The pixel at (x, y) of decoded PNG pixels with `c` channels.
fn at(px: &[u8], w: u32, c: usize, x: u32, y: u32) -> &[u8] {
    let i = (y * w + x) as usize * c;
    &px[i..i + c]
}

/// Sum of absolute differences between horizontal neighbours (first channel): how
/// much fine detail there is.
fn detail(px: &[u8], w: u32, c: usize) -> u64 {
    px.chunks_exact(w as usize * c)
        .flat_map(|row| row.chunks_exact(c).zip(row.chunks_exact(c).skip(1)))
        .map(|(a, b)| u64::from(a[0].abs_diff(b[0])))
        .sum()
}

async fn png_ok(
    s: &TestServer,
    source: &str,
    options: &str,
) -> (png::ColorType, u32, u32, Vec<u8>) {
    let r = s.get(&s.sign(source, options)).await;
    assert_eq!(r.status, 200, "{options}: {}", r.text());
    assert_eq!(r.header("content-type"), Some("image/png"), "{options}");
    png_pixels(&r.body)
}

#[tokio::test]
async fn extend_grows_to_the_box_with_the_background() {
    let s = TestServer::signed().await;
    // photo.jpg 1200x800 fits 300x200 into 300x300, centred: rows 50..250
    let (ct, w, h, px) = png_ok(&s, "local:///photo.jpg", "rs:fit:300:300/ex:1/f:png").await;
    assert_eq!((ct, w, h), (png::ColorType::Rgba, 300, 300));
    assert_eq!(at(&px, w, 4, 150, 10)[3], 0, "transparent above");
    assert_eq!(at(&px, w, 4, 150, 290)[3], 0, "transparent below");
    assert_eq!(at(&px, w, 4, 150, 150)[3], 255, "the photo in the middle");
    // south gravity: the photo at the bottom, the top 100 rows empty
    let (_, _, _, px) = png_ok(&s, "local:///photo.jpg", "rs:fit:300:300/ex:1:so/f:png").await;
    assert_eq!(at(&px, 300, 4, 150, 99)[3], 0);
    assert_eq!(at(&px, 300, 4, 150, 100)[3], 255);
    // bg fills it
    let (ct, _, _, px) = png_ok(
        &s,
        "local:///photo.jpg",
        "rs:fit:300:300/ex:1/bg:ff0000/f:png",
    )
    .await;
    assert_eq!(ct, png::ColorType::Rgb);
    assert_eq!(at(&px, 300, 3, 150, 10), &[255, 0, 0]);
    // JPEG: white
    let r = s
        .get(&s.sign("local:///photo.jpg", "rs:fit:300:300/ex:1"))
        .await;
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 300, 300));
    let p = probe::probe(&r.body, u64::MAX).unwrap();
    let img = aperture::pipeline::decode_full(&r.body, &p).unwrap();
    let i = (10 * 300 + 150) * 3;
    assert!(img.pixels[i..i + 3].iter().all(|&v| v > 245));
    // extend_aspect_ratio: 150x100 (fit into 400x100) grows to 4:1 = 400x100, west
    let (_, w, h, px) = png_ok(&s, "local:///photo.jpg", "rs:fit:400:100/exar:1:we/f:png").await;
    assert_eq!((w, h), (400, 100));
    assert_eq!(at(&px, w, 4, 10, 50)[3], 255);
    assert_eq!(at(&px, w, 4, 390, 50)[3], 0);
    // without extend the size is the fitted one
    let r = s.get(&s.sign("local:///photo.jpg", "rs:fit:400:100")).await;
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 150, 100));
}

#[tokio::test]
async fn padding_adds_a_border_scaled_by_dpr() {
    let s = TestServer::signed().await;
    // 100x67 + 20 left/right + 10 top/bottom
    let (_, w, h, px) = png_ok(&s, "local:///photo.jpg", "rs:fit:100:100/pd:10:20/f:png").await;
    assert_eq!((w, h), (140, 87));
    assert_eq!(at(&px, w, 4, 0, 0)[3], 0);
    assert_eq!(at(&px, w, 4, 19, 40)[3], 0);
    assert_eq!(at(&px, w, 4, 20, 40)[3], 255);
    assert_eq!(at(&px, w, 4, 70, 9)[3], 0);
    assert_eq!(at(&px, w, 4, 70, 10)[3], 255);
    // dpr 2: 200x133 + 2 x 10
    let r = s
        .get(&s.sign("local:///photo.jpg", "w:100/dpr:2/pd:5/bg:00ff00"))
        .await;
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 220, 153));
    // without enlarge the applied dpr is capped at what the source gives (current
    // imgproxy's DprScale): 1200x800 into 900x900 at dpr 2 is 1200x800, dpr 4/3,
    // padding 10 * 4/3 = 13 (was 20)
    let r = s
        .get(&s.sign("local:///photo.jpg", "rs:fit:900:900/dpr:2/pd:10"))
        .await;
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 1226, 826));
}

#[tokio::test]
async fn zoom_does_not_enlarge_without_enlarge() {
    let s = TestServer::signed().await;
    let r = s.get(&s.sign("local:///photo.jpg", "z:2")).await;
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 1200, 800));
    let r = s.get(&s.sign("local:///photo.jpg", "z:2/el:1")).await;
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 2400, 1600));
    let r = s
        .get(&s.sign("local:///photo.jpg", "rs:fit:300:300/z:2"))
        .await;
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 600, 400));
}

#[tokio::test]
async fn svg_sources_scale_up_to_the_box_and_stay_sharp() {
    let s = TestServer::signed().await;
    // 200x120, the left half red: imgproxy draws vectors at the planned scale
    s.root.write(
        "half.svg",
        br##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="120"><rect width="100" height="120" fill="#f00"/></svg>"##,
    );
    let (_, w, h, px) = png_ok(&s, "local:///half.svg", "rs:fit:400:400").await;
    assert_eq!((w, h), (400, 240));
    // drawn at 400x240, not resampled from 200x120: the edge at x = 200 is sharp
    assert_eq!(at(&px, w, 4, 199, 120), &[255, 0, 0, 255]);
    assert_eq!(at(&px, w, 4, 200, 120)[3], 0);
    let (_, w, h, _) = png_ok(&s, "local:///half.svg", "rs:fit:100:100").await;
    assert_eq!((w, h), (100, 60));
    let (_, w, h, _) = png_ok(&s, "local:///half.svg", "").await;
    assert_eq!((w, h), (200, 120));
}

#[tokio::test]
async fn blur_sharpen_and_pixelate_change_the_detail_not_the_size() {
    let s = TestServer::signed().await;
    let base = "rs:fit:200:200/f:png";
    let (_, w, h, plain) = png_ok(&s, "local:///photo.jpg", base).await;
    assert_eq!((w, h), (200, 133));
    let (_, bw, bh, blurred) = png_ok(&s, "local:///photo.jpg", &format!("{base}/bl:4")).await;
    let (_, sw, sh, sharp) = png_ok(&s, "local:///photo.jpg", &format!("{base}/sh:1.5")).await;
    assert_eq!([(bw, bh), (sw, sh)], [(200, 133); 2]);
    let (d_plain, d_blur, d_sharp) = (
        detail(&plain, w, 3),
        detail(&blurred, w, 3),
        detail(&sharp, w, 3),
    );
    assert!(d_blur * 2 < d_plain, "blur: {d_blur} vs {d_plain}");
    assert!(d_sharp > d_plain, "sharpen: {d_sharp} vs {d_plain}");
    // the mean colour survives a blur
    let mean = |px: &[u8]| px.iter().map(|&v| u64::from(v)).sum::<u64>() / px.len() as u64;
    assert!(mean(&plain).abs_diff(mean(&blurred)) <= 2);

    let (_, w, h, px) = png_ok(&s, "local:///photo.jpg", &format!("{base}/pix:10")).await;
    assert_eq!((w, h), (200, 133));
    for (bx, by) in [(0, 0), (50, 60), (190, 120)] {
        let first = at(&px, w, 3, bx, by).to_vec();
        for y in by..by + 10 {
            for x in bx..bx + 10 {
                assert_eq!(at(&px, w, 3, x, y), &first[..], "block at {bx},{by}");
            }
        }
    }
    // the last, partial row of blocks (rows 130-132) is uniform too
    assert_eq!(at(&px, w, 3, 5, 130), at(&px, w, 3, 9, 132));
}

#[tokio::test]
async fn trim_cuts_the_border_before_resizing() {
    let s = TestServer::signed().await;
    // white 100x80 with a red 50x40 block at (20, 10)
    let framed = png_of(100, 80, |x, y| {
        if (20..70).contains(&x) && (10..50).contains(&y) {
            [200, 30, 30]
        } else {
            [255, 255, 255]
        }
    });
    s.root.write("framed.png", &framed);
    let (_, w, h, px) = png_ok(&s, "local:///framed.png", "t:10").await;
    assert_eq!((w, h), (50, 40));
    assert!(
        px.chunks_exact(3).all(|p| p == [200, 30, 30]),
        "only the block is left"
    );
    // planned on the trimmed size: 50x40 fits 25x20
    let r = s
        .get(&s.sign("local:///framed.png", "t:10/w:25/f:jpg"))
        .await;
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 25, 20));
    // equal_hor: margins 20 (left) and 30 (right) -> 20 cut from both: 60 wide;
    // equal_ver: 10 and 30 -> 10 from both: 60 high
    let (_, w, h, _) = png_ok(&s, "local:///framed.png", "t:10::1:1").await;
    assert_eq!((w, h), (60, 60));
    // an explicit colour that is not the border keeps everything
    let (_, w, h, _) = png_ok(&s, "local:///framed.png", "t:10:00ff00").await;
    assert_eq!((w, h), (100, 80));
    // the orientation applies to the trimmed picture: rotated, 40x50
    let (_, w, h, _) = png_ok(&s, "local:///framed.png", "t:10/rot:90").await;
    assert_eq!((w, h), (40, 50));
}

#[tokio::test]
async fn max_bytes_lowers_the_quality_until_it_fits() {
    let s = TestServer::signed().await;
    for format in ["jpg", "webp"] {
        let opts = format!("rs:fit:600:600/q:95/f:{format}");
        let full = s.get(&s.sign("local:///photo.jpg", &opts)).await;
        assert_eq!(full.status, 200);
        let limit = full.body.len() / 2;
        let r = s
            .get(&s.sign("local:///photo.jpg", &format!("{opts}/mb:{limit}")))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(
            r.body.len() <= limit,
            "{format}: {} > {limit}",
            r.body.len()
        );
        assert_eq!(dims(&r).1, 600);
    }
    // PNG is lossless: the option changes nothing
    let a = s.get(&s.sign("local:///badge.png", "w:64")).await;
    let b = s.get(&s.sign("local:///badge.png", "w:64/mb:100")).await;
    assert_eq!(a.body, b.body);
}

#[tokio::test]
async fn webp_options_lossless_writes_vp8l_exactly() {
    let s = TestServer::signed().await;
    let r = s
        .get(&s.sign("local:///badge.png", "w:64/f:webp/webpo:lossless"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.body.windows(4).any(|w| w == b"VP8L"),
        "a lossless bitstream"
    );
    let png = s.get(&s.sign("local:///badge.png", "w:64")).await;
    let (_, w, h, want) = png_pixels(&png.body);
    let p = probe::probe(&r.body, u64::MAX).unwrap();
    let got = aperture::pipeline::decode_full(&r.body, &p).unwrap();
    assert_eq!((got.width, got.height), (w, h));
    // the same pixels as the PNG answer, except colour under fully transparent ones
    let c = want.len() / (w * h) as usize;
    for (a, b) in want.chunks(c).zip(got.pixels.chunks(got.channels as usize)) {
        if c < 4 || a[3] != 0 {
            assert_eq!(a, &b[..c]);
        }
    }
    // lossy by default; `webpo:lossy` is the default, so the same variant
    let lossy = s.get(&s.sign("local:///badge.png", "w:64/f:webp")).await;
    assert!(!lossy.body.windows(4).any(|w| w == b"VP8L"));
    let same = s
        .get(&s.sign("local:///badge.png", "w:64/f:webp/webpo:lossy"))
        .await;
    assert_eq!(same.body, lossy.body);
}

#[tokio::test]
async fn skip_processing_answers_the_source_itself() {
    let s = TestServer::signed().await;
    let source = std::fs::read(s.root.path().join("photo.jpg")).unwrap();
    let r = s
        .get_with(
            &s.sign("local:///photo.jpg", "rs:fit:100:100/skp:jpg:png"),
            &[("accept", "image/webp,*/*")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(r.body, source);
    // other source formats pass through too
    let gif =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/checker.gif")).unwrap();
    s.root.write("checker.gif", &gif);
    let r = s.get(&s.sign("local:///checker.gif", "w:10/skp:gif")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("image/gif"));
    assert_eq!(r.body, gif);
    let r = s.get(&s.sign("local:///checker.gif", "w:10")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_ne!(r.body, gif, "processed without skp");
    // another format asked for: processed
    let r = s
        .get(&s.sign("local:///photo.jpg", "rs:fit:100:100/skp:jpg/f:png"))
        .await;
    assert_eq!(dims(&r), (SourceFormat::Png, 100, 67));
    // a format that is not listed: processed
    let r = s
        .get(&s.sign("local:///photo.jpg", "rs:fit:100:100/skp:png"))
        .await;
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 100, 67));
}

// ---- the shared corpus -------------------------------------------------------------

/// The shared corpus (`support::corpus::find`: `APERTURE_CORPUS`, else
/// `../shared/corpus` beside the checkout, else `/work/shared/corpus`), or `None` with a
/// note, so a clean clone elsewhere still runs these tests.
fn corpus_dir() -> Option<PathBuf> {
    corpus::find(Path::new(env!("CARGO_MANIFEST_DIR")))
        .map_err(|looked| println!("note: no corpus at {looked:?}; corpus tests skipped"))
        .ok()
}

/// The rows the corpus tests run (`support::corpus::rows`).
fn corpus_rows(dir: &Path) -> Vec<Row> {
    corpus::rows(dir).unwrap()
}

/// Every core row: ok rows of the decoded formats must come back (as the source
/// family's output format) with the manifest's oriented size, reject rows (all
/// formats) must be 422, each within 10 s. Optional rows of the decoded formats are
/// run too: their ok rows must decode like core ones, while an optional reject row
/// that decodes is only reported (e.g. a 10000-frame GIF whose first frame is fine).
#[tokio::test]
async fn corpus_core_files() {
    let Some(dir) = corpus_dir() else { return };
    let root = dir.clone();
    let s = TestServer::start_with(move |c| c.sources.local_root = root).await;
    let (mut ok, mut rejected, mut skipped) = (0, 0, Vec::new());
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut lenient = Vec::new();
    let mut good: Option<String> = None;
    let mut failures = Vec::new();
    for row in corpus_rows(&dir) {
        if row.rule == Rule::NotDecoded {
            skipped.push(row.path);
            continue;
        }
        let started = Instant::now();
        let r = s
            .get(&s.sign(&format!("local:///{}", row.path), "q:80"))
            .await;
        let took = started.elapsed();
        if took > Duration::from_secs(10) {
            failures.push(format!("{}: took {took:?}", row.path));
        }
        if row.core {
            *checked.entry(row.format.clone()).or_default() += 1;
        }
        if row.rule == Rule::Decodes {
            let want = row.oriented.expect("ok rows have oriented sizes");
            let got = (r.status == 200)
                .then(|| probe::probe(&r.body, u64::MAX).ok())
                .flatten()
                .map(|p| (p.width, p.height));
            if got != Some(want) {
                failures.push(format!(
                    "{}: want 200 {want:?}, got {} {got:?} {}",
                    row.path,
                    r.status,
                    if r.status == 200 {
                        String::new()
                    } else {
                        r.text()
                    }
                ));
            }
            ok += 1;
            good.get_or_insert(row.path);
        } else {
            if r.status != 422 {
                let why = if r.status.is_success() {
                    String::new()
                } else {
                    r.text()
                };
                let line = format!("{}: want 422, got {} {why}", row.path, r.status);
                if row.rule == Rule::Rejects || r.status.is_server_error() {
                    failures.push(line);
                } else {
                    lenient.push(line);
                }
            }
            rejected += 1;
        }
    }
    println!(
        "corpus: {ok} ok and {rejected} reject rows checked (core rows per format: \
         {checked:?}); {} ok rows skipped (formats not decoded in this build): {}",
        skipped.len(),
        skipped.join(" ")
    );
    if !lenient.is_empty() {
        println!("optional reject rows accepted:\n{}", lenient.join("\n"));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // and the server is still serving
    let good = good.expect("the corpus has ok rows");
    let r = s.get(&s.sign(&format!("local:///{good}"), "w:10")).await;
    assert_eq!(r.status, 200, "{good}: {}", r.text());
}

/// The probe's `alpha` (headers only) agrees with the decoder on every decodable
/// corpus file: it decides PNG or JPEG before any pixel is decoded.
#[tokio::test]
async fn corpus_probe_alpha_matches_the_decoded_channels() {
    let Some(dir) = corpus_dir() else { return };
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in corpus_rows(&dir) {
        if row.rule != Rule::Decodes {
            continue;
        }
        let bytes = std::fs::read(dir.join(&row.path)).unwrap();
        let Ok(p) = probe::probe(&bytes, 100_000_000) else {
            continue;
        };
        let Ok(img) = aperture::pipeline::decode_full(&bytes, &p) else {
            continue;
        };
        checked += 1;
        let decoded = matches!(img.channels, 2 | 4);
        if p.alpha != decoded {
            failures.push(format!(
                "{}: probe alpha {}, decoded {} channels",
                row.path, p.alpha, img.channels
            ));
        }
    }
    println!("corpus: alpha checked on {checked} files");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- animations ---------------------------------------------------------------------

/// Frames of a GIF answer and their size, read with the gif crate.
fn gif_frames(body: &[u8]) -> (u16, u16, usize) {
    let mut dec = gif::DecodeOptions::new().read_info(body).unwrap();
    let (w, h) = (dec.width(), dec.height());
    let mut n = 0;
    while dec.read_next_frame().unwrap().is_some() {
        n += 1;
    }
    (w, h, n)
}

/// A server on the corpus, keeping at most `max_frames` frames of an animation.
async fn corpus_server(dir: &Path, max_frames: u32) -> TestServer {
    let root = dir.to_path_buf();
    TestServer::start_with(move |c| {
        c.sources.local_root = root;
        c.processing.max_animation_frames = max_frames;
    })
    .await
}

#[tokio::test]
async fn animations_stay_animated_in_gif_and_webp_and_are_stills_elsewhere() {
    let Some(dir) = corpus_dir() else { return };
    let s = corpus_server(&dir, 100).await;
    // 160x120, 4 frames
    let src = "local:///valid/gif/animated_4frames.gif";
    let r = s.get(&s.sign(src, "rs:fit:80:80")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("image/gif"));
    assert_eq!(gif_frames(&r.body), (80, 60, 4));
    let r = s.get(&s.sign(src, "rs:fit:80:80/f:webp")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(dims(&r), (SourceFormat::Webp, 80, 60));
    let chunks = |b: &[u8], kind: &[u8]| b.windows(4).filter(|w| *w == kind).count();
    assert_eq!(chunks(&r.body, b"ANIM"), 1);
    assert_eq!(chunks(&r.body, b"ANMF"), 4);
    let r = s.get(&s.sign(src, "rs:fit:80:80/f:jpg")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 80, 60));
    // an animated WebP (3 frames) to GIF
    let r = s
        .get(&s.sign("local:///valid/webp/animated_3frames.webp", "w:40/f:gif"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(gif_frames(&r.body), (40, 30, 3));
    // ... and with no format asked: WebP is not for every client, GIF keeps the motion
    let r = s
        .get(&s.sign("local:///valid/webp/animated_3frames.webp", "w:40"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("image/gif"));
    assert_eq!(gif_frames(&r.body), (40, 30, 3));
    // sub-frames with disposal: every output frame is a whole canvas
    let r = s
        .get(&s.sign("local:///valid/gif/animated_subframes_disposal.gif", "w:32"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(gif_frames(&r.body), (32, 32, 4));
}

#[tokio::test]
async fn the_10000_frame_gif_is_refused_fast_unless_a_still_is_asked_for() {
    let Some(dir) = corpus_dir() else { return };
    let s = corpus_server(&dir, 100).await;
    let src = "local:///invalid/gif/10000_frames_1000x1000.gif";
    for options in ["w:100", "w:100/f:webp"] {
        let started = Instant::now();
        let r = s.get(&s.sign(src, options)).await;
        assert!(started.elapsed() < Duration::from_secs(2), "{options}");
        // 100 frames kept x 1000x1000 = 100 MP, over the 50 MP limit
        assert_eq!(r.status, 422, "{options}");
        assert!(r.text().contains("max_animation_frames"), "{}", r.text());
    }
    let started = Instant::now();
    let r = s.get(&s.sign(src, "w:100/f:jpg")).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(dims(&r), (SourceFormat::Jpeg, 100, 100));
    // with a cap of 10 frames the animation fits: 10 MP
    let s = corpus_server(&dir, 10).await;
    let started = Instant::now();
    let r = s.get(&s.sign(src, "w:100")).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(gif_frames(&r.body), (100, 100, 10));
}

#[tokio::test]
async fn smart_gravity_keeps_the_detailed_part() {
    let s = TestServer::signed().await;
    // flat grey, with colourful detail in the right quarter
    let img = png_of(400, 200, |x, y| {
        if x >= 300 {
            let v = ((x * 37 + y * 91) % 255) as u8;
            [v, 255 - v, v / 2]
        } else {
            [128, 128, 128]
        }
    });
    s.root.write("detail.png", &img);
    let crop = |gravity: &str| {
        s.sign(
            "local:///detail.png",
            &format!("rs:fill:100:100/g:{gravity}/f:png"),
        )
    };
    let centre = s.get(&crop("ce")).await;
    let smart = s.get(&crop("sm")).await;
    for r in [&centre, &smart] {
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let (_, w, _, centre_px) = png_pixels(&centre.body);
    let (_, sw, _, smart_px) = png_pixels(&smart.body);
    assert_eq!((w, sw), (100, 100));
    // the centre window only catches the resampling kernel's reach into the detail
    let (flat, busy) = (detail(&centre_px, w, 3), detail(&smart_px, sw, 3));
    assert!(
        busy > 10 * flat.max(100),
        "sm moved to the detail: {busy} vs {flat}"
    );
}

/// `photo.jpg` with an EXIF block holding a Copyright notice and a GPS-bearing tag
/// stand-in (ImageDescription), inserted after SOI.
fn photo_with_copyright(notice: &str) -> Vec<u8> {
    let photo = std::fs::read(crate::support::fixtures().join("photo.jpg")).unwrap();
    let entry = |tag: u16, text: &[u8], at: u32| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend_from_slice(&2u16.to_le_bytes());
        e.extend_from_slice(&(text.len() as u32 + 1).to_le_bytes());
        e.extend_from_slice(&at.to_le_bytes());
        e
    };
    let (desc, copy) = (b"a private description".as_slice(), notice.as_bytes());
    let data = 8 + 2 + 2 * 12 + 4;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend(entry(0x010E, desc, data));
    tiff.extend(entry(0x8298, copy, data + desc.len() as u32 + 1));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for text in [desc, copy] {
        tiff.extend_from_slice(text);
        tiff.push(0);
    }
    let mut out = photo[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&photo[2..]);
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn keep_copyright_keeps_only_the_notice() {
    let s = TestServer::signed().await;
    s.root
        .write("signed.jpg", &photo_with_copyright("(c) 2026 Jane Doe"));
    for (opts, kept) in [
        ("w:80", true),
        ("w:80/f:png", true),
        ("w:80/kcr:0", false),
        ("w:80/f:webp", false),
    ] {
        let r = s.get(&s.sign("local:///signed.jpg", opts)).await;
        assert_eq!(r.status, http::StatusCode::OK, "{opts}: {}", r.text());
        assert_eq!(contains(&r.body, b"(c) 2026 Jane Doe"), kept, "{opts}");
        assert!(!contains(&r.body, b"a private description"), "{opts}");
        let p = probe::probe(&r.body, u64::MAX).expect("an image");
        let img = aperture::pipeline::decode_full(&r.body, &p).expect("decodable");
        assert_eq!(img.width, 80, "{opts}");
    }
}

#[tokio::test]
async fn a_webp_source_is_webp_only_for_clients_that_accept_it() {
    let s = TestServer::signed().await;
    let path = s.sign("local:///p3.webp", "w:50");
    let plain = s.get(&path).await;
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert_eq!(plain.header("content-type"), Some("image/jpeg"));
    assert_eq!(plain.header("vary"), Some("accept"));
    let webp = s
        .get_with(&path, &[("accept", "image/avif,image/webp,*/*")])
        .await;
    assert_eq!(webp.header("content-type"), Some("image/webp"));
    assert_eq!(webp.header("vary"), Some("accept"));
}
