//! Processed images end to end: sizes and formats, HTTP semantics of processed bodies
//! (ETag, 304, Range, HEAD), EXIF orientation, bad input, and the shared corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aperture::pipeline::probe::{self, SourceFormat};
use http::Method;

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

// ---- the shared corpus -------------------------------------------------------------

/// `shared/corpus` beside the checkout, or `APERTURE_CORPUS` (for a worktree that
/// does not sit beside `shared/`).
fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("APERTURE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("manifest.csv").is_file() {
        Some(dir)
    } else {
        println!("note: {} is missing; corpus tests skipped", dir.display());
        None
    }
}

/// RFC 4180 rows (quoted fields, doubled quotes, commas and newlines inside quotes).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

struct Row {
    path: String,
    format: String,
    oriented: Option<(u32, u32)>,
    expected_ok: bool,
    core: bool,
}

/// The manifest's formats (its `format` column) this build decodes.
const DECODED: &[&str] = &[
    "jpeg", "png", "apng", "webp", "gif", "bmp", "ico", "tiff", "avif", "svg",
];

/// The core rows, and the optional rows of the formats this build decodes.
fn corpus_rows(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    let rows = csv_rows(&text);
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (path, format, ow, oh, expected, tier) = (
        col("path"),
        col("format"),
        col("oriented_width"),
        col("oriented_height"),
        col("expected"),
        col("tier"),
    );
    rows[1..]
        .iter()
        .filter(|r| r.len() == header.len())
        .filter(|r| r[tier] == "core" || DECODED.contains(&r[format].as_str()))
        .map(|r| Row {
            path: r[path].clone(),
            format: r[format].clone(),
            oriented: r[ow].parse().ok().zip(r[oh].parse().ok()),
            expected_ok: r[expected] == "ok",
            core: r[tier] == "core",
        })
        .collect()
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
        let supported = DECODED.contains(&row.format.as_str());
        if row.expected_ok && !supported {
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
        if row.expected_ok {
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
                if row.core || r.status.is_server_error() {
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
