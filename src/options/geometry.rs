//! Handlers for the options that decide the output geometry: resize/size,
//! dimensions, zoom, dpr, enlarge/extend, gravity, crop, trim, padding,
//! rotate, flip and the resizing algorithm. Each mirrors imgproxy's
//! `apply*Option` (options/processing_options.go), including its habit of
//! updating fields in place so a later option overrides only what it names.

use super::args::{
    self, MAX_DPR, Reason, arity, boolean, dimension, float, non_negative, positive,
};
use super::model::ProcessingOptions;
use super::types::{Extend, Gravity, GravityType, ResizingAlgorithm, ResizingType};

type Args = [String];

/// `resize:%type:%width:%height:%enlarge:%extend[:gravity...]`; every
/// argument may be empty to keep the current value.
pub fn resize(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 8)?;
    if !a[0].is_empty() {
        resizing_type(po, &a[..1])?;
    }
    if a.len() > 1 {
        size(po, &a[1..])
    } else {
        Ok(())
    }
}

/// `size:%width:%height:%enlarge:%extend[:gravity...]`.
pub fn size(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 7)?;
    if !a[0].is_empty() {
        po.width = dimension(&a[0], "width")?;
    }
    if let Some(h) = a.get(1).filter(|s| !s.is_empty()) {
        po.height = dimension(h, "height")?;
    }
    if let Some(e) = a.get(2).filter(|s| !s.is_empty()) {
        po.enlarge = boolean(e, "enlarge")?;
    }
    if a.get(3).is_some_and(|s| !s.is_empty()) {
        extend_into(&mut po.extend, &a[3..], "extend")?;
    }
    Ok(())
}

pub fn resizing_type(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.resizing_type = ResizingType::from_name(&a[0])
        .ok_or_else(|| format!("unknown resizing type `{}`", a[0]))?;
    Ok(())
}

pub fn resizing_algorithm(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.resizing_algorithm = ResizingAlgorithm::from_name(&a[0])
        .ok_or_else(|| format!("unknown resizing algorithm `{}`", a[0]))?;
    Ok(())
}

pub fn width(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.width = dimension(&a[0], "width")?;
    Ok(())
}

pub fn height(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.height = dimension(&a[0], "height")?;
    Ok(())
}

pub fn min_width(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.min_width = dimension(&a[0], "min-width")?;
    Ok(())
}

pub fn min_height(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.min_height = dimension(&a[0], "min-height")?;
    Ok(())
}

/// `zoom:%xy` or `zoom:%x:%y`.
pub fn zoom(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 2)?;
    let x = positive(&a[0], "zoom")?;
    let y = match a.get(1) {
        Some(y) => positive(y, "zoom y")?,
        None => x,
    };
    po.zoom_x = x;
    po.zoom_y = y;
    Ok(())
}

pub fn dpr(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    let d = positive(&a[0], "dpr")?;
    if d > MAX_DPR {
        return Err(format!("dpr `{}` exceeds the maximum {MAX_DPR}", a[0]));
    }
    po.dpr = d;
    Ok(())
}

pub fn enlarge(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    po.enlarge = boolean(&a[0], "enlarge")?;
    Ok(())
}

pub fn extend(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    extend_into(&mut po.extend, a, "extend")
}

pub fn extend_aspect_ratio(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    extend_into(&mut po.extend_aspect_ratio, a, "extend_aspect_ratio")
}

/// `%extend[:%gravity_type[:x[:y]]]`; smart gravity is not allowed here.
fn extend_into(ext: &mut Extend, a: &Args, what: &str) -> Result<(), Reason> {
    arity(a, 1, 4)?;
    ext.enabled = boolean(&a[0], what)?;
    if a.len() > 1 {
        gravity_into(&mut ext.gravity, &a[1..], &format!("{what} gravity"), false)?;
    }
    Ok(())
}

pub fn gravity(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    gravity_into(&mut po.gravity, a, "gravity", true)
}

