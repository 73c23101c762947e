//! Named option lists in imgproxy's `IMGPROXY_PRESETS` form
//! (`name=opt:arg/opt:arg`), parsed and fully validated at startup so a bad
//! preset fails the boot instead of every request that uses it.

use std::collections::BTreeMap;

use super::error::OptionError;
use super::model::ProcessingOptions;
use super::parse::Applier;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presets {
    /// Raw option segments per preset, applied verbatim when referenced.
    map: BTreeMap<String, Vec<String>>,
}

impl Presets {
    pub fn empty() -> Presets {
        Presets::default()
    }

    /// One preset per entry, e.g. `thumb=rs:fill:100:100/q:70`. As in
    /// imgproxy, blank entries and `#` comments are skipped and a repeated
    /// name replaces the earlier definition. A preset named `default` is
    /// applied before every URL's own options. Every preset is then applied
    /// once to default options, which rejects bad options, unknown preset
    /// references and recursion (imgproxy only logs and skips recursion).
    pub fn parse(entries: &[String]) -> Result<Presets, OptionError> {
        let mut map = BTreeMap::new();
        for raw in entries {
            let entry = raw.trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = entry.split('=').collect();
            let [name, value] = parts[..] else {
                return Err(OptionError::preset(entry, "expected exactly one `=`"));
            };
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() {
                return Err(OptionError::preset(entry, "empty preset name"));
            }
            if value.is_empty() {
                return Err(OptionError::preset(entry, "empty preset value"));
            }
            let segments: Vec<String> = value.split('/').map(str::to_owned).collect();
            if let Some(bad) = segments.iter().find(|s| !s.contains(':')) {
                return Err(OptionError::preset(
                    entry,
                    format!("`{bad}` is not an option (expected name:args)"),
                ));
            }
            map.insert(name.to_owned(), segments);
        }
        let presets = Presets { map };
        for (name, segments) in &presets.map {
            let mut po = ProcessingOptions::default();
            let mut cx = Applier::inside(&presets, name);
            for seg in segments {
                cx.apply_segment(&mut po, seg)
                    .map_err(|e| OptionError::preset(name, e.to_string()))?;
            }
        }
        Ok(presets)
    }

    /// Convenience for the raw `IMGPROXY_PRESETS` value, which separates
    /// presets with commas (a presets file uses newlines; both are split).
    pub fn parse_list(list: &str) -> Result<Presets, OptionError> {
        let entries: Vec<String> = list.split([',', '\n']).map(str::to_owned).collect();
        Presets::parse(&entries)
    }

    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.map.get(name).map(Vec::as_slice)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
