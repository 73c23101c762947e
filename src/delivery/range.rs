//! `Range` request header evaluation against a representation length
//! (RFC 9110 §14.1–14.4), and `Content-Range` formatting.
//!
//! Whether the Range header may be honoured at all (method, `If-Range`) is
//! decided by `conditional::evaluate`; this module only maps a header value
//! and a length to "full", "these ranges" or "unsatisfiable".
//!
//! Decisions:
//! - `Range` is not a list field: a request with two `Range` field lines has
//!   no valid ranges-specifier (the lines cannot be combined into one, §5.3),
//!   so it is ignored (200) like a malformed one, rather than trusting either.
//! - A header that does not parse as `bytes=range-set`, or names another
//!   unit, is ignored (200): §14.2 lets a server ignore an invalid
//!   ranges-specifier and requires ignoring unknown units. The unit is
//!   matched case-insensitively (§14.1). An int-range whose last-pos is
//!   below its first-pos makes the whole specifier invalid (§14.1.1).
//! - Empty list elements and whitespace around elements are accepted
//!   (§5.6.1.2). Numbers too large for u64 saturate, which keeps their
//!   meaning (past the end / clamp to the end / whole representation).
//! - Unsatisfiable members of a list are dropped; if none is left → 416.
//! - Ranges that neither overlap nor touch keep the order the request gave
//!   (§15.3.7.2: parts SHOULD be sent in the order requested, e.g. a reader
//!   asking for a file's index at the end before its header). When any two
//!   overlap or touch they are coalesced, and then every range of the answer
//!   is sorted by offset: §15.3.7.2 exempts coalesced ranges from the order,
//!   and a partly kept order would be no easier for a client to rely on.
//! - More than [`MAX_RANGES`] ranges after coalescing → full 200 response
//!   (§14.2 allows ignoring many small ranges; protects against amplification).
//! - Zero-length representation: per §14.1.1 only a suffix-range with a
//!   non-zero length is satisfiable there, but no byte can be sent and a 206
//!   cannot describe an empty range, so that case serves the (empty) full
//!   representation (200); every other valid Range header gets 416.

use http::HeaderMap;
use http::header::RANGE;

/// Upper bound on the number of parts in a multipart/byteranges response.
pub const MAX_RANGES: usize = 16;

