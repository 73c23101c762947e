//! Argument primitives shared by every option: counting, numbers, booleans,
//! colors, percent- and base64url-decoding. Each returns a one-line reason on
//! failure; the caller attaches the offending segment.

use super::types::Rgb;

/// Upper bound for any pixel dimension (width, height, min sizes, padding,
/// pixelate, max_result_dimension). imgproxy has no URL-level cap; 16384 is
/// libwebp's hard limit and far above any sane thumbnail, so anything larger
/// is a typo or an attempt to make us allocate gigabytes.
pub const MAX_DIMENSION: u32 = 16_384;
/// imgproxy caps client-hint DPR at 8; we apply the same cap to the option.
pub const MAX_DPR: f64 = 8.0;
/// imgproxy has no cap on blur/sharpen sigma, but libvips' mask grows with
/// sigma, so huge values are a cheap way to burn CPU and memory.
pub const MAX_SIGMA: f32 = 1000.0;

pub type Reason = String;

/// Checks `min <= args.len() <= max`.
pub fn arity(args: &[String], min: usize, max: usize) -> Result<(), Reason> {
    let n = args.len();
    if (min..=max).contains(&n) {
        return Ok(());
    }
    let plural = |k: usize| if k == 1 { "argument" } else { "arguments" };
    Err(if min == max {
        format!("expects {min} {}, got {n}", plural(min))
    } else {
        format!("expects {min} to {max} arguments, got {n}")
    })
}

/// Go's `strconv.ParseBool` spellings. imgproxy treats anything else as
/// false with a log warning; we reject it so typos surface, except the empty
/// string, which imgproxy URL builders emit for "unset" and imgproxy reads
/// as false.
pub fn boolean(arg: &str, what: &str) -> Result<bool, Reason> {
    match arg {
        "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        _ => Err(format!(
            "{what} `{arg}` is not a boolean (use 1/t/true or 0/f/false)"
        )),
    }
}

/// A non-negative integer no larger than `max`.
pub fn uint(arg: &str, what: &str, max: u64) -> Result<u64, Reason> {
    if arg.is_empty() {
        return Err(format!("{what} is empty"));
    }
    match arg.parse::<u64>() {
        Ok(v) if v <= max => Ok(v),
        Ok(v) => Err(format!("{what} {v} exceeds the maximum {max}")),
        Err(_) => Err(number_error(arg, what, true)),
    }
}

/// A pixel dimension in `0..=MAX_DIMENSION`.
pub fn dimension(arg: &str, what: &str) -> Result<u32, Reason> {
    uint(arg, what, u64::from(MAX_DIMENSION)).map(|v| v as u32)
}

/// Any finite float (Rust, like Go, would otherwise accept `inf`/`NaN`).
pub fn float(arg: &str, what: &str) -> Result<f64, Reason> {
    if arg.is_empty() {
        return Err(format!("{what} is empty"));
    }
    match arg.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v + 0.0), // folds -0.0 into 0.0
        _ => Err(format!("{what} `{arg}` is not a number")),
    }
}

/// A finite float >= 0.
pub fn non_negative(arg: &str, what: &str) -> Result<f64, Reason> {
    let v = float(arg, what)?;
    if v < 0.0 {
        return Err(format!("{what} `{arg}` must not be negative"));
    }
    Ok(v)
}

/// A finite float > 0.
pub fn positive(arg: &str, what: &str) -> Result<f64, Reason> {
    let v = float(arg, what)?;
    if v <= 0.0 {
        return Err(format!("{what} `{arg}` must be greater than 0"));
    }
    Ok(v)
}

fn number_error(arg: &str, what: &str, integer: bool) -> Reason {
    match arg.parse::<f64>() {
        Ok(v) if v.is_finite() && v < 0.0 => format!("{what} `{arg}` must not be negative"),
        Ok(v) if v.is_finite() && integer && v.fract() != 0.0 => {
            format!("{what} `{arg}` must be an integer")
        }
        Ok(v) if v.is_finite() => format!("{what} `{arg}` is out of range"),
        _ => format!("{what} `{arg}` is not a number"),
    }
}

pub fn color(arg: &str, what: &str) -> Result<Rgb, Reason> {
    Rgb::from_hex(arg).ok_or_else(|| format!("{what} `{arg}` is not a 3- or 6-digit hex color"))
}

/// Decodes `%XX` escapes. Malformed escapes stay literal (a bare `%` in a
/// filename is common and harmless); the result must be UTF-8 because every
/// textual value ends up in headers or cache keys.
pub fn percent_decode(arg: &str) -> Result<String, Reason> {
    if !arg.contains('%') {
        return Ok(arg.to_owned());
    }
    let bytes = arg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("`{arg}` is not UTF-8 after percent-decoding"))
}

/// URL-safe base64 as imgproxy's `base64.RawURLEncoding`; trailing `=` is
/// tolerated because many encoders add it.
pub fn base64url_decode(arg: &str) -> Option<Vec<u8>> {
    let trimmed = arg.trim_end_matches('=');
    let sextet = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    if trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | sextet(c)?;
        }
        acc <<= 6 * (4 - chunk.len() as u32);
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}
