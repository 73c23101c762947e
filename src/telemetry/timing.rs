//! Where a request's time went: handlers leave a [`Timing`] in the response's
//! extensions, and the router turns it into the `Server-Timing` header and the
//! access-log fields (`cache`, `fetch_ms`). Riding on the response keeps the handler
//! signatures unchanged and lets the router, the one place that sees every answer,
//! write both from the same numbers.

use std::fmt::Write;
use std::time::Duration;

use crate::cache::Outcome;

/// What a handler measured. `stages` is set on processed answers that ran (or shared)
/// a pipeline run; a cache hit has only `cache`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    pub cache: Option<Outcome>,
    /// Source fetch: the whole body for a processed miss; time to the source's
    /// metadata (and first bytes, when opened together) for a raw answer.
    pub fetch: Option<Duration>,
    /// decode, resize, encode.
    pub stages: Option<[Duration; 3]>,
}

/// `hit`, `miss`, `coalesced`, or `-` (not a processed answer), for the access log.
pub fn cache_label(cache: Option<Outcome>) -> &'static str {
    match cache {
        Some(Outcome::Hit) => "hit",
        Some(Outcome::Miss) => "miss",
        Some(Outcome::Coalesced) => "coalesced",
        None => "-",
    }
}

/// The `Server-Timing` value (durations in ms, two decimals). A hit names only the
/// cache and the total: the stages of the run that made it are history, not this
/// request's time.
pub fn server_timing(t: &Timing, total: Duration) -> String {
    let mut out = String::new();
    let hit = t.cache == Some(Outcome::Hit);
    if !hit {
        if let Some(fetch) = t.fetch {
            entry(&mut out, "fetch", fetch);
        }
        if let Some([decode, resize, encode]) = t.stages {
            entry(&mut out, "decode", decode);
            entry(&mut out, "resize", resize);
            entry(&mut out, "encode", encode);
        }
    }
    if t.cache.is_some() {
        let _ = write!(out, "cache;desc={}, ", cache_label(t.cache));
    }
    entry(&mut out, "total", total);
    out.truncate(out.len() - 2);
    out
}

fn entry(out: &mut String, name: &str, d: Duration) {
    let _ = write!(out, "{name};dur={:.2}, ", d.as_secs_f64() * 1000.0);
}

/// Milliseconds with two decimals, or `-`, for the access log.
pub fn ms_or_dash(d: Option<Duration>) -> String {
    d.map_or_else(
        || "-".into(),
        |d| format!("{:.2}", d.as_secs_f64() * 1000.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_micros(1000);

    #[test]
    fn processed_miss_lists_every_stage() {
        let t = Timing {
            cache: Some(Outcome::Miss),
            fetch: Some(MS * 3),
            stages: Some([MS, Duration::from_micros(2500), MS / 4]),
        };
        assert_eq!(
            server_timing(&t, MS * 10),
            "fetch;dur=3.00, decode;dur=1.00, resize;dur=2.50, encode;dur=0.25, \
             cache;desc=miss, total;dur=10.00"
        );
    }

    #[test]
    fn hit_raw_and_bare() {
        let hit = Timing {
            cache: Some(Outcome::Hit),
            fetch: Some(MS),
            stages: Some([MS; 3]),
        };
        assert_eq!(server_timing(&hit, MS), "cache;desc=hit, total;dur=1.00");
        let raw = Timing {
            fetch: Some(MS / 2),
            ..Timing::default()
        };
        assert_eq!(server_timing(&raw, MS), "fetch;dur=0.50, total;dur=1.00");
        assert_eq!(server_timing(&Timing::default(), MS), "total;dur=1.00");
        assert_eq!(cache_label(Some(Outcome::Coalesced)), "coalesced");
        assert_eq!(ms_or_dash(None), "-");
    }
}
