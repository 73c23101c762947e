//! `ProcessingOptions`: the typed result of parsing, with imgproxy's
//! defaults, plus small read helpers the server needs (expiry, effective
//! quality).

use std::collections::BTreeMap;

use super::types::{
    Crop, Extend, Flip, Gravity, OutputFormat, Padding, ResizingAlgorithm, ResizingType, Rgb,
    SecurityOverrides, Trim, Watermark, WebpCompression,
};

/// Everything a URL's options (and presets) asked for. `Option<bool>` fields
/// are `None` when the URL did not say, so the server's configured default
/// (imgproxy's `IMGPROXY_STRIP_METADATA` etc.) applies.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingOptions {
    pub resizing_type: ResizingType,
    pub resizing_algorithm: ResizingAlgorithm,
    /// 0 = derive from the other dimension and the source aspect ratio.
    pub width: u32,
    pub height: u32,
    pub min_width: u32,
    pub min_height: u32,
    pub zoom_x: f64,
    pub zoom_y: f64,
    pub dpr: f64,
    pub enlarge: bool,
    pub extend: Extend,
    pub extend_aspect_ratio: Extend,
    pub gravity: Gravity,
    pub crop: Option<Crop>,
    pub trim: Option<Trim>,
    pub padding: Padding,
    pub auto_rotate: Option<bool>,
    /// Normalized to 0, 90, 180 or 270.
    pub rotate: u16,
    pub flip: Flip,
    /// `None` = no flattening onto a background.
    pub background: Option<Rgb>,
    pub blur: f32,
    pub sharpen: f32,
    pub pixelate: u32,
    pub watermark: Watermark,
    pub strip_metadata: Option<bool>,
    pub keep_copyright: Option<bool>,
    pub strip_color_profile: Option<bool>,
    pub enforce_thumbnail: Option<bool>,
    /// 0 = use `format_quality` for the output format, then the server default.
    pub quality: u8,
    pub format_quality: BTreeMap<OutputFormat, u8>,
    pub max_bytes: u64,
    /// `None` = keep the source format when it can be written (imgproxy's
    /// rule; the server resolves it).
    pub format: Option<OutputFormat>,
    pub skip_processing: Vec<OutputFormat>,
    /// imgproxy Pro's `page`; parsed, zero-based.
    pub page: Option<u32>,
    /// imgproxy Pro's `webp_options` compression.
    pub webp_compression: WebpCompression,
    pub security: SecurityOverrides,
    pub cachebuster: Option<String>,
    /// Unix seconds; `<= 0` never expires (imgproxy only rejects `0 < t < now`).
    pub expires: Option<i64>,
    pub filename: Option<String>,
    pub return_attachment: bool,
    pub raw: bool,
    /// aperture extension (`redirect:1` / `rd:1`).
    pub redirect: bool,
    /// Preset names applied, in order (including `default`), for logging.
    pub used_presets: Vec<String>,
}

impl Default for ProcessingOptions {
    fn default() -> Self {
        ProcessingOptions {
            resizing_type: ResizingType::Fit,
            resizing_algorithm: ResizingAlgorithm::Lanczos3,
            width: 0,
            height: 0,
            min_width: 0,
            min_height: 0,
            zoom_x: 1.0,
            zoom_y: 1.0,
            dpr: 1.0,
            enlarge: false,
            extend: Extend::default(),
            extend_aspect_ratio: Extend::default(),
            gravity: Gravity::default(),
            crop: None,
            trim: None,
            padding: Padding::default(),
            auto_rotate: None,
            rotate: 0,
            flip: Flip::default(),
            background: None,
            blur: 0.0,
            sharpen: 0.0,
            pixelate: 0,
            watermark: Watermark::default(),
            strip_metadata: None,
            keep_copyright: None,
            strip_color_profile: None,
            enforce_thumbnail: None,
            quality: 0,
            format_quality: BTreeMap::new(),
            max_bytes: 0,
            format: None,
            skip_processing: Vec::new(),
            page: None,
            webp_compression: WebpCompression::Lossy,
            security: SecurityOverrides::default(),
            cachebuster: None,
            expires: None,
            filename: None,
            return_attachment: false,
            raw: false,
            redirect: false,
            used_presets: Vec::new(),
        }
    }
}

impl ProcessingOptions {
    /// imgproxy answers 404 for `0 < expires < now`.
    pub fn is_expired(&self, now_unix: i64) -> bool {
        matches!(self.expires, Some(t) if t > 0 && t < now_unix)
    }

    /// imgproxy's `GetQuality`: explicit quality, else the per-format one,
    /// else `server_default`.
    pub fn effective_quality(&self, output: OutputFormat, server_default: u8) -> u8 {
        if self.quality != 0 {
            return self.quality;
        }
        match self.format_quality.get(&output) {
            Some(&q) if q != 0 => q,
            _ => server_default,
        }
    }
}
