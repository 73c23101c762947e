//! Accepted input: every option and alias, boolean spellings, empty
//! arguments, and override order.

use super::super::parse::{OPTIONS, PRESET_OPTION};
use super::super::{GravityType, OutputFormat, Rgb, WatermarkPosition};
use super::{canon, p};

/// (url, expected canonical): one or more rows per option, long and short names.
const ROWS: &[(&str, &str)] = &[
    ("rs:fill:300:200", "rt:fill/w:300/h:200"),
    (
        "resize:fill-down:300:200:1:1",
        "rt:fill-down/w:300/h:200/el:1/ex:1",
    ),
    (
        "rs:force:10:20:t:t:no:5:6",
        "rt:force/w:10/h:20/el:1/ex:1:no:5:6",
    ),
    ("rs:auto", "rt:auto"),
    ("rs:fit:300:300", "w:300/h:300"),
    ("s:100:50", "w:100/h:50"),
    ("size:100:50:true:false", "w:100/h:50/el:1"),
    ("s:1:2:0:1:fp:0.5:0.5", "w:1/h:2/ex:1:fp:0.5:0.5"),
    ("rt:fit", ""),
    ("resizing_type:fill", "rt:fill"),
    ("ra:nearest", "ra:nearest"),
    ("resizing_algorithm:cubic", "ra:cubic"),
    ("ra:lanczos3", ""),
    ("w:300", "w:300"),
    ("width:16384", "w:16384"),
    ("h:300", "h:300"),
    ("height:0", ""),
    ("mw:10", "mw:10"),
    ("min-width:10", "mw:10"),
    ("mh:10", "mh:10"),
    ("min-height:10", "mh:10"),
    ("z:2", "z:2"),
    ("zoom:1.5:2", "z:1.5:2"),
    ("z:2:2", "z:2"),
    ("dpr:2", "dpr:2"),
    ("dpr:8", "dpr:8"),
    ("dpr:1", ""),
    ("el:1", "el:1"),
    ("enlarge:true", "el:1"),
    ("el:0", ""),
    ("ex:1", "ex:1"),
    ("extend:1:so", "ex:1:so:0:0"),
    ("ex:1:fp:0.5:0.25", "ex:1:fp:0.5:0.25"),
    ("ex:0:no", ""),
    ("exar:1:we:10", "exar:1:we:10:0"),
    ("extend_ar:1", "exar:1"),
    ("extend_aspect_ratio:t", "exar:1"),
    ("g:no", "g:no:0:0"),
    ("gravity:soea:10:20", "g:soea:10:20"),
    ("g:sowe:0.5", "g:sowe:0.5:0"),
    ("g:noea", "g:noea:0:0"),
    ("g:nowe", "g:nowe:0:0"),
    ("g:ea:-5:3", "g:ea:-5:3"),
    ("g:we", "g:we:0:0"),
    ("g:so", "g:so:0:0"),
    ("g:sm", "g:sm"),
    ("g:fp:0.3:0.7", "g:fp:0.3:0.7"),
    ("g:ce", ""),
    ("c:100:200", "c:100:200"),
    ("crop:0.5:0.5:sm", "c:0.5:0.5:sm"),
    ("c:100", "c:100:0"),
    ("c:0:0:no", ""),
    ("c:10:10:fp:0:1", "c:10:10:fp:0:1"),
    ("t:10", "t:10::0:0"),
    ("trim:5:ff00ff:1:0", "t:5:ff00ff:1:0"),
    ("t:5:ABC", "t:5:aabbcc:0:0"),
    ("pd:10", "pd:10:10:10:10"),
    ("padding:1:2", "pd:1:2:1:2"),
    ("pd:1:2:3", "pd:1:2:3:2"),
    ("pd:1:2:3:4", "pd:1:2:3:4"),
    ("pd:0", ""),
    ("ar:1", "ar:1"),
    ("auto_rotate:false", "ar:0"),
    ("rot:90", "rot:90"),
    ("rotate:-90", "rot:270"),
    ("rot:360", ""),
    ("rot:450", "rot:90"),
    ("fl:1", "fl:1:0"),
    ("flip:0:1", "fl:0:1"),
    ("bg:255:0:0", "bg:ff0000"),
    ("background:FF0000", "bg:ff0000"),
    ("bg:f00", "bg:ff0000"),
    ("bl:2", "bl:2"),
    ("blur:0.5", "bl:0.5"),
    ("sh:0.7", "sh:0.7"),
    ("sharpen:1", "sh:1"),
    ("pix:5", "pix:5"),
    ("pixelate:5", "pix:5"),
    ("wm:0.5", "wm:0.5:ce:0:0:0"),
    ("watermark:1:re:10:-10:0.2", "wm:1:re:10:-10:0.2"),
    ("wm:1:soea:1:2:0:extra:args", "wm:1:soea:1:2:0"),
    ("wm:0", ""),
    ("sm:1", "sm:1"),
    ("strip_metadata:0", "sm:0"),
    ("kcr:t", "kcr:1"),
    ("keep_copyright:f", "kcr:0"),
    ("scp:1", "scp:1"),
    ("strip_color_profile:1", "scp:1"),
    ("eth:1", "eth:1"),
    ("enforce_thumbnail:0", "eth:0"),
    ("q:80", "q:80"),
    ("quality:0", ""),
    ("q:100", "q:100"),
    ("fq:jpeg:80:webp:70", "fq:jpg:80:webp:70"),
    ("format_quality:png:50", "fq:png:50"),
    ("mb:1000", "mb:1000"),
    ("max_bytes:0", ""),
    ("f:png", "f:png"),
    ("format:jpeg", "f:jpg"),
    ("ext:webp", "f:webp"),
    (
        "f:avif/f:gif/f:ico/f:bmp/f:tiff/f:svg/f:heic/f:jxl",
        "f:jxl",
    ),
    ("skp:gif:svg", "skp:gif:svg"),
    ("skip_processing:svg/skp:gif", "skp:gif:svg"),
    ("pg:2", "pg:2"),
    ("page:0", "pg:0"),
    ("webp_options:lossless", "webpo:lossless"),
    ("webpo:near_lossless:1:photo", "webpo:near_lossless"),
    ("webpo:lossy", ""),
    ("webpo::0", ""),
    ("raw:1", "raw:1"),
    ("raw:0", ""),
    ("cb:v2", "cb:v2"),
    ("cachebuster:a%3Ab", "cb:a%3Ab"),
    ("cb:", ""),
    ("msr:50", "msr:50"),
    ("max_src_file_size:1000", "msfs:1000"),
    ("maf:10", "maf:10"),
    ("mafr:2.5", "mafr:2.5"),
    ("mrd:1000", "mrd:1000"),
    ("exp:4102444800", ""),
    ("fn:photo.jpg", ""),
    ("att:1", ""),
    ("rd:1", ""),
];

