//! Lenient value shapes for configuration keys.
//!
//! Environment variables arrive as text that figment guesses types for, so a hex key
//! such as `736563726574` turns into a number. These wrappers accept the forms an
//! operator would reasonably write and leave the judging to validation.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// Text that may have been guessed to be a number or a boolean.
#[derive(Debug, Clone, Default)]
pub struct Stringish(pub String);

impl<'de> Deserialize<'de> for Stringish {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Stringish;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Stringish, E> {
                Ok(Stringish(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Stringish, E> {
                Ok(Stringish(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Stringish, E> {
                Ok(Stringish(v.to_string()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Stringish, E> {
                Ok(Stringish(v.to_string()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Stringish, E> {
                Ok(Stringish(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Stringish, E> {
                // A float guess loses digits (a long all-digit hex key), so refuse it
                // rather than silently use a different value.
                Err(E::custom(
                    "looks like a number too long to keep exactly; quote it in the file",
                ))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Stringish, E> {
                Ok(Stringish(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list given as an array (in TOML) or as comma-separated text (in the environment).
#[derive(Debug, Clone, Default)]
pub struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings or comma-separated text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                Ok(StringList(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                ))
            }
            // a single all-digit entry (a bucket named `123`) is guessed to be a number
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StringList, E> {
                Ok(StringList(vec![v.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StringList, E> {
                Ok(StringList(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(Stringish(s)) = seq.next_element()? {
                    out.push(s);
                }
                Ok(StringList(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration: a number of seconds, or text with a unit (`ms`, `s`, `m`, `h`).
#[derive(Debug, Clone, Copy)]
pub struct Seconds(pub Duration);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 10, 0.5, \"500ms\" or \"2m\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                u64::try_from(v)
                    .map(|v| Seconds(Duration::from_secs(v)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                Duration::try_from_secs_f64(v)
                    .map(Seconds)
                    .map_err(|_| E::custom("not a valid number of seconds"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
                parse_duration(v).map(Seconds).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `10`, `0.5`, `500ms`, `10s`, `2m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try \"10s\" or \"500ms\")"))?;
    let factor = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown duration unit `{other}` in `{text}`")),
    };
    Duration::try_from_secs_f64(n * factor).map_err(|_| format!("`{text}` is not a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("10", 10_000),
            ("0.5", 500),
            ("500ms", 500),
            ("10s", 10_000),
            ("2m", 120_000),
            ("1h", 3_600_000),
            (" 3 s ", 3_000),
        ];
        for (text, ms) in ok {
            assert_eq!(parse_duration(text).unwrap().as_millis(), ms, "{text}");
        }
        for bad in ["", "abc", "-1", "5 days", "1e400"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
