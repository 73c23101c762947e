//! The watermark keys: where the image comes from, its opacity, and a bad image
//! stopping the start with one line naming the key.

use super::tests::load;
use super::*;
use crate::state::App;

/// A 16x16 opaque red PNG.
fn red_png() -> Vec<u8> {
    include_bytes!("../../tests/fixtures/watermark-red-16.png").to_vec()
}

#[test]
fn no_watermark_by_default() {
    let c = load(&[]).unwrap();
    assert_eq!(c.processing.watermark, None);
    assert_eq!(c.processing.watermark_opacity, 1.0);
    assert!(App::new(c).unwrap().watermark.is_none());
}

#[test]
fn data_is_base64_and_decoded_at_start() {
    use base64::Engine as _;
    let png = red_png();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
    let c = load(&[
        ("APERTURE_WATERMARK_DATA", &b64),
        ("APERTURE_WATERMARK_OPACITY", "0.5"),
    ])
    .unwrap();
    assert_eq!(c.processing.watermark, Some(WatermarkSource::Data(png)));
    let app = App::new(c).unwrap();
    let wm = app.watermark.clone().unwrap();
    assert_eq!(
        (wm.image.width, wm.image.height, wm.image.channels),
        (16, 16, 4)
    );
    assert_eq!(wm.opacity, 0.5);
    assert!(app.pipeline_settings().watermark.is_some());
}

#[test]
fn a_path_is_read_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wm.png");
    std::fs::write(&path, red_png()).unwrap();
    let c = load(&[("APERTURE_WATERMARK_PATH", path.to_str().unwrap())]).unwrap();
    assert_eq!(c.processing.watermark, Some(WatermarkSource::Path(path)));
    assert!(App::new(c).unwrap().watermark.is_some());
}

#[test]
fn a_bad_image_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.png");
    let c = load(&[("APERTURE_WATERMARK_PATH", missing.to_str().unwrap())]).unwrap();
    let e = App::new(c).err().unwrap();
    assert!(
        e.starts_with("processing.watermark_path (APERTURE_WATERMARK_PATH): `"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    let text = dir.path().join("wm.png");
    std::fs::write(&text, "not an image").unwrap();
    let c = load(&[("APERTURE_WATERMARK_PATH", text.to_str().unwrap())]).unwrap();
    let e = App::new(c).err().unwrap();
    assert!(e.contains("not a usable image"), "{e}");
    // "aGVsbG8=" is base64 of "hello": valid base64, not an image
    let c = load(&[("APERTURE_WATERMARK_DATA", "aGVsbG8=")]).unwrap();
    let e = App::new(c).err().unwrap();
    assert!(
        e.starts_with("processing.watermark_data (APERTURE_WATERMARK_DATA): not a usable image"),
        "{e}"
    );
}

#[test]
fn watermark_problems_name_key_and_variable() {
    let e = load(&[
        ("APERTURE_WATERMARK_DATA", "not base64!"),
        ("APERTURE_WATERMARK_OPACITY", "1.5"),
    ])
    .unwrap_err()
    .to_string();
    for want in [
        "processing.watermark_data (APERTURE_WATERMARK_DATA): not base64",
        "processing.watermark_opacity (APERTURE_WATERMARK_OPACITY): must be between 0 and 1, \
         got 1.5",
    ] {
        assert!(e.contains(want), "{e}");
    }
    let e = load(&[
        ("APERTURE_WATERMARK_DATA", "aGVsbG8="),
        ("APERTURE_WATERMARK_PATH", "/tmp/wm.png"),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("not both"), "{e}");
}
