//! Presets: parsing entries, the `default` preset, nesting, recursion and
//! expansion limits.

use super::super::{Presets, parse};
use super::{p_with, presets, split};

fn preset_err(entries: &[&str]) -> String {
    let owned: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
    Presets::parse(&owned).unwrap_err().to_string()
}

#[test]
fn presets_expand_in_place() {
    let ps = presets(&[
        "thumb=rs:fill:100:100/q:70",
        "sharp=sh:0.7",
        "# a comment",
        "  ",
    ]);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps.names().collect::<Vec<_>>(), ["sharp", "thumb"]);
    let rows: &[(&str, &str)] = &[
        ("pr:thumb", "rt:fill/w:100/h:100/q:70"),
        ("preset:thumb", "rt:fill/w:100/h:100/q:70"),
        ("pr:thumb:sharp", "rt:fill/w:100/h:100/sh:0.7/q:70"),
        ("pr:thumb/w:50", "rt:fill/w:50/h:100/q:70"),
        ("w:50/pr:thumb", "rt:fill/w:100/h:100/q:70"),
        ("pr:th%75mb", "rt:fill/w:100/h:100/q:70"),
    ];
    for (url, want) in rows {
        assert_eq!(p_with(url, &ps).canonical(), *want, "url {url}");
    }
    assert_eq!(
        p_with("pr:thumb:sharp", &ps).used_presets,
        ["thumb", "sharp"]
    );
}

#[test]
fn default_preset_applies_first() {
    let ps = presets(&["default=q:50/rt:fill", "big=w:1000"]);
    let rows: &[(&str, &str)] = &[
        ("", "rt:fill/q:50"),
        ("q:80", "rt:fill/q:80"),
        ("pr:big", "rt:fill/w:1000/q:50"),
        ("rt:fit/q:0", ""),
        ("pr:default", "rt:fill/q:50"),
    ];
    for (url, want) in rows {
        assert_eq!(p_with(url, &ps).canonical(), *want, "url {url}");
    }
    assert_eq!(p_with("pr:big", &ps).used_presets, ["default", "big"]);
}

#[test]
fn nested_presets_and_later_definitions() {
    let ps = presets(&["a=pr:b/w:10", "b=h:20/w:5", "c=q:1", "c=q:2"]);
    assert_eq!(p_with("pr:a", &ps).canonical(), "w:10/h:20");
    assert_eq!(p_with("pr:c", &ps).canonical(), "q:2");
    let listed = Presets::parse_list("x=w:1,y=h:2\nz=pr:x:y").unwrap();
    assert_eq!(p_with("pr:z", &listed).canonical(), "w:1/h:2");
    let empty = Presets::empty();
    assert!(empty.is_empty() && empty.get("default").is_none());
}

#[test]
fn recursion_and_bad_references_are_rejected() {
    let rows: &[(&[&str], &str)] = &[
        (
            &["a=pr:a"],
            "invalid preset `a`: invalid option `pr:a`: preset recursion `a` -> `a`",
        ),
        (
            &["a=pr:b", "b=w:1/pr:a"],
            "invalid preset `a`: invalid option `pr:a`: preset recursion `a` -> `b` -> `a`",
        ),
        (
            &["default=pr:x", "x=pr:default"],
            "invalid preset `default`: invalid option `pr:default`: preset recursion `default` -> `x` -> `default`",
        ),
        (
            &["a=pr:zzz"],
            "invalid preset `a`: invalid option `pr:zzz`: unknown preset `zzz`",
        ),
        (
            &["a=rs:foo"],
            "invalid preset `a`: invalid option `rs:foo`: unknown resizing type `foo`",
        ),
        (&["a=nope:1"], "invalid preset `a`: unknown option `nope`"),
        (
            &["noequals"],
            "invalid preset `noequals`: expected exactly one `=`",
        ),
        (
            &["a=b=c:1"],
            "invalid preset `a=b=c:1`: expected exactly one `=`",
        ),
        (&["=w:1"], "invalid preset `=w:1`: empty preset name"),
        (&["a= "], "invalid preset `a=`: empty preset value"),
        (
            &["a=w"],
            "invalid preset `a=w`: `w` is not an option (expected name:args)",
        ),
        (
            &["a=w:1/"],
            "invalid preset `a=w:1/`: `` is not an option (expected name:args)",
        ),
    ];
    for (entries, want) in rows {
        assert_eq!(preset_err(entries), *want, "entries {entries:?}");
    }
}

#[test]
fn exponential_expansion_is_bounded() {
    let mut entries: Vec<String> = (0..40)
        .map(|i| format!("p{i}=pr:p{}:p{}", i + 1, i + 1))
        .collect();
    entries.push("p40=w:1".to_owned());
    let e = Presets::parse(&entries).unwrap_err().to_string();
    assert!(
        e.contains("more than 10000 options after preset expansion"),
        "{e}"
    );
    // The same guard protects URL parsing even with a valid preset set.
    let small: Vec<String> = (0..20)
        .map(|i| format!("q{i}=pr:q{}:q{}", i + 1, i + 1))
        .collect();
    let mut small = small;
    small.push("q20=w:1".to_owned());
    let ps = Presets::parse(&small[10..]).unwrap();
    let segs = split("pr:q10/pr:q10/pr:q10/pr:q10/pr:q10/pr:q10");
    let e = parse(&segs, &ps).unwrap_err().to_string();
    assert!(e.contains("more than 10000 options"), "{e}");
}
