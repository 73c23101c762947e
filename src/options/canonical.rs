//! `ProcessingOptions::canonical`: the cache-key text of everything that can
//! change the produced bytes. It is itself valid option syntax (short
//! names, fixed order, defaults omitted), so `parse(canonical)` yields the
//! same canonical text again.

use super::model::ProcessingOptions;
use super::types::{
    Extend, Gravity, GravityType, ResizingAlgorithm, ResizingType, WatermarkPosition,
    WebpCompression,
};

fn num(v: f64) -> String {
    // `+ 0.0` turns -0.0 into 0.0; Display prints 2.0 as "2".
    format!("{}", v + 0.0)
}

fn num32(v: f32) -> String {
    format!("{}", v + 0.0)
}

fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

fn gravity(g: &Gravity) -> String {
    match g.kind {
        GravityType::Smart => "sm".to_owned(),
        k => format!("{}:{}:{}", k.name(), num(g.x), num(g.y)),
    }
}

fn extend(name: &str, e: &Extend) -> Option<String> {
    if !e.enabled {
        return None; // the gravity of a disabled extend cannot matter
    }
    Some(if e.gravity == Gravity::default() {
        format!("{name}:1")
    } else {
        format!("{name}:1:{}", gravity(&e.gravity))
    })
}

/// Only RFC 3986 unreserved bytes stay literal, so `:`/`/`/`%` inside a
/// cache buster cannot be confused with syntax.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl ProcessingOptions {
    /// Canonical, normalized text of the options that affect the output
    /// bytes; `""` for all-defaults. Excluded: expires, filename,
    /// return_attachment, redirect (response-only). Included although
    /// byte-neutral: cachebuster (users rely on it to bust caches) and the
    /// security overrides (a variant made under a loose limit must not be
    /// served to a request with a strict one).
    pub fn canonical(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        let cb = self
            .cachebuster
            .as_deref()
            .map(|c| format!("cb:{}", escape(c)));
        if self.raw {
            // raw streams the source untouched; nothing else can matter.
            out.push("raw:1".to_owned());
            out.extend(cb);
            return out.join("/");
        }
        if self.resizing_type != ResizingType::Fit {
            out.push(format!("rt:{}", self.resizing_type.name()));
        }
        let dims = [
            ("w", self.width),
            ("h", self.height),
            ("mw", self.min_width),
            ("mh", self.min_height),
        ];
        for (name, v) in dims {
            if v != 0 {
                out.push(format!("{name}:{v}"));
            }
        }
        if self.zoom_x != 1.0 || self.zoom_y != 1.0 {
            out.push(if self.zoom_x == self.zoom_y {
                format!("z:{}", num(self.zoom_x))
            } else {
                format!("z:{}:{}", num(self.zoom_x), num(self.zoom_y))
            });
        }
        if self.dpr != 1.0 {
            out.push(format!("dpr:{}", num(self.dpr)));
        }
        if self.enlarge {
            out.push("el:1".to_owned());
        }
        out.extend(extend("ex", &self.extend));
        out.extend(extend("exar", &self.extend_aspect_ratio));
        if self.gravity != Gravity::default() {
            out.push(format!("g:{}", gravity(&self.gravity)));
        }
        if let Some(c) = self.crop.filter(|c| c.width != 0.0 || c.height != 0.0) {
            // A crop gravity equal to the main gravity is what "unset" means.
            match c.gravity.filter(|g| *g != self.gravity) {
                Some(g) => out.push(format!(
                    "c:{}:{}:{}",
                    num(c.width),
                    num(c.height),
                    gravity(&g)
                )),
                None => out.push(format!("c:{}:{}", num(c.width), num(c.height))),
            }
        }
        if let Some(t) = &self.trim {
            let color = t.color.map(|c| c.to_hex()).unwrap_or_default();
            out.push(format!(
                "t:{}:{color}:{}:{}",
                num(t.threshold),
                flag(t.equal_hor),
                flag(t.equal_ver)
            ));
        }
        let p = &self.padding;
        if p.is_enabled() {
            out.push(format!("pd:{}:{}:{}:{}", p.top, p.right, p.bottom, p.left));
        }
        if let Some(b) = self.auto_rotate {
            out.push(format!("ar:{}", flag(b)));
        }
        if self.rotate != 0 {
            out.push(format!("rot:{}", self.rotate));
        }
        if self.flip.horizontal || self.flip.vertical {
            out.push(format!(
                "fl:{}:{}",
                flag(self.flip.horizontal),
                flag(self.flip.vertical)
            ));
        }
        if let Some(bg) = self.background {
            out.push(format!("bg:{}", bg.to_hex()));
        }
        if self.blur != 0.0 {
            out.push(format!("bl:{}", num32(self.blur)));
        }
        if self.sharpen != 0.0 {
            out.push(format!("sh:{}", num32(self.sharpen)));
        }
        if self.pixelate != 0 {
            out.push(format!("pix:{}", self.pixelate));
        }
        self.push_watermark(&mut out);
        self.push_saving(&mut out);
        out.extend(cb);
        out.join("/")
    }

    fn push_watermark(&self, out: &mut Vec<String>) {
        let w = &self.watermark;
        if !w.enabled {
            return;
        }
        let pos = match w.position {
            WatermarkPosition::Replicate => "re",
            WatermarkPosition::Gravity(g) => g.name(),
        };
        out.push(format!(
            "wm:{}:{pos}:{}:{}:{}",
            num(w.opacity),
            num(w.x_offset),
            num(w.y_offset),
            num(w.scale)
        ));
    }

    fn push_saving(&self, out: &mut Vec<String>) {
        let bools = [
            ("sm", self.strip_metadata),
            ("kcr", self.keep_copyright),
            ("scp", self.strip_color_profile),
            ("eth", self.enforce_thumbnail),
        ];
        for (name, v) in bools {
            if let Some(b) = v {
                out.push(format!("{name}:{}", flag(b)));
            }
        }
        if self.quality != 0 {
            out.push(format!("q:{}", self.quality));
        } else {
            // imgproxy's GetQuality: q wins, then the entry for the output
            // format only, and 0 means "not set".
            let fq: Vec<String> = self
                .format_quality
                .iter()
                .filter(|(f, q)| **q != 0 && self.format.is_none_or(|out| out == **f))
                .map(|(f, q)| format!("{}:{q}", f.extension()))
                .collect();
            if !fq.is_empty() {
                out.push(format!("fq:{}", fq.join(":")));
            }
        }
        if self.max_bytes != 0 {
            out.push(format!("mb:{}", self.max_bytes));
        }
        if let Some(f) = self.format {
            out.push(format!("f:{}", f.extension()));
        }
        if !self.skip_processing.is_empty() {
            let mut skp = self.skip_processing.clone();
            skp.sort();
            skp.dedup();
            let names: Vec<&str> = skp.iter().map(|f| f.extension()).collect();
            out.push(format!("skp:{}", names.join(":")));
        }
        if let Some(p) = self.page {
            out.push(format!("pg:{p}"));
        }
        if self.webp_compression != WebpCompression::default() {
            out.push(format!("webpo:{}", self.webp_compression.name()));
        }
        if self.resizing_algorithm != ResizingAlgorithm::default() {
            out.push(format!("ra:{}", self.resizing_algorithm.name()));
        }
        let s = &self.security;
        let sec = [
            ("msr", s.max_src_resolution.map(num)),
            ("msfs", s.max_src_file_size.map(|v| v.to_string())),
            ("maf", s.max_animation_frames.map(|v| v.to_string())),
            ("mafr", s.max_animation_frame_resolution.map(num)),
            ("mrd", s.max_result_dimension.map(|v| v.to_string())),
        ];
        for (name, v) in sec {
            if let Some(v) = v {
                out.push(format!("{name}:{v}"));
            }
        }
    }
}
