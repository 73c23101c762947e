//! Handlers for the options that shape pixels after geometry (background,
//! filters, watermark), the saved file (metadata, quality, format, size
//! budget) and the response (skip/raw, cache buster, expiry, filename,
//! attachment, redirect, security overrides). Semantics follow imgproxy's
//! `apply*Option` functions.

use super::args::{
    MAX_DIMENSION, MAX_SIGMA, Reason, arity, base64url_decode, boolean, dimension, float,
    non_negative, positive, uint,
};
use super::model::ProcessingOptions;
use super::types::{GravityType, OutputFormat, Rgb, WatermarkPosition, WebpCompression};

type Args = [String];

/// `background:%hex` or `background:%r:%g:%b`; a single empty argument turns
/// flattening off again.
pub fn background(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    match a.len() {
        1 if a[0].is_empty() => po.background = None,
        1 => po.background = Some(super::args::color(&a[0], "background")?),
        3 => {
            let ch = |s: &str, what: &str| uint(s, what, 255).map(|v| v as u8);
            po.background = Some(Rgb {
                r: ch(&a[0], "background red")?,
                g: ch(&a[1], "background green")?,
                b: ch(&a[2], "background blue")?,
            });
        }
        n => return Err(format!("expects 1 (hex) or 3 (r:g:b) arguments, got {n}")),
    }
    Ok(())
}

fn sigma(a: &Args, what: &str) -> Result<f32, Reason> {
    arity(a, 1, 1)?;
    let v = non_negative(&a[0], what)?;
    if v > f64::from(MAX_SIGMA) {
        return Err(format!("{what} `{}` exceeds the maximum {MAX_SIGMA}", a[0]));
    }
    Ok(v as f32)
}

pub fn blur(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.blur = sigma(a, "blur sigma")?;
    Ok(())
}

pub fn sharpen(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.sharpen = sigma(a, "sharpen sigma")?;
    Ok(())
}

pub fn pixelate(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.pixelate = dimension(&a[0], "pixelate size")?;
    Ok(())
}

/// `watermark:%opacity:%position:%x:%y:%scale`. imgproxy tolerates up to 7
/// arguments (Pro adds more) and reads five; we do the same.
pub fn watermark(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 7)?;
    let wm = &mut po.watermark;
    let opacity = non_negative(&a[0], "watermark opacity")?;
    if opacity > 1.0 {
        return Err(format!(
            "watermark opacity `{}` must be between 0 and 1",
            a[0]
        ));
    }
    wm.opacity = opacity;
    wm.enabled = opacity > 0.0;
    if let Some(p) = a.get(1).filter(|s| !s.is_empty()) {
        wm.position = match GravityType::from_name(p) {
            _ if p == "re" => WatermarkPosition::Replicate,
            Some(g) if !matches!(g, GravityType::Smart | GravityType::FocusPoint) => {
                WatermarkPosition::Gravity(g)
            }
            _ => return Err(format!("unknown watermark position `{p}`")),
        };
    }
    if let Some(x) = a.get(2).filter(|s| !s.is_empty()) {
        wm.x_offset = float(x, "watermark x offset")?;
    }
    if let Some(y) = a.get(3).filter(|s| !s.is_empty()) {
        wm.y_offset = float(y, "watermark y offset")?;
    }
    if let Some(s) = a.get(4).filter(|s| !s.is_empty()) {
        wm.scale = non_negative(s, "watermark scale")?;
    }
    Ok(())
}

fn flag(a: &Args, what: &str) -> Result<bool, Reason> {
    arity(a, 1, 1)?;
    boolean(&a[0], what)
}

pub fn strip_metadata(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.strip_metadata = Some(flag(a, "strip_metadata")?);
    Ok(())
}

pub fn keep_copyright(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.keep_copyright = Some(flag(a, "keep_copyright")?);
    Ok(())
}

pub fn strip_color_profile(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.strip_color_profile = Some(flag(a, "strip_color_profile")?);
    Ok(())
}

pub fn enforce_thumbnail(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.enforce_thumbnail = Some(flag(a, "enforce_thumbnail")?);
    Ok(())
}

pub fn auto_rotate(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.auto_rotate = Some(flag(a, "auto_rotate")?);
    Ok(())
}

pub fn return_attachment(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.return_attachment = flag(a, "return_attachment")?;
    Ok(())
}

pub fn raw(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.raw = flag(a, "raw")?;
    Ok(())
}

pub fn redirect(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    po.redirect = flag(a, "redirect")?;
    Ok(())
}

