//! The request id: the client's (or the CDN's / load balancer's) `X-Request-Id` when it
//! is safe to echo and log, else a fresh one. It is sent back on every response and
//! written into the access-log and error lines, so one request can be followed from
//! the CDN's logs to ours.
//!
//! A generated id is 16 hex characters: a per-process counter mixed with the process
//! start time through SplitMix64. Unique within a process by construction and across
//! processes with overwhelming probability; it is a correlation tag, not a secret, so
//! no CSPRNG (and no new dependency) is needed.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;

pub const HEADER: &str = "x-request-id";

/// Longest incoming id kept; longer ones are replaced rather than cut, because a
/// truncated id would no longer match the caller's own logs.
pub const MAX_LEN: usize = 128;

/// The incoming `X-Request-Id` if it is 1-128 visible ASCII characters, else a new id.
pub fn from_headers(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_acceptable(v))
        .map_or_else(generate, str::to_string)
}

/// Visible ASCII only, without quotes or backslashes: no control characters, and no
/// space, so an id cannot add `key=value` fields of its own to a text log line
/// (`x status=200`). `=`, `/` and `+` stay allowed (base64 ids such as CloudFront's).
pub fn is_acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

/// 16 lowercase hex characters, different on every call.
pub fn generate() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SEED: OnceLock<u64> = OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ u64::from(std::process::id()).rotate_left(32)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", splitmix64(seed.wrapping_add(n)))
}

/// SplitMix64's finaliser: a bijection, so distinct counters give distinct ids.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn generated_ids_are_hex_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| generate()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn incoming_ids_are_kept_only_when_safe() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h).len(), 16);
        h.insert(HEADER, HeaderValue::from_static("abc-123/cdn=1+Zq=="));
        assert_eq!(from_headers(&h), "abc-123/cdn=1+Zq==");
        h.insert(HEADER, HeaderValue::from_str(&"x".repeat(128)).unwrap());
        assert_eq!(from_headers(&h).len(), 128);
        for bad in [
            "x".repeat(129),
            "a\tb".to_string(),
            String::new(),
            "x method=GET status=200".to_string(),
            "say\"hi\"".to_string(),
        ] {
            h.insert(HEADER, HeaderValue::from_str(&bad).unwrap());
            assert_ne!(from_headers(&h), bad);
            assert_eq!(from_headers(&h).len(), 16);
        }
        h.insert(HEADER, HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        assert_eq!(from_headers(&h).len(), 16);
    }
}
