//! `watermark`/`wm` end to end: a server configured with a 16x16 opaque red PNG
//! (`tests/fixtures/watermark-red-16.png`) draws it over a white 64x48 PNG source;
//! the decoded answers are checked pixel by pixel. Without a configured image, `wm`
//! is a 501.

use aperture::config::WatermarkSource;

use crate::support::{TestServer, fixtures};

const RED: [u8; 3] = [255, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];

/// A white RGB PNG of `w` x `h`.
fn white_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let data = vec![255u8; (w * h * 3) as usize];
    enc.write_header().unwrap().write_image_data(&data).unwrap();
    out
}

async fn server(opacity: f64) -> TestServer {
    let s = TestServer::signed_with(|c| {
        let path = fixtures().join("watermark-red-16.png");
        c.processing.watermark = Some(WatermarkSource::Path(path));
        c.processing.watermark_opacity = opacity;
    })
    .await;
    s.root.write("white.png", &white_png(64, 48));
    s
}

/// The answer's RGB pixels (a PNG of 64x48 RGB) for `options`.
async fn pixels(s: &TestServer, options: &str) -> Vec<u8> {
    pixels_of(s, options, (64, 48)).await
}

/// The answer's RGB pixels (a PNG of `size` RGB) for `options`.
async fn pixels_of(s: &TestServer, options: &str, size: (u32, u32)) -> Vec<u8> {
    let r = s.get(&s.sign("local:///white.png", options)).await;
    assert_eq!(r.status, 200, "{options}: {}", r.text());
    assert_eq!(r.header("content-type"), Some("image/png"), "{options}");
    let mut dec = png::Decoder::new(std::io::Cursor::new(&r.body[..]));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.color_type, info.width, info.height),
        (png::ColorType::Rgb, size.0, size.1),
        "{options}"
    );
    buf.truncate(info.buffer_size());
    buf
}

fn at(px: &[u8], x: u32, y: u32) -> [u8; 3] {
    let i = (y * 64 + x) as usize * 3;
    [px[i], px[i + 1], px[i + 2]]
}

/// Checks the listed pixels are `colour`.
fn expect(px: &[u8], colour: [u8; 3], points: &[(u32, u32)], what: &str) {
    for &(x, y) in points {
        assert_eq!(at(px, x, y), colour, "{what} at ({x}, {y})");
    }
}

#[tokio::test]
async fn a_corner_watermark_is_red_there_and_nowhere_else() {
    let s = server(1.0).await;
    let px = pixels(&s, "wm:1:soea:0:0/f:png").await;
    expect(&px, RED, &[(63, 47), (48, 32), (48, 47), (63, 32)], "soea");
    expect(&px, WHITE, &[(47, 47), (63, 31), (0, 0), (32, 24)], "soea");
    // offsets move it in from the named edges
    let px = pixels(&s, "wm:1:nowe:4:2/f:png").await;
    expect(&px, RED, &[(4, 2), (19, 17)], "nowe offset");
    expect(
        &px,
        WHITE,
        &[(3, 2), (4, 1), (20, 17), (19, 18)],
        "nowe offset",
    );
    // centred by default
    let px = pixels(&s, "wm:1/f:png").await;
    expect(&px, RED, &[(24, 16), (39, 31)], "ce");
    expect(&px, WHITE, &[(23, 16), (40, 31), (24, 15), (39, 32)], "ce");
    // a JPEG answer too (lossy: the watermark's inside, away from its edges)
    let r = s
        .get(&s.sign("local:///white.png", "wm:1:soea/f:jpg"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let p = aperture::pipeline::probe::probe(&r.body, u64::MAX).unwrap();
    let img = aperture::pipeline::decode_full(&r.body, &p).unwrap();
    let px = |x: u32, y: u32| &img.pixels[((y * 64 + x) * 3) as usize..][..3];
    let (inside, outside) = (px(56, 40), px(20, 20));
    assert!(
        inside[0] > 220 && inside[1] < 40 && inside[2] < 40,
        "{inside:?}"
    );
    assert!(outside.iter().all(|&v| v > 245), "{outside:?}");
}

#[tokio::test]
async fn opacity_blends_half_way_and_multiplies_the_configured_one() {
    let s = server(1.0).await;
    let px = pixels(&s, "wm:0.5:nowe/f:png").await;
    expect(&px, [255, 128, 128], &[(0, 0), (15, 15)], "wm:0.5");
    expect(&px, WHITE, &[(16, 16)], "wm:0.5");
    // opacity 0 draws nothing (and needs no image)
    let px = pixels(&s, "wm:0:nowe/f:png").await;
    assert!(px.iter().all(|&v| v == 255));
    let half = server(0.5).await;
    let px = pixels(&half, "wm:1:nowe/f:png").await;
    expect(&px, [255, 128, 128], &[(0, 0)], "configured 0.5");
    let px = pixels(&half, "wm:0.5:nowe/f:png").await;
    expect(&px, [255, 191, 191], &[(0, 0)], "0.5 x 0.5");
}

#[tokio::test]
async fn replicate_tiles_with_the_offsets_as_spacing() {
    let s = server(1.0).await;
    // 16x16 tiles cover the whole 64x48 image
    let px = pixels(&s, "wm:1:re/f:png").await;
    assert!(px.chunks_exact(3).all(|p| p == RED));
    // spacing 16: cells of 32, the middle one centred: red columns 0-7, 24-39, 56-63
    // and rows 16-31
    let px = pixels(&s, "wm:1:re:16:16/f:png").await;
    expect(
        &px,
        RED,
        &[(0, 16), (7, 31), (24, 20), (39, 16), (56, 31), (63, 20)],
        "re",
    );
    expect(&px, WHITE, &[(8, 20), (23, 20), (40, 20), (55, 20)], "re");
    expect(&px, WHITE, &[(0, 15), (30, 15), (0, 32), (30, 47)], "re");
}

#[tokio::test]
async fn scale_sizes_it_relative_to_the_result() {
    let s = server(1.0).await;
    // scale 0.5 of 64x48: fitted into 32x24, so 24x24 in the bottom-right corner
    let px = pixels(&s, "wm:1:soea:0:0:0.5/f:png").await;
    expect(&px, RED, &[(63, 47), (41, 25), (50, 35)], "scale");
    expect(&px, WHITE, &[(38, 35), (50, 22), (0, 0)], "scale");
    // after resizing: the result's size counts (32x24: a 12x12 watermark)
    let px = pixels_of(&s, "rs:fit:32:24/wm:1:soea:0:0:0.5/f:png", (32, 24)).await;
    let at32 = |x: usize, y: usize| &px[(y * 32 + x) * 3..][..3];
    assert_eq!(at32(31, 23), RED);
    assert_eq!(at32(21, 13), RED);
    assert_eq!(at32(18, 13), WHITE);
    assert_eq!(at32(21, 10), WHITE);
}

#[tokio::test]
async fn without_a_configured_image_wm_is_a_501_unless_its_opacity_is_0() {
    let s = TestServer::signed().await;
    s.root.write("white.png", &white_png(64, 48));
    let r = s.get(&s.sign("local:///white.png", "wm:1:soea")).await;
    assert_eq!(r.status, 501);
    assert!(
        r.text()
            .contains("watermark (no watermark image is configured)"),
        "{}",
        r.text()
    );
    let r = s
        .get(&s.sign("local:///white.png", "wm:0:soea/f:png"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}
