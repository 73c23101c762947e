//! Conditional request evaluation (RFC 9110 §13): `If-Match`,
//! `If-Unmodified-Since`, `If-None-Match`, `If-Modified-Since` and `If-Range`,
//! in the precedence order of §13.2.2, against a representation's validators.
//!
//! The caller evaluates only when the response would otherwise be 2xx
//! (§13.2.1: e.g. a 404 ignores preconditions), and applies `Range` only
//! when `honor_range` is true.
//!
//! Decisions:
//! - Dates compare at one-second granularity (HTTP-date resolution), so a
//!   sub-second `Last-Modified` never defeats a 304.
//! - Unparsable or repeated date fields are ignored (§13.1.3, §13.1.4), and
//!   so are date conditions when no `Last-Modified` is known.
//! - A list member that is not a valid entity-tag never matches; a field
//!   that is present but matches nothing still counts as present (so garbage
//!   `If-Match` → 412, garbage `If-None-Match` → full response: both safe).
//! - `*` matches because the caller only evaluates existing representations.
//! - Range handling is defined for GET only (§14.2), so `honor_range` is
//!   false for every other method, HEAD included.
//! - `If-Range` with an entity-tag needs a strong match (§13.1.5); a date
//!   must equal `Last-Modified` exactly, and `Last-Modified` must be at least
//!   one second before `now`. A date is only a strong validator when the
//!   representation cannot have changed again within the second it names
//!   (§8.8.2.2): a file modified in the second the response is generated may
//!   be modified once more in that second and keep the same date. The caller
//!   passes the current time; hyper stamps the response's `Date` at or after
//!   it, so a date a second before `now` is a second before `Date` too.
//!   Anything else (weak tag, bad date, fresh date, repeated field) ignores
//!   the Range, which is always safe: the client receives the whole
//!   representation.

use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE};
use http::{HeaderMap, HeaderName, Method};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Validators<'a> {
    /// The `ETag` field value, quoted, e.g. `"\"abc\""` (`W/` allowed).
    pub etag: Option<&'a str>,
    pub last_modified: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve normally; apply `Range` only if `honor_range`.
    Proceed { honor_range: bool },
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// `now` is the time the response is generated (only `If-Range` dates use it).
pub fn evaluate(
    method: &Method,
    headers: &HeaderMap,
    v: &Validators,
    now: SystemTime,
) -> Precondition {
    let safe = method == Method::GET || method == Method::HEAD;
    let current = v.etag.and_then(parse_single_tag);
    let modified_secs = v.last_modified.map(unix_secs);

    if let Some(members) = tag_list(headers, &IF_MATCH) {
        if !members.iter().any(|m| m.matches(current, true)) {
            return Precondition::Failed;
        }
    } else if let (Some(since), Some(modified)) =
        (single_date(headers, &IF_UNMODIFIED_SINCE), modified_secs)
        && modified > since
    {
        return Precondition::Failed;
    }

    if let Some(members) = tag_list(headers, &IF_NONE_MATCH) {
        if members.iter().any(|m| m.matches(current, false)) {
            return if safe {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    } else if safe
        && let (Some(since), Some(modified)) =
            (single_date(headers, &IF_MODIFIED_SINCE), modified_secs)
        && modified <= since
    {
        return Precondition::NotModified;
    }

    let strong_date = modified_secs.filter(|&m| m < unix_secs(now));
    let honor_range = method == Method::GET && if_range_holds(headers, current, strong_date);
    Precondition::Proceed { honor_range }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    opaque: &'a str,
}

impl EntityTag<'_> {
    /// §8.8.3.2: strong comparison needs both tags strong; weak ignores `W/`.
    fn matches(&self, other: &EntityTag, strong: bool) -> bool {
        (!strong || (!self.weak && !other.weak)) && self.opaque == other.opaque
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member<'a> {
    Any,
    Tag(EntityTag<'a>),
    Invalid,
}

impl Member<'_> {
    fn matches(&self, current: Option<EntityTag>, strong: bool) -> bool {
        match (self, current) {
            (Member::Any, _) => true,
            (Member::Tag(t), Some(c)) => t.matches(&c, strong),
            _ => false,
        }
    }
}

/// Splits at the closing quote of a leading entity-tag; `None` if `s` does
/// not start with one. Opaque tags may contain `,`, so lists can't be split
/// on commas first.
fn take_tag(s: &str) -> Option<(EntityTag<'_>, &str)> {
    let (weak, rest) = match s.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let body = rest.strip_prefix('"')?;
    let close = body.find('"')?;
    let opaque = &body[..close];
    // etagc = %x21 / %x23-7E / obs-text
    if !opaque
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
    {
        return None;
    }
    Some((EntityTag { weak, opaque }, &body[close + 1..]))
}

fn parse_single_tag(s: &str) -> Option<EntityTag<'_>> {
    match take_tag(s.trim_matches([' ', '\t']))? {
        (tag, "") => Some(tag),
        _ => None,
    }
}

/// `None` if the field is absent. All field lines are combined (§5.3).
fn tag_list<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Vec<Member<'h>>> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let mut members = Vec::new();
    for value in values {
        match value.to_str() {
            Ok(text) => parse_members(text, &mut members),
            Err(_) => members.push(Member::Invalid),
        }
    }
    Some(members)
}