#[test]
fn every_row_parses_to_its_canonical() {
    for (url, want) in ROWS {
        assert_eq!(canon(url), *want, "url {url}");
    }
}

/// A non-default argument list for every option, to prove each alias
/// reaches the same handler.
const SAMPLES: &[(&str, &str)] = &[
    ("resize", "fill:1:2"),
    ("size", "1:2"),
    ("resizing_type", "force"),
    ("resizing_algorithm", "linear"),
    ("width", "7"),
    ("height", "7"),
    ("min-width", "7"),
    ("min-height", "7"),
    ("zoom", "3"),
    ("dpr", "3"),
    ("enlarge", "1"),
    ("extend", "1:no"),
    ("extend_aspect_ratio", "1:so"),
    ("gravity", "sm"),
    ("crop", "5:5"),
    ("trim", "3"),
    ("padding", "4"),
    ("auto_rotate", "0"),
    ("rotate", "180"),
    ("flip", "1:1"),
    ("background", "010203"),
    ("blur", "1"),
    ("sharpen", "1"),
    ("pixelate", "2"),
    ("watermark", "0.5:re"),
    ("strip_metadata", "1"),
    ("keep_copyright", "1"),
    ("strip_color_profile", "0"),
    ("enforce_thumbnail", "1"),
    ("quality", "55"),
    ("format_quality", "webp:40"),
    ("max_bytes", "9"),
    ("format", "png"),
    ("skip_processing", "gif"),
    ("page", "1"),
    ("webp_options", "lossless"),
    ("raw", "1"),
    ("cachebuster", "x"),
    ("expires", "5"),
    ("filename", "a"),
    ("return_attachment", "1"),
    ("redirect", "1"),
    ("max_src_resolution", "1"),
    ("max_src_file_size", "1"),
    ("max_animation_frames", "1"),
    ("max_animation_frame_resolution", "1"),
    ("max_result_dimension", "1"),
];

