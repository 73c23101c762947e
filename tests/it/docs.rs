//! The docs cannot drift. docs/configuration.md's table has one row per `APERTURE_*`
//! variable of `src/config/env.rs`, naming the key it sets and that key's default from
//! `config/default.toml`, in that order, and every key set in `config/default.toml` has
//! a variable; README's run command starts the server.

use aperture::config::{DEFAULT_TOML, ENV_KEYS};
use figment::Figment;
use figment::providers::{Format, Toml};
use figment::value::Value;

/// The default of a dotted key as the table writes it: `` `value` `` (lists joined with
/// commas as in their variable, `""` and `[]` for empty ones), or `unset`.
fn default_cell(defaults: &Figment, key: &str) -> String {
    let Ok(value) = defaults.find_value(key) else {
        return "unset".to_owned();
    };
    let text = match value {
        Value::String(_, s) if s.is_empty() => "\"\"".to_owned(),
        Value::String(_, s) => s,
        Value::Array(_, items) if items.is_empty() => "[]".to_owned(),
        Value::Array(_, items) => items
            .iter()
            .map(|v| v.as_str().expect("lists of strings").to_owned())
            .collect::<Vec<_>>()
            .join(","),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => n
            .to_i128()
            .map(|n| n.to_string())
            .unwrap_or_else(|| format!("{n:?}")),
        other => panic!("{key}: no rendering for {other:?}"),
    };
    format!("`{text}`")
}

/// The dotted keys of the leaves under `value`.
fn leaf_keys(prefix: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Dict(_, dict) => {
            for (k, v) in dict {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_keys(&key, v, out);
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

#[test]
fn configuration_md_lists_every_variable_with_its_key_and_default() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .unwrap();
    let defaults = Figment::from(Toml::string(DEFAULT_TOML));
    let rows: Vec<Vec<&str>> = doc
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split(" | ").map(|c| c.trim_matches(['|', ' '])).collect())
        .collect();
    let expected: Vec<Vec<String>> = ENV_KEYS
        .iter()
        .map(|(var, key)| {
            vec![
                format!("`{key}`"),
                format!("`{var}`"),
                default_cell(&defaults, key),
            ]
        })
        .collect();
    let mut problems = Vec::new();
    // every key set in config/default.toml has its variable (and so its row)
    let mut keys = Vec::new();
    leaf_keys("", &defaults.find_value("").unwrap(), &mut keys);
    assert!(keys.len() > 30, "default.toml parsed into {keys:?}");
    for key in keys {
        if !ENV_KEYS.iter().any(|(_, k)| *k == key) {
            problems.push(format!(
                "config/default.toml key {key} has no APERTURE_* variable"
            ));
        }
    }
    for (i, want) in expected.iter().enumerate() {
        match rows.get(i) {
            Some(row) if row.len() >= 4 && row[..3] == want[..] && !row[3].is_empty() => {}
            Some(row) => problems.push(format!(
                "row {}: want `| {} | ... |` with a non-empty last cell, found {row:?}",
                i + 1,
                want.join(" | ")
            )),
            None => problems.push(format!("missing row: | {} |", want.join(" | "))),
        }
    }
    if rows.len() > expected.len() {
        problems.push(format!(
            "{} rows for {} variables: remove {:?}",
            rows.len(),
            expected.len(),
            &rows[expected.len()..]
        ));
    }
    assert!(
        problems.is_empty(),
        "docs/configuration.md is out of date with src/config/env.rs and config/default.toml:\n{}",
        problems.join("\n")
    );
}

/// README's first command, `cargo run --release -- serve`, must start the server: the
/// workspace's default members also build `aperture-loadtest`, so without the root
/// package's `default-run` Cargo cannot tell which binary to run (it broke once).
#[test]
fn readme_run_command_picks_the_server() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- serve"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let package = manifest.split("\n[").next().unwrap();
    assert!(
        package
            .lines()
            .any(|l| l.trim() == "default-run = \"aperture\""),
        "[package] needs default-run = \"aperture\""
    );
}
