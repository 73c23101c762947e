//! The shared image corpus (`shared/corpus`, see its README): where it is and what the
//! server must answer for each row of its `manifest.csv`. One file for the end-to-end
//! corpus tests (`tests/it/process.rs`) and the load test's `hostile` scenario
//! (`loadtest/`, which includes this file with `#[path]`), so the two never disagree
//! on which rows must decode and which must be refused.

use std::path::{Path, PathBuf};

/// The shared corpus: `APERTURE_CORPUS`, else `shared/corpus` beside the checkout whose
/// root is `repo`, else `/work/shared/corpus` (where the development and CI machines
/// keep it, so a worktree or a clean clone elsewhere still finds it). `Err` lists the
/// places looked at.
pub fn find(repo: &Path) -> Result<PathBuf, Vec<PathBuf>> {
    let candidates: Vec<PathBuf> = match std::env::var_os("APERTURE_CORPUS") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![
            repo.join("../shared/corpus"),
            PathBuf::from("/work/shared/corpus"),
        ],
    };
    match candidates
        .iter()
        .find(|dir| dir.join("manifest.csv").is_file())
    {
        Some(dir) => Ok(dir.clone()),
        None => Err(candidates),
    }
}

/// What the server must answer for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// An `ok` row of a format this build decodes (core or optional tier): a 200
    /// image with the manifest's oriented size.
    Decodes,
    /// A core `reject` row: refused (the end-to-end test wants 422; the manifest says
    /// a 4xx), never a 5xx.
    Rejects,
    /// An optional `reject` row: 422 is wanted, but an answer that decodes is only
    /// reported (e.g. the 10000-frame GIF, whose first frame is fine); never a 5xx.
    MayDecode,
    /// An `ok` row of a format this build does not decode: the end-to-end test skips
    /// it; a refusal or an image are both fine, a 5xx is not.
    NotDecoded,
}

impl Rule {
    pub fn label(self) -> &'static str {
        match self {
            Rule::Decodes => "ok rows",
            Rule::Rejects => "reject rows",
            Rule::MayDecode => "optional reject rows",
            Rule::NotDecoded => "ok rows of undecoded formats",
        }
    }
}

/// One manifest row, as far as the tests use it.
#[derive(Debug, Clone)]
pub struct Row {
    /// Relative to the corpus folder.
    pub path: String,
    /// What the file is (sniffed), e.g. `jpeg`, `text`, `unknown`.
    pub format: String,
    /// Size after orientation (`ok` rows).
    pub oriented: Option<(u32, u32)>,
    pub core: bool,
    pub rule: Rule,
}

/// The manifest's formats (its `format` column) this build decodes.
pub const DECODED: &[&str] = &[
    "jpeg", "png", "apng", "webp", "gif", "bmp", "ico", "tiff", "avif", "svg",
];

/// The rule of a row from its `expected`, `tier` and `format` columns.
pub fn rule(expected: &str, tier: &str, format: &str) -> Rule {
    match (expected == "ok", DECODED.contains(&format)) {
        (true, true) => Rule::Decodes,
        (true, false) => Rule::NotDecoded,
        (false, _) if tier == "core" => Rule::Rejects,
        (false, _) => Rule::MayDecode,
    }
}

/// The core rows, and the optional rows of the formats this build decodes (the other
/// optional rows, e.g. HEIF, are left out).
pub fn rows(dir: &Path) -> Result<Vec<Row>, String> {
    let file = dir.join("manifest.csv");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let rows = csv_rows(&text);
    let header = rows.first().ok_or("manifest.csv is empty")?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or(format!("manifest.csv has no column `{name}`"))
    };
    let (path, format, ow, oh, expected, tier) = (
        col("path")?,
        col("format")?,
        col("oriented_width")?,
        col("oriented_height")?,
        col("expected")?,
        col("tier")?,
    );
    rows[1..]
        .iter()
        .filter(|r| r.len() == header.len())
        .filter(|r| r[tier] == "core" || DECODED.contains(&r[format].as_str()))
        .map(|r| {
            if !["ok", "reject"].contains(&r[expected].as_str()) {
                return Err(format!("{}: expected `{}`", r[path], r[expected]));
            }
            Ok(Row {
                path: r[path].clone(),
                format: r[format].clone(),
                oriented: r[ow].parse().ok().zip(r[oh].parse().ok()),
                core: r[tier] == "core",
                rule: rule(&r[expected], &r[tier], &r[format]),
            })
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_commas_and_newlines() {
        let text = "a,b\r\n\"x, \"\"y\"\"\",\"1\n2\"\nlast,";
        assert_eq!(
            csv_rows(text),
            vec![
                vec!["a".to_string(), "b".into()],
                vec!["x, \"y\"".into(), "1\n2".into()],
                vec!["last".into(), "".into()],
            ]
        );
    }

    #[test]
    fn rules_follow_expected_tier_and_format() {
        assert_eq!(rule("ok", "core", "png"), Rule::Decodes);
        assert_eq!(rule("ok", "optional", "svg"), Rule::Decodes);
        assert_eq!(rule("ok", "core", "heif"), Rule::NotDecoded);
        assert_eq!(rule("reject", "core", "png"), Rule::Rejects);
        assert_eq!(rule("reject", "core", "unknown"), Rule::Rejects);
        assert_eq!(rule("reject", "optional", "gif"), Rule::MayDecode);
    }

    #[test]
    fn rows_skip_optional_rows_of_undecoded_formats_and_refuse_unknown_verdicts() {
        let dir = tempfile::tempdir().unwrap();
        let head = "path,format,oriented_width,oriented_height,expected,tier\n";
        let body = "a.png,png,3,2,ok,core\nb.heic,heif,3,2,ok,optional\n\
                    c.gif,gif,,,reject,optional\n\"d,e.bin\",unknown,,,reject,core\n";
        std::fs::write(dir.path().join("manifest.csv"), format!("{head}{body}")).unwrap();
        let got: Vec<String> = rows(dir.path())
            .unwrap()
            .into_iter()
            .map(|r| format!("{} {:?} {:?}", r.path, r.rule, r.oriented))
            .collect();
        assert_eq!(
            got,
            [
                "a.png Decodes Some((3, 2))",
                "c.gif MayDecode None",
                "d,e.bin Rejects None"
            ]
        );
        std::fs::write(
            dir.path().join("manifest.csv"),
            format!("{head}a.png,png,3,2,maybe,core\n"),
        )
        .unwrap();
        assert!(rows(dir.path()).unwrap_err().contains("maybe"));
    }
}