fn parse_members<'a>(mut s: &'a str, out: &mut Vec<Member<'a>>) {
    const OWS: [char; 2] = [' ', '\t'];
    loop {
        s = s.trim_start_matches(|c: char| c == ',' || OWS.contains(&c));
        if s.is_empty() {
            return;
        }
        let (member, rest) = if let Some(rest) = s.strip_prefix('*') {
            (Member::Any, rest)
        } else if let Some((tag, rest)) = take_tag(s) {
            (Member::Tag(tag), rest)
        } else {
            (Member::Invalid, s)
        };
        let rest = rest.trim_start_matches(OWS);
        if rest.is_empty() || rest.starts_with(',') {
            out.push(member);
            s = rest;
        } else {
            // Junk after a member spoils it; resynchronise at the next comma.
            out.push(Member::Invalid);
            s = rest.find(',').map_or("", |i| &rest[i..]);
        }
    }
}

/// A single, valid HTTP-date in seconds; otherwise ignored (`None`).
fn single_date(headers: &HeaderMap, name: &HeaderName) -> Option<i64> {
    let mut values = headers.get_all(name).iter();
    let (value, None) = (values.next()?, values.next()) else {
        return None;
    };
    let date = httpdate::parse_http_date(value.to_str().ok()?.trim()).ok()?;
    Some(unix_secs(date))
}

