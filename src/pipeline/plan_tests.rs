//! Output sizes and source rectangles, computed by hand from imgproxy's rules.

use super::*;
use crate::options::{Presets, parse};

fn po(options: &str) -> ProcessingOptions {
    let segments: Vec<&str> = options.split('/').filter(|s| !s.is_empty()).collect();
    parse(&segments, &Presets::empty()).expect("valid options")
}

/// (source size, options, expected output size)
type SizeCase = ((u32, u32), &'static str, (u32, u32));
/// (source size, options, expected output size, expected applied dpr)
type DprCase = ((u32, u32), &'static str, (u32, u32), f64);
/// (options, expected source rectangle, expected output size)
type RectCase = (&'static str, (f64, f64, f64, f64), (u32, u32));

fn out(w: u32, h: u32, options: &str) -> (u32, u32) {
    let p = plan(w, h, &po(options));
    (p.out_w, p.out_h)
}

#[test]
fn resizing_types_enlarge_dpr_zoom() {
    // (source, options, expected output)
    let table: &[SizeCase] = &[
        ((4000, 3000), "", (4000, 3000)),
        ((4000, 3000), "rs:fit:300:300", (300, 225)),
        ((3000, 4000), "rs:fit:300:300", (225, 300)),
        ((4000, 3000), "rs:fill:300:300", (300, 300)),
        ((4000, 3000), "rs:fill-down:300:300", (300, 300)),
        ((4000, 3000), "rs:force:300:300", (300, 300)),
        ((4000, 3000), "rs:auto:300:200", (300, 200)),
        ((4000, 3000), "rs:auto:200:300", (200, 150)),
        ((4000, 3000), "w:300", (300, 225)),
        ((4000, 3000), "h:300", (400, 300)),
        ((4000, 3000), "rs:fit:300:0", (300, 225)),
        ((4000, 3000), "rs:fill:0:150", (200, 150)),
        ((4000, 3000), "rs:force:300:0", (300, 3000)),
        // no upscaling without enlarge; with it, the box is reached
        ((4000, 3000), "rs:fit:8000:6000", (4000, 3000)),
        ((4000, 3000), "rs:fit:8000:6000:1", (8000, 6000)),
        ((200, 100), "rs:fill:300:300", (200, 100)),
        ((200, 100), "rs:fill:300:300:1", (300, 300)),
        ((4000, 3000), "rs:fill:6000:1000", (4000, 1000)),
        // fill-down keeps the requested aspect ratio inside a too-small image
        ((4000, 3000), "rs:fill-down:6000:1000", (4000, 667)),
        ((4000, 3000), "rs:fill-down:1000:6000", (500, 3000)),
        ((4000, 3000), "rs:fill-down:6000:1000:1", (6000, 1000)),
        // force keeps its distortion ratio when it would enlarge one side
        ((4000, 3000), "rs:force:8000:1500", (4000, 750)),
        // dpr multiplies the box, but never upscales without enlarge
        ((4000, 3000), "rs:fit:300:300/dpr:2", (600, 450)),
        ((4000, 3000), "rs:fill:300:300/dpr:2", (600, 600)),
        ((400, 300), "rs:fit:300:300/dpr:2", (400, 300)),
        ((400, 300), "rs:fit:300:300:1/dpr:2", (600, 450)),
        // min-width/min-height win over width/height, then the box cuts
        ((4000, 3000), "rs:fit:300:300/mw:500", (300, 300)),
        ((4000, 3000), "rs:fit:0:150/mw:300", (300, 150)),
        ((4000, 3000), "h:150/mh:300", (400, 150)),
        // zoom multiplies the image and the box (never past the source, see below)
        ((4000, 3000), "rs:fit:300:300/z:2", (600, 450)),
        ((4000, 3000), "z:0.5", (2000, 1500)),
        ((4000, 3000), "z:0.5:0.25", (2000, 750)),
        // degenerate ratios never reach zero
        ((10000, 1), "rs:fit:300:300", (300, 1)),
        ((1, 1), "rs:fill:300:300", (1, 1)),
    ];
    for &((w, h), options, expected) in table {
        assert_eq!(out(w, h, options), expected, "{w}x{h} {options}");
    }
}

#[test]
fn fill_crops_by_gravity() {
    // 4000x3000 -> 400x300 -> cut to 300x300: 100 resized px = 1000 source px to spare
    let table: &[(&str, f64)] = &[
        ("rs:fill:300:300", 500.0),
        ("rs:fill:300:300/g:ce", 500.0),
        ("rs:fill:300:300/g:we", 0.0),
        ("rs:fill:300:300/g:nowe", 0.0),
        ("rs:fill:300:300/g:ea", 1000.0),
        ("rs:fill:300:300/g:soea", 1000.0),
        ("rs:fill:300:300/g:no", 500.0),
        // offsets in output pixels, clamped inside the image
        ("rs:fill:300:300/g:we:20:0", 200.0),
        ("rs:fill:300:300/g:ea:500:0", 0.0),
        // focus point at x = 0.25: centred on resized x 100, clamped to 0
        ("rs:fill:300:300/g:fp:0.25:0.5", 0.0),
        ("rs:fill:300:300/g:fp:0.6:0.5", 900.0),
        // smart gravity plans the centre; pixels move it later (smart.rs)
        ("rs:fill:300:300/g:sm", 500.0),
    ];
    for &(options, left) in table {
        let p = plan(4000, 3000, &po(options));
        assert_eq!((p.out_w, p.out_h), (300, 300), "{options}");
        assert_eq!(p.src, (left, 0.0, 3000.0, 3000.0), "{options}");
    }
    // vertical placement in a portrait source
    let p = plan(3000, 4000, &po("rs:fill:300:300/g:so"));
    assert_eq!(p.src, (0.0, 1000.0, 3000.0, 3000.0));
    let p = plan(3000, 4000, &po("rs:fill:300:300/g:no"));
    assert_eq!(p.src, (0.0, 0.0, 3000.0, 3000.0));
}

#[test]
fn crop_option_then_resize() {
    let table: &[RectCase] = &[
        (
            "c:1000:1000",
            (1500.0, 1000.0, 1000.0, 1000.0),
            (1000, 1000),
        ),
        ("c:1000:1000:nowe", (0.0, 0.0, 1000.0, 1000.0), (1000, 1000)),
        (
            "c:1000:1000:soea",
            (3000.0, 2000.0, 1000.0, 1000.0),
            (1000, 1000),
        ),
        (
            "c:1000:1000:so:0:100",
            (1500.0, 1900.0, 1000.0, 1000.0),
            (1000, 1000),
        ),
        ("c:0.5:0.5", (1000.0, 750.0, 2000.0, 1500.0), (2000, 1500)),
        ("c:1000:0", (1500.0, 0.0, 1000.0, 3000.0), (1000, 3000)),
        // larger than the source: clamped to it
        ("c:9000:9000", (0.0, 0.0, 4000.0, 3000.0), (4000, 3000)),
        (
            "c:1000:1000/rs:fit:100:100",
            (1500.0, 1000.0, 1000.0, 1000.0),
            (100, 100),
        ),
        // the crop's gravity defaults to the main gravity
        (
            "c:1000:1000/g:nowe",
            (0.0, 0.0, 1000.0, 1000.0),
            (1000, 1000),
        ),
        // crop, then fill into a wide box: cut vertically around the centre
        (
            "c:2000:2000/rs:fill:200:100",
            (1000.0, 1000.0, 2000.0, 1000.0),
            (200, 100),
        ),
    ];
    for &(options, src, size) in table {
        let p = plan(4000, 3000, &po(options));
        assert_eq!(p.src, src, "{options}");
        assert_eq!((p.out_w, p.out_h), size, "{options}");
    }
}

#[test]
fn scale_factors_and_identity() {
    let p = plan(4000, 3000, &po("rs:fit:300:300"));
    assert!((p.scale_x - 0.075).abs() < 1e-9 && (p.scale_y - 0.075).abs() < 1e-9);
    assert!(plan(640, 480, &po("")).is_identity(640, 480));
    assert!(plan(640, 480, &po("rs:fit:1000:1000")).is_identity(640, 480));
    assert!(!plan(640, 480, &po("w:320")).is_identity(640, 480));
}

/// Current imgproxy's `calcScale` (`processing/prepare.go`): zoom before the enlarge
/// check, and without `enlarge` the applied dpr (`DprScale`) capped at what the source
/// can give; the box, `extend`, `padding` and gravity offsets scale by that dpr.
#[test]
fn dpr_and_zoom_never_enlarge() {
    // (source, options, expected output, expected applied dpr)
    let table: &[DprCase] = &[
        // the source is 4/3 of the box: dpr 2 is cut to 4/3 (the box becomes 400x400)
        ((400, 300), "rs:fit:300:300/dpr:2", (400, 300), 4.0 / 3.0),
        // ... so fill now fills that box (the old rule cut to 600x600: no cut)
        ((400, 300), "rs:fill:300:300/dpr:2", (300, 300), 1.0),
        ((4000, 3000), "rs:fit:300:300/dpr:2", (600, 450), 2.0),
        // enlarge keeps the whole dpr
        ((400, 300), "rs:fit:300:300:1/dpr:2", (600, 450), 2.0),
        // zoom cannot enlarge without `enlarge` (it was applied after the check)
        ((400, 300), "rs:fit:800:800/z:2", (400, 300), 1.0),
        ((400, 300), "rs:fit:300:300/z:2", (400, 300), 1.0),
        ((400, 300), "z:2", (400, 300), 1.0),
        ((400, 300), "z:2/el:1", (800, 600), 1.0),
        ((400, 300), "z:2:0.5", (400, 75), 1.0),
        ((4000, 3000), "z:0.5", (2000, 1500), 1.0),
        // min-width comes before the dpr division, so the dpr multiplies it
        ((4000, 3000), "rs:fit:300:300/mw:500/dpr:2", (600, 600), 2.0),
        ((4000, 3000), "rs:fit:0:150/mw:300/dpr:2", (600, 300), 2.0),
        // a dpr < 1 on a too-small source is compensated back to 1 ...
        ((400, 300), "rs:fit:800:800/dpr:0.5", (400, 300), 1.0),
        // ... except with extend, which keeps the composition of dpr 1 at half size
        ((400, 300), "rs:fit:800:800/dpr:0.5/ex:1", (200, 150), 0.5),
        // force: the less-shrunk side is brought back to 1, the dpr with it
        ((400, 300), "rs:force:800:150/dpr:2", (400, 75), 1.0),
    ];
    for &((w, h), options, expected, dpr) in table {
        let p = plan(w, h, &po(options));
        assert_eq!((p.out_w, p.out_h), expected, "{w}x{h} {options}");
        assert!(
            (p.dpr - dpr).abs() < 1e-9,
            "{w}x{h} {options}: dpr {}",
            p.dpr
        );
    }
}

#[test]
fn padding_and_extend_use_the_applied_dpr() {
    use crate::pipeline::{extend, padding};
    // (source, options, expected canvas after extend and padding)
    let table: &[SizeCase] = &[
        // 400x300 + 10 * 4/3 = 13.33 -> 13 per side (was 20: 440x340)
        ((400, 300), "rs:fit:300:300/dpr:2/pd:10", (426, 326)),
        ((4000, 3000), "rs:fit:300:300/dpr:2/pd:10", (640, 490)),
        ((400, 300), "rs:fit:300:300:1/dpr:2/pd:10", (640, 490)),
        // extend grows to the box of the applied dpr: 400x400 (was 600x600)
        ((400, 300), "rs:fit:300:300/dpr:2/ex:1", (400, 400)),
        ((400, 300), "rs:fit:800:800/dpr:0.5/ex:1", (400, 400)),
        // a too-small source with extend: dpr 2 capped at 1, so the 800x800 box (was
        // 1600x1600)
        ((400, 300), "rs:fit:800:800/dpr:2/ex:1", (800, 800)),
        // enlarge keeps the whole dpr for the box too
        ((400, 300), "rs:fit:800:800:1/dpr:2/ex:1", (1600, 1600)),
        // zoom scales the box but not the padding
        ((4000, 3000), "rs:fit:300:300/z:2/pd:10", (620, 470)),
    ];
    for &((w, h), options, expected) in table {
        let o = po(options);
        let p = plan(w, h, &o);
        let (ew, eh) = extend::size(p.out_w, p.out_h, &o, p.dpr);
        assert_eq!(
            padding::size(ew, eh, &o, p.dpr),
            expected,
            "{w}x{h} {options}"
        );
    }
    // gravity offsets scale by the applied dpr: 20 * 1.5 = 30 px into a 400x300 image
    // cut to the 300x300 box (dpr 2 capped at 1.5)
    let p = plan(400, 300, &po("rs:fill:200:200/dpr:2/g:we:20:0"));
    assert_eq!((p.out_w, p.out_h), (300, 300));
    assert_eq!(p.src, (30.0, 0.0, 300.0, 300.0));
}

/// Centring is imgproxy's `imath.ShrinkToEven(free+1, 2)` (`calc_position.go`): half of
/// `free + 1` rounded half to even. It differs from `(free + 1) / 2` by one pixel when
/// the free space is 2 mod 4.
#[test]
fn centring_rounds_half_to_even() {
    let table: &[RectCase] = &[
        // free 3002 (2 mod 4): 1501.5 -> 1502 (was 1501)
        ("c:998:1000", (1502.0, 1000.0, 998.0, 1000.0), (998, 1000)),
        // free 2998 (2 mod 4): 1499.5 -> 1500 (was 1499)
        (
            "c:1002:1000",
            (1500.0, 1000.0, 1002.0, 1000.0),
            (1002, 1000),
        ),
        // free 2002 vertically: 1001.5 -> 1002 (was 1001)
        ("c:1000:998", (1500.0, 1002.0, 1000.0, 998.0), (1000, 998)),
        // odd free space: exact; 0 mod 4: unchanged
        ("c:999:1000", (1501.0, 1000.0, 999.0, 1000.0), (999, 1000)),
        (
            "c:1000:1000",
            (1500.0, 1000.0, 1000.0, 1000.0),
            (1000, 1000),
        ),
        // the result cut: 400x300 resized, 102 px to spare -> 52 resized px = 520
        // source px from the left (was 51 = 510)
        ("rs:fill:298:300", (520.0, 0.0, 2980.0, 3000.0), (298, 300)),
        // offsets add to the rounded centre
        (
            "c:998:1000:ce:10:0",
            (1512.0, 1000.0, 998.0, 1000.0),
            (998, 1000),
        ),
    ];
    for &(options, src, size) in table {
        let p = plan(4000, 3000, &po(options));
        assert_eq!(p.src, src, "{options}");
        assert_eq!((p.out_w, p.out_h), size, "{options}");
    }
    // extend places the image the same way: 6 px to spare -> 4 left, 2 right
    assert_eq!(position(10, 6, 4, 2, &po("").gravity, 1.0), (4, 2));
}

/// Vector sources (SVG) are not held back by `enlarge`, nor is their dpr: imgproxy's
/// `calcScale` runs its enlarge check only for `!po.Enlarge() && !isVector`.
#[test]
fn vector_sources_scale_up_to_the_box() {
    let table: &[SizeCase] = &[
        ((200, 120), "rs:fit:400:400", (400, 240)),
        ((200, 120), "rs:fill:400:400", (400, 400)),
        ((200, 120), "w:300", (300, 180)),
        ((200, 120), "rs:fit:300:300/dpr:2", (600, 360)),
        ((200, 120), "z:2", (400, 240)),
        ((200, 120), "", (200, 120)),
        // shrinking is the same as for rasters
        ((2000, 1200), "rs:fit:400:400", (400, 240)),
    ];
    for &((w, h), options, expected) in table {
        let p = plan_source(w, h, &po(options), true);
        assert_eq!((p.out_w, p.out_h), expected, "{w}x{h} {options}");
    }
    // the same options on a raster source stay at its size
    assert_eq!(out(200, 120, "rs:fit:400:400"), (200, 120));
    assert!((plan_source(200, 120, &po("dpr:3"), true).dpr - 3.0).abs() < 1e-9);
}
