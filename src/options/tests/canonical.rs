//! Canonical cache-key text: equivalent spellings collapse, different
//! processing stays apart, and the text re-parses to itself.

use super::canon;

const SAME: &[&[&str]] = &[
    &[
        "rs:fit:300:300",
        "resize:fit:300:300",
        "w:300/h:300",
        "width:300/height:300",
        "s:300:300",
        "rt:fit/size:300:300",
        "rs::300:300",
        "w:1/rs:fit:300:300",
        "h:300/w:300/exp:99/fn:x.jpg/att:1/rd:1",
    ],
    &["dpr:2", "dpr:2.0", "dpr:2.00", "dpr:+2", "dpr:20e-1"],
    &["rot:-90", "rot:270", "rotate:630"],
    &["bg:fff", "bg:ffffff", "bg:255:255:255", "background:FFFFFF"],
    &["f:jpg", "f:jpeg", "ext:jpg", "format:jpeg", "f:JPG"],
    &["c:100:100", "c:100:100:ce", "crop:100:100:ce:0:0"],
    &["g:no/c:100:100", "g:no/c:100:100:no"],
    &["pd:10", "pd:10:10", "pd:10:10:10:10", "padding:10::10"],
    &["q:80", "q:80/fq:png:50", "fq:webp:1/quality:80"],
    &[
        "f:png/fq:png:50",
        "f:png/fq:png:50:jpeg:70",
        "fq:png:50:webp:0/f:png",
    ],
    &["z:2", "z:2:2", "zoom:2.0"],
    &["cb:a b", "cb:a%20b", "cachebuster:a%20b"],
    &["skp:gif:svg", "skp:svg:gif", "skp:svg/skp:gif/skp:svg"],
    &["raw:1", "raw:1/w:100", "q:5/raw:1"],
    &[
        "",
        "ex:0:no",
        "exar:0:fp:0:0",
        "wm:0:re",
        "c:0:0",
        "pd:0:0",
        "bg:",
        "exp:1",
        "g:ce:0:0",
    ],
    &["sm:1", "sm:t", "strip_metadata:true", "sm:TRUE"],
    &["g:sm", "gravity:sm", "g:no:5:5/g:sm"],
    &["bl:0.5", "blur:.5", "bl:0.50"],
];

const DIFFERENT: &[(&str, &str)] = &[
    ("rs:fit:300:300", "rs:fill:300:300"),
    ("w:300", "h:300"),
    ("dpr:2", "dpr:3"),
    ("q:80", "q:81"),
    ("cb:1", "cb:2"),
    ("cb:1", ""),
    ("sm:1", "sm:0"),
    ("sm:0", ""),
    ("g:no", "g:so"),
    ("g:no:1", "g:no:2"),
    ("c:100:100", "c:100:100:no"),
    ("f:png", "f:webp"),
    ("f:png", ""),
    ("fq:png:50", "fq:png:51"),
    ("bl:1", "bl:1.5"),
    ("raw:1", ""),
    ("rot:90", "rot:180"),
    ("t:10", ""),
    ("t:10", "t:10:fff"),
    ("pd:1:2", "pd:2:1"),
    ("msr:10", ""),
    ("ex:1", "ex:1:no"),
    ("ex:1", "exar:1"),
    ("z:2:1", "z:1:2"),
    ("wm:0.5", "wm:0.5:no"),
    ("skp:gif", ""),
    ("ra:linear", ""),
    ("pg:1", "pg:2"),
    ("fl:1", "fl:0:1"),
    ("el:1", ""),
    ("ar:0", "ar:1"),
];

#[test]
fn equivalent_spellings_share_one_key() {
    for group in SAME {
        let want = canon(group[0]);
        for url in group.iter() {
            assert_eq!(canon(url), want, "{url} vs {}", group[0]);
        }
    }
}

#[test]
fn different_processing_gets_different_keys() {
    for (a, b) in DIFFERENT {
        assert_ne!(canon(a), canon(b), "{a} vs {b}");
    }
}

#[test]
fn canonical_reparses_to_itself() {
    let urls = SAME
        .iter()
        .flat_map(|g| g.iter())
        .chain(DIFFERENT.iter().flat_map(|(a, b)| [a, b]));
    for url in urls {
        let c = canon(url);
        assert_eq!(canon(&c), c, "canonical of {url}");
    }
    let rich = "rs:fill-down:10:20:1:1:fp:0.1:0.2/mw:3/mh:4/z:1.5:2/dpr:1.25/exar:1:so:2:3/\
                g:nowe:-1:2/c:0.5:7:sm/t:4:0a0b0c:1:0/pd:1:2:3:4/ar:0/rot:180/fl:1:0/bg:010203/\
                bl:0.3/sh:1.2/pix:3/wm:0.5:re:1:2:0.1/sm:1/kcr:0/scp:1/eth:0/fq:webp:40:avif:30/\
                mb:100/skp:svg/pg:3/ra:cubic/msr:12.5/msfs:1000/maf:5/mafr:1.5/mrd:2000/cb:x%3Ay%2F";
    let c = canon(rich);
    assert_eq!(canon(&c), c);
    assert_eq!(
        c,
        "rt:fill-down/w:10/h:20/mw:3/mh:4/z:1.5:2/dpr:1.25/el:1/ex:1:fp:0.1:0.2/exar:1:so:2:3/\
         g:nowe:-1:2/c:0.5:7:sm/t:4:0a0b0c:1:0/pd:1:2:3:4/ar:0/rot:180/fl:1:0/bg:010203/\
         bl:0.3/sh:1.2/pix:3/wm:0.5:re:1:2:0.1/sm:1/kcr:0/scp:1/eth:0/fq:webp:40:avif:30/\
         mb:100/skp:svg/pg:3/ra:cubic/msr:12.5/msfs:1000/maf:5/mafr:1.5/mrd:2000/cb:x%3Ay%2F"
    );
}