#[test]
fn every_alias_matches_its_long_name() {
    let default = p("");
    for (names, _) in OPTIONS {
        let long = names[0];
        let Some((_, args)) = SAMPLES.iter().find(|(n, _)| *n == long) else {
            panic!("no sample for option `{long}`");
        };
        let want = p(&format!("{long}:{args}"));
        assert_ne!(want, default, "sample for `{long}` must change something");
        for alias in *names {
            assert_eq!(p(&format!("{alias}:{args}")), want, "alias `{alias}`");
        }
    }
    assert_eq!(SAMPLES.len(), OPTIONS.len());
    assert_eq!(PRESET_OPTION, ["preset", "pr"]);
}

#[test]
fn response_only_options_set_fields() {
    let po = p("exp:4102444800/fn:photo%20one.jpg/att:1/rd:1");
    assert_eq!(po.expires, Some(4102444800));
    assert_eq!(po.filename.as_deref(), Some("photo one.jpg"));
    assert!(po.return_attachment && po.redirect);
    assert!(po.is_expired(4102444801) && !po.is_expired(4102444799));
    assert!(
        !p("exp:0").is_expired(1_000),
        "0 never expires, as in imgproxy"
    );
    // "aGVsbG8ud2VicA" is base64url("hello.webp"); padding is tolerated.
    for url in ["fn:aGVsbG8ud2VicA:1", "filename:aGVsbG8ud2VicA==:true"] {
        assert_eq!(p(url).filename.as_deref(), Some("hello.webp"), "{url}");
    }
    assert_eq!(p("fn:a%3Ab.png").filename.as_deref(), Some("a:b.png"));
    assert_eq!(p("cb:x%2Fy").cachebuster.as_deref(), Some("x/y"));
    assert_eq!(p("fn:100%.png").filename.as_deref(), Some("100%.png"));
}

#[test]
fn typed_fields_hold_parsed_values() {
    let po = p("g:fp:0.25:0.75/wm:0.5:no:1:2:0.3/bg:10:20:30/fq:avif:40/skp:svg:jpg");
    assert_eq!(
        (po.gravity.kind, po.gravity.x, po.gravity.y),
        (GravityType::FocusPoint, 0.25, 0.75)
    );
    assert_eq!(
        po.watermark.position,
        WatermarkPosition::Gravity(GravityType::North)
    );
    assert!(po.watermark.enabled && po.watermark.scale == 0.3);
    assert_eq!(
        po.background,
        Some(Rgb {
            r: 10,
            g: 20,
            b: 30
        })
    );
    assert_eq!(po.format_quality.get(&OutputFormat::Avif), Some(&40));
    assert_eq!(
        po.skip_processing,
        vec![OutputFormat::Svg, OutputFormat::Jpeg]
    );
    let po = p("t:2:00ff00:1:1");
    let t = po.trim.expect("trim");
    assert_eq!(
        (t.threshold, t.color, t.equal_hor, t.equal_ver),
        (2.0, Some(Rgb { r: 0, g: 255, b: 0 }), true, true)
    );
}

