//! Rejected input: each validation rule with its exact one-line message.

use super::super::{OptionError, OptionErrorKind};
use super::err;

const ROWS: &[(&str, &str)] = &[
    ("xyz:1", "unknown option `xyz`"),
    ("xyz", "unknown option `xyz`"),
    ("RS:fit", "unknown option `RS`"),
    ("min_width:5", "unknown option `min_width`"),
    ("w:1/bogus:2", "unknown option `bogus`"),
    (
        "rs:foo",
        "invalid option `rs:foo`: unknown resizing type `foo`",
    ),
    (
        "rt:FILL",
        "invalid option `rt:FILL`: unknown resizing type `FILL`",
    ),
    (
        "ra:bicubic",
        "invalid option `ra:bicubic`: unknown resizing algorithm `bicubic`",
    ),
    (
        "webpo:exact",
        "invalid option `webpo:exact`: unknown WebP compression `exact` (lossy, near_lossless, lossless)",
    ),
    (
        "webpo:lossless:1:cartoon",
        "invalid option `webpo:lossless:1:cartoon`: unknown WebP preset `cartoon`",
    ),
    (
        "w",
        "invalid option `w`: missing arguments (expected name:args)",
    ),
    (
        "pr",
        "invalid option `pr`: missing arguments (expected name:args)",
    ),
    ("w:1:2", "invalid option `w:1:2`: expects 1 argument, got 2"),
    (
        "rs:fit:1:2:3:4:5:6:7:8",
        "invalid option `rs:fit:1:2:3:4:5:6:7:8`: expects 1 to 8 arguments, got 9",
    ),
    (
        "s:1:2:3:4:5:6:7:8",
        "invalid option `s:1:2:3:4:5:6:7:8`: expects 1 to 7 arguments, got 8",
    ),
    (
        "w:abc",
        "invalid option `w:abc`: width `abc` is not a number",
    ),
    (
        "w:-5",
        "invalid option `w:-5`: width `-5` must not be negative",
    ),
    (
        "w:1.5",
        "invalid option `w:1.5`: width `1.5` must be an integer",
    ),
    (
        "w:16385",
        "invalid option `w:16385`: width 16385 exceeds the maximum 16384",
    ),
    (
        "w:99999999999999999999999",
        "invalid option `w:99999999999999999999999`: width `99999999999999999999999` is out of range",
    ),
    ("h:", "invalid option `h:`: height is empty"),
    (
        "rs:fill:abc",
        "invalid option `rs:fill:abc`: width `abc` is not a number",
    ),
    (
        "mw:-1",
        "invalid option `mw:-1`: min-width `-1` must not be negative",
    ),
    (
        "mh:20000",
        "invalid option `mh:20000`: min-height 20000 exceeds the maximum 16384",
    ),
    (
        "q:101",
        "invalid option `q:101`: quality 101 is out of range 0-100",
    ),
    (
        "q:-1",
        "invalid option `q:-1`: quality `-1` must not be negative",
    ),
    (
        "q:high",
        "invalid option `q:high`: quality `high` is not a number",
    ),
    (
        "dpr:0",
        "invalid option `dpr:0`: dpr `0` must be greater than 0",
    ),
    (
        "dpr:-2",
        "invalid option `dpr:-2`: dpr `-2` must be greater than 0",
    ),
    (
        "dpr:8.5",
        "invalid option `dpr:8.5`: dpr `8.5` exceeds the maximum 8",
    ),
    (
        "dpr:nan",
        "invalid option `dpr:nan`: dpr `nan` is not a number",
    ),
    (
        "dpr:inf",
        "invalid option `dpr:inf`: dpr `inf` is not a number",
    ),
    (
        "z:0",
        "invalid option `z:0`: zoom `0` must be greater than 0",
    ),
    (
        "z:1:-1",
        "invalid option `z:1:-1`: zoom y `-1` must be greater than 0",
    ),
    (
        "z:1:2:3",
        "invalid option `z:1:2:3`: expects 1 to 2 arguments, got 3",
    ),
    (
        "rot:45",
        "invalid option `rot:45`: rotate angle `45` is not a multiple of 90",
    ),
    (
        "rot:x",
        "invalid option `rot:x`: rotate angle `x` is not an integer",
    ),
    (
        "bl:-1",
        "invalid option `bl:-1`: blur sigma `-1` must not be negative",
    ),
    (
        "sh:-0.5",
        "invalid option `sh:-0.5`: sharpen sigma `-0.5` must not be negative",
    ),
    (
        "bl:1001",
        "invalid option `bl:1001`: blur sigma `1001` exceeds the maximum 1000",
    ),
    (
        "pix:-3",
        "invalid option `pix:-3`: pixelate size `-3` must not be negative",
    ),
    ("g:xx", "invalid option `g:xx`: unknown gravity `xx`"),
    ("g:", "invalid option `g:`: unknown gravity ``"),
    (
        "g:sm:1",
        "invalid option `g:sm:1`: gravity `sm` takes no offsets",
    ),
    (
        "g:fp:0.5",
        "invalid option `g:fp:0.5`: gravity `fp` expects x and y",
    ),
    (
        "g:fp:1.5:0",
        "invalid option `g:fp:1.5:0`: gravity x `1.5` must be between 0 and 1",
    ),
    (
        "g:fp:0:-0.1",
        "invalid option `g:fp:0:-0.1`: gravity y `-0.1` must be between 0 and 1",
    ),
    (
        "g:no:a",
        "invalid option `g:no:a`: gravity x offset `a` is not a number",
    ),
    (
        "g:no::1",
        "invalid option `g:no::1`: gravity x offset is empty",
    ),
    (
        "g:no:1:2:3",
        "invalid option `g:no:1:2:3`: expects 1 to 3 arguments, got 4",
    ),
    (
        "ex:1:sm",
        "invalid option `ex:1:sm`: unknown extend gravity `sm`",
    ),
    (
        "exar:1:re",
        "invalid option `exar:1:re`: unknown extend_aspect_ratio gravity `re`",
    ),
    (
        "ex:yes",
        "invalid option `ex:yes`: extend `yes` is not a boolean (use 1/t/true or 0/f/false)",
    ),
    (
        "el:2",
        "invalid option `el:2`: enlarge `2` is not a boolean (use 1/t/true or 0/f/false)",
    ),
    (
        "sm:on",
        "invalid option `sm:on`: strip_metadata `on` is not a boolean (use 1/t/true or 0/f/false)",
    ),
    (
        "c:-1",
        "invalid option `c:-1`: crop width `-1` must not be negative",
    ),
    (
        "c:1:x",
        "invalid option `c:1:x`: crop height `x` is not a number",
    ),
    (
        "c:1:1:up",
        "invalid option `c:1:1:up`: unknown crop gravity `up`",
    ),
    (
        "t:-1",
        "invalid option `t:-1`: trim threshold `-1` must not be negative",
    ),
    (
        "t:1:zz",
        "invalid option `t:1:zz`: trim color `zz` is not a 3- or 6-digit hex color",
    ),
    (
        "pd:1:2:3:4:5",
        "invalid option `pd:1:2:3:4:5`: expects 1 to 4 arguments, got 5",
    ),
    (
        "pd:-1",
        "invalid option `pd:-1`: padding top `-1` must not be negative",
    ),
    ("f:bmpx", "invalid option `f:bmpx`: unknown format `bmpx`"),
    ("f:best", "invalid option `f:best`: unknown format `best`"),
    ("ext:", "invalid option `ext:`: unknown format ``"),
    (
        "fq:png",
        "invalid option `fq:png`: missing quality for `png`",
    ),
    (
        "fq:png:101",
        "invalid option `fq:png:101`: quality for png 101 is out of range 0-100",
    ),
    (
        "fq:xxx:1",
        "invalid option `fq:xxx:1`: unknown format `xxx`",
    ),
    ("skp:foo", "invalid option `skp:foo`: unknown format `foo`"),
    (
        "bg:12345",
        "invalid option `bg:12345`: background `12345` is not a 3- or 6-digit hex color",
    ),
    (
        "bg:%23ffffff",
        "invalid option `bg:%23ffffff`: background `#ffffff` is not a 3- or 6-digit hex color",
    ),
    (
        "bg:1:2",
        "invalid option `bg:1:2`: expects 1 (hex) or 3 (r:g:b) arguments, got 2",
    ),
    (
        "bg:256:0:0",
        "invalid option `bg:256:0:0`: background red 256 exceeds the maximum 255",
    ),
    (
        "wm:2",
        "invalid option `wm:2`: watermark opacity `2` must be between 0 and 1",
    ),
    ("wm:", "invalid option `wm:`: watermark opacity is empty"),
    (
        "wm:1:sm",
        "invalid option `wm:1:sm`: unknown watermark position `sm`",
    ),
    ("pr:nope", "invalid option `pr:nope`: unknown preset `nope`"),
    (
        "fn:***:1",
        "invalid option `fn:***:1`: filename `***` is not URL-safe base64",
    ),
    (
        "fn:_w:1",
        "invalid option `fn:_w:1`: decoded filename is not UTF-8",
    ),
    (
        "exp:-5",
        "invalid option `exp:-5`: expires timestamp `-5` must not be negative",
    ),
    (
        "exp:soon",
        "invalid option `exp:soon`: expires timestamp `soon` is not a number",
    ),
    (
        "mb:-1",
        "invalid option `mb:-1`: max_bytes `-1` must not be negative",
    ),
    (
        "maf:0",
        "invalid option `maf:0`: max_animation_frames must be greater than 0",
    ),
    (
        "msr:0",
        "invalid option `msr:0`: max_src_resolution `0` must be greater than 0",
    ),
    (
        "cb:%FF",
        "invalid option `cb:%FF`: `%FF` is not UTF-8 after percent-decoding",
    ),
];

#[test]
fn each_rejection_has_its_message() {
    for (url, want) in ROWS {
        assert_eq!(err(url), *want, "url {url}");
    }
}

#[test]
fn error_fields_and_kinds() {
    let e = super::super::parse(&["rs:foo"], &super::super::Presets::empty()).unwrap_err();
    assert_eq!(
        e,
        OptionError {
            option: "rs:foo".into(),
            reason: "unknown resizing type `foo`".into(),
            kind: OptionErrorKind::Invalid,
        }
    );
    let e = super::super::parse(&["xyz"], &super::super::Presets::empty()).unwrap_err();
    assert_eq!(
        (e.option.as_str(), e.kind),
        ("xyz", OptionErrorKind::Unknown)
    );
    // An empty segment (from `//` in a path) is an unknown, empty name.
    let e = super::super::parse(&["w:1", ""], &super::super::Presets::empty()).unwrap_err();
    assert_eq!(e.to_string(), "unknown option ``");
}
