use super::*;

fn encode(p: &ColorProfile) -> Vec<u8> {
    p.encode().unwrap()
}

fn srgb_encode(l: f64) -> f64 {
    let v = if l <= 0.003_130_8 {
        12.92 * l
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    };
    (v.clamp(0.0, 1.0) * 255.0).round()
}

fn srgb_decode(v: u8) -> f64 {
    let v = f64::from(v) / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Display P3 -> sRGB by the book: same curve, linear-light matrix (both D65). lcms2
/// (Pillow) agrees: (200, 100, 50) -> (215, 93, 31), (100, 200, 50) -> (45, 203, 0).
fn p3_reference(px: [u8; 3]) -> [u8; 3] {
    const M: [[f64; 3]; 3] = [
        [1.224_940, -0.224_940, 0.0],
        [-0.042_057, 1.042_057, 0.0],
        [-0.019_638, -0.078_636, 1.098_274],
    ];
    let l = px.map(srgb_decode);
    M.map(|r| srgb_encode(r[0] * l[0] + r[1] * l[1] + r[2] * l[2]) as u8)
}

#[test]
fn display_p3_pixels_become_their_srgb_values() {
    let icc = encode(&ColorProfile::new_display_p3());
    let src = [
        [200u8, 100, 50],
        [100, 200, 50],
        [60, 90, 220],
        [128, 128, 128],
    ];
    let mut img = Bitmap::new(src.concat(), 4, 1, 3);
    to_srgb(&mut img, Some(&icc));
    for (got, want) in img.pixels.chunks(3).zip(src.map(p3_reference)) {
        for (g, w) in got.iter().zip(want) {
            assert!(g.abs_diff(w) <= 2, "{got:?} vs {want:?}");
        }
    }
    // P3 red is more saturated than sRGB can show: it clips to sRGB red
    let mut red = Bitmap::new(vec![255, 0, 0, 77], 1, 1, 4);
    to_srgb(&mut red, Some(&icc));
    assert!(red.pixels[0] >= 254 && red.pixels[1] <= 2 && red.pixels[2] <= 2);
    assert_eq!(red.pixels[3], 77, "alpha is kept");
}

#[test]
fn adobe_rgb_green_is_pulled_into_srgb() {
    let icc = encode(&ColorProfile::new_adobe_rgb());
    let mut img = Bitmap::new(vec![90, 160, 90], 1, 1, 3);
    to_srgb(&mut img, Some(&icc));
    // Adobe RGB's greens are wider: the same numbers mean a more saturated green, so
    // in sRGB red falls out of gamut (lcms2 via Pillow, with the corpus's colord
    // AdobeRGB1998 profile: 0, 161, 85)
    let [r, g, b] = [img.pixels[0], img.pixels[1], img.pixels[2]];
    assert!(
        r <= 3 && g.abs_diff(161) <= 3 && b.abs_diff(85) <= 3,
        "{r} {g} {b}"
    );
}

#[test]
fn srgb_profiles_are_a_no_op() {
    let icc = encode(&ColorProfile::new_srgb());
    assert!(is_srgb(&parse(&icc).unwrap()));
    assert!(!is_srgb(&ColorProfile::new_display_p3()));
    assert!(!is_srgb(&ColorProfile::new_adobe_rgb()));
    let px: Vec<u8> = (0..=255).flat_map(|v| [v, 255 - v, v / 2]).collect();
    let mut img = Bitmap::new(px.clone(), 256, 1, 3);
    to_srgb(&mut img, Some(&icc));
    assert_eq!(img.pixels, px);
}

#[test]
fn malformed_or_mismatched_profiles_are_ignored() {
    let px = vec![10u8, 20, 30, 40, 50, 60];
    let mut icc = encode(&ColorProfile::new_display_p3());
    let mut img = Bitmap::new(px.clone(), 2, 1, 3);
    for bad in [&b""[..], b"garbage", &icc[..100]] {
        to_srgb(&mut img, Some(bad));
        assert_eq!(img.pixels, px);
    }
    icc[40..44].copy_from_slice(b"zzzz"); // the platform signature does not matter
    icc[16..20].copy_from_slice(b"GRAY"); // but a grey profile on RGB pixels does
    to_srgb(&mut img, Some(&icc));
    assert_eq!(img.pixels, px);
    to_srgb(&mut img, None);
    assert_eq!(img.pixels, px);
}

#[test]
fn grey_with_a_gamma_profile_gets_the_srgb_curve() {
    let mut grey = ColorProfile::new_gray_with_gamma(1.8);
    grey.pcs = DataColorSpace::Xyz;
    let icc = encode(&grey);
    let mut img = Bitmap::new(vec![0, 200, 128, 9], 2, 1, 2);
    to_srgb(&mut img, Some(&icc));
    // linear (128/255)^1.8 = 0.289 is 146 in sRGB; alpha untouched
    assert_eq!(img.pixels[0], 0);
    assert!(img.pixels[2].abs_diff(146) <= 2, "{:?}", img.pixels);
    assert_eq!((img.pixels[1], img.pixels[3]), (200, 9));
}

#[test]
fn cmyk_without_a_profile_is_naive() {
    let mut px = vec![255, 0, 0, 255, 0, 0, 0, 0];
    cmyk_to_rgb(&mut px, 2, true, None);
    assert_eq!(px, [255, 0, 0, 0, 0, 0]);
    let mut px = vec![0, 255, 255, 0];
    cmyk_to_rgb(&mut px, 1, false, Some(b"not a profile"));
    assert_eq!(px, [255, 0, 0]);
}

#[test]
fn transforms_are_reused_per_profile_and_layout() {
    let icc = encode(&ColorProfile::new_adobe_rgb());
    let build = || transform(&icc, Layout::Rgb);
    let a = cache::get_or_build(&icc, Layout::Rgb, build).unwrap();
    let b = cache::get_or_build(&icc, Layout::Rgb, || panic!("not cached")).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let c = cache::get_or_build(&icc, Layout::Rgba, || transform(&icc, Layout::Rgba));
    assert!(!std::sync::Arc::ptr_eq(&a, &c.unwrap()));
    // "nothing to do" is remembered too
    let srgb = encode(&ColorProfile::new_srgb());
    assert!(cache::get_or_build(&srgb, Layout::Rgb, || transform(&srgb, Layout::Rgb)).is_none());
    assert!(cache::get_or_build(&srgb, Layout::Rgb, || panic!("not cached")).is_none());
}