fn quality_value(s: &str, what: &str) -> Result<u8, Reason> {
    match uint(s, what, 100) {
        Ok(v) => Ok(v as u8),
        Err(_) if s.parse::<u64>().is_ok() => Err(format!("{what} {s} is out of range 0-100")),
        Err(e) => Err(e),
    }
}

pub fn quality(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.quality = quality_value(&a[0], "quality")?;
    Ok(())
}

fn format_name(s: &str) -> Result<OutputFormat, Reason> {
    OutputFormat::from_extension(s).ok_or_else(|| format!("unknown format `{s}`"))
}

/// `format_quality:%format:%q:...`; adds to (does not replace) the map.
pub fn format_quality(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    if !a.len().is_multiple_of(2) {
        return Err(format!("missing quality for `{}`", a[a.len() - 1]));
    }
    for pair in a.chunks(2) {
        let f = format_name(&pair[0])?;
        let q = quality_value(&pair[1], &format!("quality for {}", pair[0]))?;
        po.format_quality.insert(f, q);
    }
    Ok(())
}

pub fn max_bytes(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.max_bytes = uint(&a[0], "max_bytes", u64::MAX)?;
    Ok(())
}

pub fn format(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.format = Some(format_name(&a[0])?);
    Ok(())
}

/// Appends, as imgproxy does (it never clears the list); duplicates are
/// dropped because they mean nothing.
pub fn skip_processing(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    for s in a {
        let f = format_name(s)?;
        if !po.skip_processing.contains(&f) {
            po.skip_processing.push(f);
        }
    }
    Ok(())
}

pub fn cachebuster(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.cachebuster = Some(a[0].clone()).filter(|s| !s.is_empty());
    Ok(())
}

/// Stores the timestamp only; checking it against the clock is the
/// server's job (`ProcessingOptions::is_expired`) so parsing stays pure.
pub fn expires(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.expires = Some(uint(&a[0], "expires timestamp", i64::MAX as u64)? as i64);
    Ok(())
}

/// `filename:%name:%encoded`; `encoded` true means URL-safe base64.
pub fn filename(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 2)?;
    let encoded = match a.get(1) {
        Some(e) => boolean(e, "filename encoded flag")?,
        None => false,
    };
    let name = if encoded {
        let bytes = base64url_decode(&a[0])
            .ok_or_else(|| format!("filename `{}` is not URL-safe base64", a[0]))?;
        String::from_utf8(bytes).map_err(|_| "decoded filename is not UTF-8".to_owned())?
    } else {
        a[0].clone()
    };
    po.filename = Some(name).filter(|s| !s.is_empty());
    Ok(())
}

pub fn page(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.page = Some(uint(&a[0], "page", u64::from(u32::MAX))? as u32);
    Ok(())
}

/// imgproxy Pro's `webp_options:%compression:%smart_subsample:%preset`; empty
/// arguments keep the defaults. The compression is executed; `smart_subsample` and
/// `preset` are checked and ignored (aperture writes libwebp's default preset without
/// sharp YUV).
pub fn webp_options(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 3)?;
    if !a[0].is_empty() {
        po.webp_compression = WebpCompression::from_name(&a[0]).ok_or_else(|| {
            format!(
                "unknown WebP compression `{}` (lossy, near_lossless, lossless)",
                a[0]
            )
        })?;
    }
    if let Some(s) = a.get(1) {
        boolean(s, "webp_options smart_subsample")?;
    }
    const PRESETS: [&str; 7] = ["", "default", "photo", "picture", "drawing", "icon", "text"];
    match a.get(2) {
        Some(p) if !PRESETS.contains(&p.as_str()) => Err(format!("unknown WebP preset `{p}`")),
        _ => Ok(()),
    }
}

pub fn max_src_resolution(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.security.max_src_resolution = Some(positive(&a[0], "max_src_resolution")?);
    Ok(())
}

pub fn max_src_file_size(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.security.max_src_file_size = Some(uint(&a[0], "max_src_file_size", u64::MAX)?);
    Ok(())
}

pub fn max_animation_frames(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    let v = uint(&a[0], "max_animation_frames", u64::from(u32::MAX))?;
    if v == 0 {
        return Err("max_animation_frames must be greater than 0".to_owned());
    }
    po.security.max_animation_frames = Some(v as u32);
    Ok(())
}

pub fn max_animation_frame_resolution(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    let v = non_negative(&a[0], "max_animation_frame_resolution")?;
    po.security.max_animation_frame_resolution = Some(v);
    Ok(())
}

pub fn max_result_dimension(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    let v = uint(&a[0], "max_result_dimension", u64::from(MAX_DIMENSION))?;
    po.security.max_result_dimension = Some(v as u32);
    Ok(())
}
