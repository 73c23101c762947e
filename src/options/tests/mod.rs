//! Table-driven unit tests for the options module, split by concern; this
//! file holds the shared helpers.

mod accept;
mod canonical;
mod garbage;
mod presets;
mod primitives;
mod reject;

use super::{Presets, ProcessingOptions, parse};

fn split(url: &str) -> Vec<&str> {
    if url.is_empty() {
        Vec::new()
    } else {
        url.split('/').collect()
    }
}

/// Parses with no presets; panics with the error text so table rows show it.
fn p(url: &str) -> ProcessingOptions {
    parse(&split(url), &Presets::empty()).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn p_with(url: &str, presets: &Presets) -> ProcessingOptions {
    parse(&split(url), presets).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn canon(url: &str) -> String {
    p(url).canonical()
}

fn err(url: &str) -> String {
    match parse(&split(url), &Presets::empty()) {
        Ok(po) => panic!("{url}: expected an error, got {po:?}"),
        Err(e) => e.to_string(),
    }
}

fn presets(entries: &[&str]) -> Presets {
    let owned: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
    Presets::parse(&owned).unwrap_or_else(|e| panic!("{entries:?}: {e}"))
}