/// A satisfiable byte range; `end` is inclusive, as in `Content-Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    pub fn new(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    /// Number of bytes covered (saturates at u64::MAX for `0..=u64::MAX`).
    pub fn len(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            (self.end - self.start).saturating_add(1)
        }
    }

    /// Only a hand-built range with `end < start` is empty; `evaluate_range`
    /// never returns one.
    pub fn is_empty(&self) -> bool {
        self.end < self.start
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeOutcome {
    /// No Range header, or one that is ignored: 200 with the full body.
    Full,
    /// 206: one range (single part) or several (multipart/byteranges),
    /// non-overlapping, non-adjacent; in request order, or sorted by offset
    /// when some were coalesced.
    Partial(Vec<ByteRange>),
    /// 416 with `Content-Range: bytes */LEN`.
    Unsatisfiable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-` or `first-last`.
    Int(u64, Option<u64>),
    /// `-suffix_length`.
    Suffix(u64),
}

/// The request's one `Range` field value; `None` (serve the whole body) when it
/// is absent, repeated or not visible ASCII.
pub fn range_field(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(RANGE).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
}

pub fn evaluate_range(range_header: Option<&str>, len: u64) -> RangeOutcome {
    let Some(specs) = range_header.and_then(parse_bytes_ranges) else {
        return RangeOutcome::Full;
    };
    if len == 0 {
        return if specs.iter().any(|s| matches!(s, Spec::Suffix(n) if *n > 0)) {
            RangeOutcome::Full
        } else {
            RangeOutcome::Unsatisfiable
        };
    }
    let last = len - 1;
    let ranges: Vec<ByteRange> = specs
        .into_iter()
        .filter_map(|spec| match spec {
            Spec::Int(first, _) if first > last => None,
            Spec::Int(first, end) => Some(ByteRange::new(first, end.map_or(last, |e| e.min(last)))),
            Spec::Suffix(0) => None,
            Spec::Suffix(n) => Some(ByteRange::new(len.saturating_sub(n), last)),
        })
        .collect();
    if ranges.is_empty() {
        return RangeOutcome::Unsatisfiable;
    }
    let mut sorted = ranges.clone();
    sorted.sort_unstable();
    let mut merged: Vec<ByteRange> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match merged.last_mut() {
            // `end < u64::MAX` always holds here because end <= len - 1.
            Some(prev) if r.start <= prev.end + 1 => prev.end = prev.end.max(r.end),
            _ => merged.push(r),
        }
    }
    if merged.len() > MAX_RANGES {
        return RangeOutcome::Full;
    }
    // Every coalescing step removes one range, so equal counts mean none happened.
    RangeOutcome::Partial(if merged.len() == ranges.len() {
        ranges
    } else {
        merged
    })
}

/// `None` means "not a valid bytes ranges-specifier": the caller ignores it.
fn parse_bytes_ranges(header: &str) -> Option<Vec<Spec>> {
    let (unit, set) = header.trim_matches([' ', '\t']).split_once('=')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = Vec::new();
    for element in set.split(',') {
        let element = element.trim_matches([' ', '\t']);
        if element.is_empty() {
            continue;
        }
        specs.push(parse_spec(element)?);
    }
    (!specs.is_empty()).then_some(specs)
}

fn parse_spec(s: &str) -> Option<Spec> {
    if let Some(suffix) = s.strip_prefix('-') {
        return Some(Spec::Suffix(parse_digits(suffix)?));
    }
    let (first, last) = s.split_once('-')?;
    let first = parse_digits(first)?;
    if last.is_empty() {
        return Some(Spec::Int(first, None));
    }
    let last = parse_digits(last)?;
    (last >= first).then_some(Spec::Int(first, Some(last)))
}

/// `1*DIGIT`, saturating; rejects signs and spaces that `u64::from_str`
/// would accept or that the grammar does not allow.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// `Content-Range` value for a 206 part (§14.4), e.g. `bytes 0-499/1234`.
pub fn content_range(r: &ByteRange, total: u64) -> String {
    format!("bytes {}-{}/{}", r.start, r.end, total)
}

/// `Content-Range` value for a 416 response (§14.4), e.g. `bytes */1234`.
pub fn unsatisfied_content_range(total: u64) -> String {
    format!("bytes */{total}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeOutcome::*;

    fn p(ranges: &[(u64, u64)]) -> RangeOutcome {
        Partial(ranges.iter().map(|&(s, e)| ByteRange::new(s, e)).collect())
    }

    #[test]
    fn rfc_9110_examples_len_10000() {
        // §14.1.2 examples.
        let cases = [
            ("bytes=0-499", p(&[(0, 499)])),
            ("bytes=500-999", p(&[(500, 999)])),
            ("bytes=-500", p(&[(9500, 9999)])),
            ("bytes=9500-", p(&[(9500, 9999)])),
            ("bytes=0-0,-1", p(&[(0, 0), (9999, 9999)])),
            ("bytes=500-600,601-999", p(&[(500, 999)])),
            ("bytes=500-700,601-999", p(&[(500, 999)])),
        ];
        for (header, want) in cases {
            assert_eq!(evaluate_range(Some(header), 10_000), want, "{header}");
        }
    }

    #[test]
    fn forms_clamping_and_lists() {
        let big = "bytes=0-99999999999999999999999999";
        let cases = [
            (None, 100, Full),
            (Some("bytes=0-"), 100, p(&[(0, 99)])),
            (Some("bytes=10-20"), 100, p(&[(10, 20)])),
            (Some("bytes=10-10"), 100, p(&[(10, 10)])),
            (Some("bytes=90-200"), 100, p(&[(90, 99)])),
            (Some(big), 100, p(&[(0, 99)])),
            (Some("bytes=-1"), 100, p(&[(99, 99)])),
            (Some("bytes=-100"), 100, p(&[(0, 99)])),
            (Some("bytes=-500"), 100, p(&[(0, 99)])),
            (Some("bytes=-99999999999999999999999"), 100, p(&[(0, 99)])),
            (Some("BYTES=0-1"), 100, p(&[(0, 1)])),
            (
                Some("bytes=0-1, 5-6 ,\t9-9"),
                100,
                p(&[(0, 1), (5, 6), (9, 9)]),
            ),
            (Some("bytes=0-1,,5-6,"), 100, p(&[(0, 1), (5, 6)])),
            (Some(" bytes=1-2 "), 100, p(&[(1, 2)])),
            // Disjoint ranges keep the request's order.
            (Some("bytes=8-,0-1"), 10, p(&[(8, 9), (0, 1)])),
            (
                Some("bytes=5-6,-1,0-1"),
                100,
                p(&[(5, 6), (99, 99), (0, 1)]),
            ),
            // Overlapping and adjacent merged, gaps kept, then all sorted.
            (
                Some("bytes=50-60,0-9,10-19,55-70,80-"),
                100,
                p(&[(0, 19), (50, 70), (80, 99)]),
            ),
            (Some("bytes=8-,0-1,1-2"), 10, p(&[(0, 2), (8, 9)])),
            (Some("bytes=8-,0-1,0-1"), 10, p(&[(0, 1), (8, 9)])),
            (Some("bytes=0-,-10"), 100, p(&[(0, 99)])),
            (Some("bytes=0-0,2-2"), 100, p(&[(0, 0), (2, 2)])),
            // Unsatisfiable members dropped, the others' order kept.
            (Some("bytes=200-300,0-1"), 100, p(&[(0, 1)])),
            (Some("bytes=9-9,200-,3-4"), 100, p(&[(9, 9), (3, 4)])),
            (Some("bytes=-0,5-"), 100, p(&[(5, 99)])),
        ];
        for (header, len, want) in cases {
            assert_eq!(evaluate_range(header, len), want, "{header:?}");
        }
    }

    #[test]
    fn unsatisfiable() {
        let cases = [
            ("bytes=100-", 100),
            ("bytes=100-200", 100),
            ("bytes=-0", 100),
            ("bytes=-0,100-", 100),
            ("bytes=18446744073709551615-", 100),
            ("bytes=0-", 0),
            ("bytes=0-0", 0),
            ("bytes=-0", 0),
        ];
        for (header, len) in cases {
            assert_eq!(
                evaluate_range(Some(header), len),
                Unsatisfiable,
                "{header} {len}"
            );
        }
    }

    #[test]
    fn ignored_headers_serve_full() {
        let cases = [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes= ",
            "items=0-1",
            "bytes 0-1",
            "bytes =0-1",
            "bytes=1",
            "bytes=a-b",
            "bytes=1-a",
            "bytes=--1",
            "bytes=+1-2",
            "bytes=1-+2",
            "bytes=5-4",
            "bytes=0-1,5-4",
            "bytes=0-1;x",
            "bytes=0 -1",
            "bytes=0-1-2",
            "bytes=\u{0661}-2",
            "bytes=1-2,other",
        ];
        for header in cases {
            assert_eq!(evaluate_range(Some(header), 100), Full, "{header:?}");
        }
    }

    #[test]
    fn one_range_field_line_only() {
        let fields = |lines: &[&[u8]]| {
            let mut h = HeaderMap::new();
            for line in lines {
                h.append(RANGE, http::HeaderValue::from_bytes(line).unwrap());
            }
            h
        };
        let cases: [(&[&[u8]], Option<&str>); 4] = [
            (&[], None),
            (&[b"bytes=0-1"], Some("bytes=0-1")),
            (&[b"bytes=0-1", b"bytes=2-3"], None),
            (&[b"bytes=0-1\xff"], None),
        ];
        for (lines, want) in cases {
            let h = fields(lines);
            assert_eq!(range_field(&h), want, "{lines:?}");
        }
        // Two lines, even identical ones, are served whole.
        let twice = fields(&[b"bytes=0-1", b"bytes=0-1"]);
        assert_eq!(evaluate_range(range_field(&twice), 100), Full);
    }

    #[test]
    fn zero_length_suffix_serves_full() {
        for header in ["bytes=-1", "bytes=-5,0-"] {
            assert_eq!(evaluate_range(Some(header), 0), Full, "{header}");
        }
    }

    #[test]
    fn range_count_limit_applies_after_coalescing() {
        let spaced = |n: u64| {
            let list: Vec<String> = (0..n).map(|i| format!("{}-{}", i * 2, i * 2)).collect();
            format!("bytes={}", list.join(","))
        };
        assert!(matches!(evaluate_range(Some(&spaced(16)), 1000), Partial(v) if v.len() == 16));
        assert_eq!(evaluate_range(Some(&spaced(17)), 1000), Full);
        // 1000 overlapping ranges collapse into one and are served.
        let overlapping = format!("bytes={}", vec!["0-10"; 1000].join(","));
        assert_eq!(evaluate_range(Some(&overlapping), 1000), p(&[(0, 10)]));
    }

    #[test]
    fn invariants_hold_for_generated_headers() {
        let tokens = [
            "bytes=",
            "0",
            "5",
            "-",
            ",",
            " ",
            "99",
            "1-",
            "-3",
            "x",
            "=",
            "18446744073709551616",
        ];
        let mut checked = 0;
        for a in tokens {
            for b in tokens {
                for c in tokens {
                    for d in tokens {
                        let header = format!("{a}{b}{c}{d}");
                        for len in [0, 1, 7, 100] {
                            if let Partial(v) = evaluate_range(Some(&header), len) {
                                assert!(!v.is_empty() && v.len() <= MAX_RANGES, "{header}");
                                assert!(
                                    v.iter().all(|r| r.start <= r.end && r.end < len),
                                    "{header}"
                                );
                                let mut sorted = v.clone();
                                sorted.sort_unstable();
                                assert!(
                                    sorted.windows(2).all(|w| w[0].end + 1 < w[1].start),
                                    "{header}"
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 100);
    }

    #[test]
    fn byte_range_len_and_headers() {
        let cases = [
            (ByteRange::new(0, 0), 1, false),
            (ByteRange::new(0, 499), 500, false),
            (ByteRange::new(5, 4), 0, true),
            (ByteRange::new(0, u64::MAX), u64::MAX, false),
        ];
        for (r, len, empty) in cases {
            assert_eq!((r.len(), r.is_empty()), (len, empty), "{r:?}");
        }
        // §14.4 examples.
        assert_eq!(
            content_range(&ByteRange::new(42, 1233), 1234),
            "bytes 42-1233/1234"
        );
        assert_eq!(unsatisfied_content_range(1234), "bytes */1234");
    }
}