#[test]
fn boolean_spellings() {
    for (arg, want) in [
        ("1", true),
        ("t", true),
        ("T", true),
        ("true", true),
        ("TRUE", true),
        ("True", true),
        ("0", false),
        ("f", false),
        ("F", false),
        ("false", false),
        ("FALSE", false),
        ("False", false),
        ("", false),
    ] {
        assert_eq!(p(&format!("el:{arg}")).enlarge, want, "el:{arg}");
        assert_eq!(
            p(&format!("sm:{arg}")).strip_metadata,
            Some(want),
            "sm:{arg}"
        );
        assert_eq!(p(&format!("rd:{arg}")).redirect, want, "rd:{arg}");
    }
}

#[test]
fn empty_arguments_keep_current_values() {
    let rows: &[(&str, &str)] = &[
        ("w:100/rs:fill::300", "rt:fill/w:100/h:300"),
        ("rt:fill/rs::100", "rt:fill/w:100"),
        ("w:5/h:6/s::", "w:5/h:6"),
        ("rs:fill:::1", "rt:fill/el:1"),
        ("s:::", ""),
        ("pd:10/pd::5", "pd:10:5:10:5"),
        ("pd:1:2:3:4/pd:::9", "pd:1:2:9:4"),
        ("t:5:ff0000/t:3", "t:3:ff0000:0:0"),
        ("t:5::1", "t:5::1:0"),
        ("bg:ff0000/bg:", ""),
        ("fl:1/fl::1", "fl:1:1"),
        ("wm:0.5:no/wm:0.7::5", "wm:0.7:no:5:0:0"),
    ];
    for (url, want) in rows {
        assert_eq!(canon(url), *want, "url {url}");
    }
    assert_eq!(p("fn:name:").filename.as_deref(), Some("name"));
}

#[test]
fn later_options_override_earlier() {
    let rows: &[(&str, &str)] = &[
        ("rs:fill:300:300/w:100", "rt:fill/w:100/h:300"),
        ("w:100/rs:fit:300:300", "w:300/h:300"),
        ("g:no:5:6/g:so", "g:so:5:6"), // imgproxy keeps unspecified offsets
        ("g:no:5:6/g:sm", "g:sm"),
        ("g:sm/g:no", "g:no:0:0"),
        ("q:80/q:0", ""),
        ("f:png/f:jpg", "f:jpg"),
        ("fq:jpeg:80/fq:jpeg:70:png:60", "fq:jpg:70:png:60"),
        ("c:100:200/c:50", "c:50:200"),
        ("ex:1:no/ex:0/ex:1", "ex:1:no:0:0"),
        ("el:1/el:0", ""),
        ("dpr:2/dpr:1", ""),
        ("sm:1/sm:0", "sm:0"),
        ("raw:1/raw:0/w:5", "w:5"),
        ("wm:1/wm:0", ""),
    ];
    for (url, want) in rows {
        assert_eq!(canon(url), *want, "url {url}");
    }
}

#[test]
fn extension_acts_like_format_unless_raw() {
    let mut po = p("q:5");
    po.apply_extension("png").unwrap();
    assert_eq!(po.format, Some(OutputFormat::Png));
    po.apply_extension("").unwrap();
    assert_eq!(po.format, Some(OutputFormat::Png));
    let mut raw = p("raw:1");
    raw.apply_extension("whatever").unwrap();
    assert_eq!(raw.format, None);
    let e = p("").apply_extension("bogus").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid option `.bogus`: unknown format `bogus`"
    );
}

#[test]
fn options_end_at_first_segment_without_colon() {
    use super::super::split_option_segments;
    let path = ["rs:fill:1:1", "q:5", "plain", "http:", "x.jpg@png"];
    assert_eq!(split_option_segments(&path), (&path[..2], &path[2..]));
    let only = ["w:1"];
    assert_eq!(split_option_segments(&only), (&only[..], &[][..]));
}