/// Whole seconds since the epoch, flooring (also before 1970).
fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// `modified` is `Last-Modified` in seconds, `None` when unknown or not strong.
fn if_range_holds(headers: &HeaderMap, current: Option<EntityTag>, modified: Option<i64>) -> bool {
    let mut values = headers.get_all(IF_RANGE).iter();
    let Some(value) = values.next() else {
        return true;
    };
    if values.next().is_some() {
        return false;
    }
    let Ok(text) = value.to_str() else {
        return false;
    };
    let text = text.trim_matches([' ', '\t']);
    if text.starts_with('"') || text.starts_with("W/") {
        return match (parse_single_tag(text), current) {
            (Some(given), Some(current)) => given.matches(&current, true),
            _ => false,
        };
    }
    match (httpdate::parse_http_date(text), modified) {
        (Ok(date), Some(modified)) => unix_secs(date) == modified,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Precondition::*;
    use std::time::Duration;

    const ETAG: &str = "\"abc\"";
    // RFC 9110 §5.6.7's example date in its three formats, and neighbours.
    const LM: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const AFTER: &str = "Sun, 06 Nov 1994 08:49:38 GMT";
    const RFC850: &str = "Sunday, 06-Nov-94 08:49:37 GMT";
    const ASCTIME: &str = "Sun Nov  6 08:49:37 1994";
    type Fields = Vec<(&'static str, &'static str)>;

    const GO: Precondition = Proceed { honor_range: true };
    const NO_RANGE: Precondition = Proceed { honor_range: false };

    /// `LM` plus half a second: comparisons must ignore the fraction.
    fn lm() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(784_111_777_500)
    }

    /// Evaluated a day after `LM`, when its date is a strong validator.
    fn run(
        method: Method,
        fields: &[(&'static str, &'static str)],
        v: &Validators,
    ) -> Precondition {
        run_at(lm() + Duration::from_secs(86_400), method, fields, v)
    }

    fn run_at(
        now: SystemTime,
        method: Method,
        fields: &[(&'static str, &'static str)],
        v: &Validators,
    ) -> Precondition {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(*name, value.parse().unwrap());
        }
        evaluate(&method, &headers, v, now)
    }

    #[test]
    fn precedence_and_matching_table() {
        let full = Validators {
            etag: Some(ETAG),
            last_modified: Some(lm()),
        };
        #[rustfmt::skip]
        let cases: Vec<(Method, Fields, Precondition)> = vec![
            (Method::GET, vec![], GO),
            // If-Match: strong comparison, lists, `*`, multiple field lines.
            (Method::GET, vec![("if-match", "\"abc\"")], GO),
            (Method::GET, vec![("if-match", "\"x\", \"abc\"")], GO),
            (Method::GET, vec![("if-match", "\"x\""), ("if-match", "\"abc\"")], GO),
            (Method::GET, vec![("if-match", "*")], GO),
            (Method::PUT, vec![("if-match", "W/\"abc\"")], Failed),
            (Method::GET, vec![("if-match", "\"x\"")], Failed),
            (Method::GET, vec![("if-match", "abc")], Failed),
            (Method::GET, vec![("if-match", "")], Failed),
            // If-Match wins over If-Unmodified-Since, which is then not used.
            (Method::GET, vec![("if-match", "\"abc\""), ("if-unmodified-since", BEFORE)], GO),
            (Method::GET, vec![("if-unmodified-since", BEFORE)], Failed),
            (Method::GET, vec![("if-unmodified-since", LM)], GO),
            (Method::GET, vec![("if-unmodified-since", AFTER)], GO),
            (Method::GET, vec![("if-unmodified-since", "yesterday")], GO),
            (Method::GET, vec![("if-unmodified-since", BEFORE), ("if-unmodified-since", BEFORE)], GO),
            // If-None-Match: weak comparison, 304 for GET/HEAD, 412 otherwise.
            (Method::GET, vec![("if-none-match", "\"abc\"")], NotModified),
            (Method::HEAD, vec![("if-none-match", "W/\"abc\"")], NotModified),
            (Method::GET, vec![("if-none-match", "\"x\", W/\"abc\"")], NotModified),
            (Method::GET, vec![("if-none-match", "*")], NotModified),
            (Method::POST, vec![("if-none-match", "\"abc\"")], Failed),
            (Method::DELETE, vec![("if-none-match", "*")], Failed),
            (Method::GET, vec![("if-none-match", "\"x\"")], GO),
            (Method::GET, vec![("if-none-match", "garbage")], GO),
            // If-Match is evaluated before If-None-Match.
            (Method::GET, vec![("if-match", "\"x\""), ("if-none-match", "\"abc\"")], Failed),
            (Method::GET, vec![("if-unmodified-since", BEFORE), ("if-none-match", "\"abc\"")], Failed),
            // If-Modified-Since: GET/HEAD only, ignored with If-None-Match.
            (Method::GET, vec![("if-modified-since", LM)], NotModified),
            (Method::HEAD, vec![("if-modified-since", AFTER)], NotModified),
            (Method::GET, vec![("if-modified-since", RFC850)], NotModified),
            (Method::GET, vec![("if-modified-since", ASCTIME)], NotModified),
            (Method::GET, vec![("if-modified-since", BEFORE)], GO),
            (Method::POST, vec![("if-modified-since", LM)], NO_RANGE),
            (Method::GET, vec![("if-modified-since", "not a date")], GO),
            (Method::GET, vec![("if-modified-since", LM), ("if-modified-since", LM)], GO),
            (Method::GET, vec![("if-none-match", "\"x\""), ("if-modified-since", LM)], GO),
            (Method::GET, vec![("if-none-match", "\"abc\""), ("if-modified-since", BEFORE)], NotModified),
            // Range applies to GET only.
            (Method::HEAD, vec![], NO_RANGE),
            // If-Range with entity-tags: strong match only.
            (Method::GET, vec![("if-range", "\"abc\"")], GO),
            (Method::GET, vec![("if-range", "W/\"abc\"")], NO_RANGE),
            (Method::GET, vec![("if-range", "\"abd\"")], NO_RANGE),
            (Method::GET, vec![("if-range", "\"abc\", \"x\"")], NO_RANGE),
            // If-Range with dates: exact (second) match only.
            (Method::GET, vec![("if-range", LM)], GO),
            (Method::GET, vec![("if-range", AFTER)], NO_RANGE),
            (Method::GET, vec![("if-range", BEFORE)], NO_RANGE),
            (Method::GET, vec![("if-range", "garbage")], NO_RANGE),
            (Method::GET, vec![("if-range", LM), ("if-range", LM)], NO_RANGE),
        ];
        for (i, (method, fields, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                run(method.clone(), &fields, &full),
                want,
                "case {i}: {method} {fields:?}"
            );
        }
    }

    #[test]
    fn if_range_date_needs_last_modified_a_second_before_now() {
        let v = Validators {
            etag: Some(ETAG),
            last_modified: Some(lm()),
        };
        let range = [("range", "bytes=0-1"), ("if-range", LM)];
        let lm_second = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let cases = [
            // modified in the second the response is generated: weak, whole body
            (lm(), NO_RANGE),
            (lm_second + Duration::from_millis(999), NO_RANGE),
            // a clock behind the file's date says nothing either
            (lm_second - Duration::from_secs(5), NO_RANGE),
            // the next second on: the date cannot change any more
            (lm_second + Duration::from_secs(1), GO),
            (lm_second + Duration::from_secs(3600), GO),
        ];
        for (now, want) in cases {
            assert_eq!(run_at(now, Method::GET, &range, &v), want, "{now:?}");
        }
        // Entity-tags and the other date conditions do not depend on the clock.
        let tag = [("if-range", ETAG)];
        assert_eq!(run_at(lm(), Method::GET, &tag, &v), GO);
        let ims = [("if-modified-since", LM)];
        assert_eq!(run_at(lm(), Method::GET, &ims, &v), NotModified);
    }

    #[test]
    fn missing_validators() {
        let none = Validators::default();
        let weak = Validators {
            etag: Some("W/\"abc\""),
            last_modified: None,
        };
        let cases: Vec<(&Validators, Fields, Precondition)> = vec![
            (&none, vec![("if-match", "\"abc\"")], Failed),
            (&none, vec![("if-match", "*")], GO),
            (&none, vec![("if-none-match", "*")], NotModified),
            (&none, vec![("if-none-match", "\"abc\"")], GO),
            (&none, vec![("if-unmodified-since", BEFORE)], GO),
            (&none, vec![("if-modified-since", AFTER)], GO),
            (&none, vec![("if-range", "\"abc\"")], NO_RANGE),
            (&none, vec![("if-range", LM)], NO_RANGE),
            // A weak current tag: fine for If-None-Match, never for strong.
            (&weak, vec![("if-none-match", "\"abc\"")], NotModified),
            (&weak, vec![("if-match", "\"abc\"")], Failed),
            (&weak, vec![("if-range", "\"abc\"")], NO_RANGE),
        ];
        for (i, (v, fields, want)) in cases.into_iter().enumerate() {
            assert_eq!(run(Method::GET, &fields, v), want, "case {i}: {fields:?}");
        }
    }

    #[test]
    fn entity_tag_list_parsing() {
        let tag = |weak, opaque| Member::Tag(EntityTag { weak, opaque });
        let cases: Vec<(&str, Vec<Member>)> = vec![
            ("\"a\"", vec![tag(false, "a")]),
            ("W/\"a\" , \"b\"", vec![tag(true, "a"), tag(false, "b")]),
            ("\"a,b\", \"c\"", vec![tag(false, "a,b"), tag(false, "c")]),
            ("\"\"", vec![tag(false, "")]),
            (",, *,", vec![Member::Any]),
            ("a, \"b\"", vec![Member::Invalid, tag(false, "b")]),
            ("\"a\"x, \"b\"", vec![Member::Invalid, tag(false, "b")]),
            ("\"a", vec![Member::Invalid]),
            ("w/\"a\"", vec![Member::Invalid]),
            ("\"a b\"", vec![Member::Invalid]),
        ];
        for (input, want) in cases {
            let mut got = Vec::new();
            parse_members(input, &mut got);
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn unix_secs_floors() {
        let cases = [
            (UNIX_EPOCH, 0),
            (UNIX_EPOCH + Duration::from_millis(1999), 1),
            (UNIX_EPOCH - Duration::from_millis(1), -1),
            (UNIX_EPOCH - Duration::from_secs(2), -2),
        ];
        for (t, want) in cases {
            assert_eq!(unix_secs(t), want, "{t:?}");
        }
    }
}