/// imgproxy's `parseGravity`: offsets not given keep their previous value,
/// `sm` clears them, `fp` needs both coordinates within 0..=1.
pub fn gravity_into(
    g: &mut Gravity,
    a: &Args,
    what: &str,
    allow_smart: bool,
) -> Result<(), Reason> {
    arity(a, 1, 3)?;
    let kind = GravityType::from_name(&a[0])
        .filter(|k| allow_smart || *k != GravityType::Smart)
        .ok_or_else(|| format!("unknown {what} `{}`", a[0]))?;
    match kind {
        GravityType::Smart => {
            if a.len() > 1 {
                return Err(format!("{what} `sm` takes no offsets"));
            }
            *g = Gravity {
                kind,
                x: 0.0,
                y: 0.0,
            };
        }
        GravityType::FocusPoint => {
            if a.len() != 3 {
                return Err(format!("{what} `fp` expects x and y"));
            }
            let unit = |s: &str, axis: &str| -> Result<f64, Reason> {
                let v = float(s, &format!("{what} {axis}"))?;
                if (0.0..=1.0).contains(&v) {
                    Ok(v)
                } else {
                    Err(format!("{what} {axis} `{s}` must be between 0 and 1"))
                }
            };
            *g = Gravity {
                kind,
                x: unit(&a[1], "x")?,
                y: unit(&a[2], "y")?,
            };
        }
        _ => {
            let x = match a.get(1) {
                Some(x) => float(x, &format!("{what} x offset"))?,
                None => g.x,
            };
            let y = match a.get(2) {
                Some(y) => float(y, &format!("{what} y offset"))?,
                None => g.y,
            };
            *g = Gravity { kind, x, y };
        }
    }
    Ok(())
}

/// `crop:%width:%height:%gravity...`.
pub fn crop(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 5)?;
    let mut c = po.crop.unwrap_or_default();
    c.width = non_negative(&a[0], "crop width")?;
    if let Some(h) = a.get(1) {
        c.height = non_negative(h, "crop height")?;
    }
    if a.len() > 2 {
        let mut g = c.gravity.unwrap_or_default();
        gravity_into(&mut g, &a[2..], "crop gravity", true)?;
        c.gravity = Some(g);
    }
    po.crop = Some(c);
    Ok(())
}

/// `trim:%threshold:%color:%equal_hor:%equal_ver`.
pub fn trim(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 4)?;
    let mut t = po.trim.unwrap_or_default();
    t.threshold = non_negative(&a[0], "trim threshold")?;
    if let Some(c) = a.get(1).filter(|s| !s.is_empty()) {
        t.color = Some(args::color(c, "trim color")?);
    }
    if let Some(h) = a.get(2).filter(|s| !s.is_empty()) {
        t.equal_hor = boolean(h, "trim equal_hor")?;
    }
    if let Some(v) = a.get(3).filter(|s| !s.is_empty()) {
        t.equal_ver = boolean(v, "trim equal_ver")?;
    }
    po.trim = Some(t);
    Ok(())
}

/// `padding:%top:%right:%bottom:%left`, CSS shorthand: top fills all sides,
/// right fills left; empty arguments keep what is already there.
pub fn padding(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 4)?;
    let p = &mut po.padding;
    let side = |i: usize, what: &str| -> Result<Option<u32>, Reason> {
        match a.get(i).filter(|s| !s.is_empty()) {
            Some(s) => dimension(s, what).map(Some),
            None => Ok(None),
        }
    };
    if let Some(v) = side(0, "padding top")? {
        (p.top, p.right, p.bottom, p.left) = (v, v, v, v);
    }
    if let Some(v) = side(1, "padding right")? {
        (p.right, p.left) = (v, v);
    }
    if let Some(v) = side(2, "padding bottom")? {
        p.bottom = v;
    }
    if let Some(v) = side(3, "padding left")? {
        p.left = v;
    }
    Ok(())
}

/// Any multiple of 90, negative included (imgproxy accepts `-90`); stored
/// normalized to 0..360 so equivalent angles compare equal.
pub fn rotate(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 1)?;
    let r: i64 = a[0]
        .parse()
        .map_err(|_| format!("rotate angle `{}` is not an integer", a[0]))?;
    if r % 90 != 0 {
        return Err(format!("rotate angle `{}` is not a multiple of 90", a[0]));
    }
    po.rotate = r.rem_euclid(360) as u16;
    Ok(())
}

/// `flip:%horizontal:%vertical` (newer imgproxy open-source).
pub fn flip(po: &mut ProcessingOptions, a: &Args) -> Result<(), Reason> {
    arity(a, 1, 2)?;
    if !a[0].is_empty() {
        po.flip.horizontal = boolean(&a[0], "flip horizontal")?;
    }
    if let Some(v) = a.get(1).filter(|s| !s.is_empty()) {
        po.flip.vertical = boolean(v, "flip vertical")?;
    }
    Ok(())
}
