//! Entry point `parse`: splits each `name:arg:arg` segment, resolves the
//! option name or alias through one table, percent-decodes arguments,
//! expands presets (the `default` preset first) and applies everything in
//! order so later options override earlier ones, as imgproxy does.

use super::args::{Reason, percent_decode};
use super::error::OptionError;
use super::geometry as g;
use super::model::ProcessingOptions;
use super::output as o;
use super::presets::Presets;
use super::types::OutputFormat;

type Handler = fn(&mut ProcessingOptions, &[String]) -> Result<(), Reason>;

/// Every option we accept: its long name first, then imgproxy's aliases.
/// `preset`/`pr` is handled separately because it needs the preset table.
pub const OPTIONS: &[(&[&str], Handler)] = &[
    (&["resize", "rs"], g::resize),
    (&["size", "s"], g::size),
    (&["resizing_type", "rt"], g::resizing_type),
    (&["resizing_algorithm", "ra"], g::resizing_algorithm),
    (&["width", "w"], g::width),
    (&["height", "h"], g::height),
    (&["min-width", "mw"], g::min_width),
    (&["min-height", "mh"], g::min_height),
    (&["zoom", "z"], g::zoom),
    (&["dpr"], g::dpr),
    (&["enlarge", "el"], g::enlarge),
    (&["extend", "ex"], g::extend),
    (
        &["extend_aspect_ratio", "extend_ar", "exar"],
        g::extend_aspect_ratio,
    ),
    (&["gravity", "g"], g::gravity),
    (&["crop", "c"], g::crop),
    (&["trim", "t"], g::trim),
    (&["padding", "pd"], g::padding),
    (&["auto_rotate", "ar"], o::auto_rotate),
    (&["rotate", "rot"], g::rotate),
    (&["flip", "fl"], g::flip),
    (&["background", "bg"], o::background),
    (&["blur", "bl"], o::blur),
    (&["sharpen", "sh"], o::sharpen),
    (&["pixelate", "pix"], o::pixelate),
    (&["watermark", "wm"], o::watermark),
    (&["strip_metadata", "sm"], o::strip_metadata),
    (&["keep_copyright", "kcr"], o::keep_copyright),
    (&["strip_color_profile", "scp"], o::strip_color_profile),
    (&["enforce_thumbnail", "eth"], o::enforce_thumbnail),
    (&["quality", "q"], o::quality),
    (&["format_quality", "fq"], o::format_quality),
    (&["max_bytes", "mb"], o::max_bytes),
    (&["format", "f", "ext"], o::format),
    (&["skip_processing", "skp"], o::skip_processing),
    (&["page", "pg"], o::page),
    (&["webp_options", "webpo"], o::webp_options),
    (&["raw"], o::raw),
    (&["cachebuster", "cb"], o::cachebuster),
    (&["expires", "exp"], o::expires),
    (&["filename", "fn"], o::filename),
    (&["return_attachment", "att"], o::return_attachment),
    (&["redirect", "rd"], o::redirect),
    (&["max_src_resolution", "msr"], o::max_src_resolution),
    (&["max_src_file_size", "msfs"], o::max_src_file_size),
    (&["max_animation_frames", "maf"], o::max_animation_frames),
    (
        &["max_animation_frame_resolution", "mafr"],
        o::max_animation_frame_resolution,
    ),
    (&["max_result_dimension", "mrd"], o::max_result_dimension),
];

pub const PRESET_OPTION: &[&str] = &["preset", "pr"];

/// Presets may nest, so a few small presets can multiply into an enormous
/// option list; this bounds the work one URL can cause.
pub const MAX_APPLIED_SEGMENTS: usize = 10_000;

/// Parses a URL's option segments (already split on `/`, raw URL text).
pub fn parse(segments: &[&str], presets: &Presets) -> Result<ProcessingOptions, OptionError> {
    let mut po = ProcessingOptions::default();
    let mut cx = Applier::new(presets);
    if presets.get("default").is_some() {
        cx.apply_presets(&mut po, "pr:default", &["default".to_owned()])?;
    }
    for seg in segments {
        cx.apply_segment(&mut po, seg)?;
    }
    Ok(po)
}

/// imgproxy's rule for where the options of a path end: the first segment
/// without `:` starts the source URL (`plain`, or base64, which never holds
/// `:`). Offered so the router splits exactly as imgproxy does.
pub fn split_option_segments<'a, 'b>(segments: &'a [&'b str]) -> (&'a [&'b str], &'a [&'b str]) {
    let end = segments
        .iter()
        .position(|s| !s.contains(':'))
        .unwrap_or(segments.len());
    segments.split_at(end)
}

impl ProcessingOptions {
    /// Applies the URL's `.ext` / `@ext` suffix the way imgproxy does after
    /// the options: it acts like `format:ext`, but not when `raw` is set.
    pub fn apply_extension(&mut self, ext: &str) -> Result<(), OptionError> {
        if self.raw || ext.is_empty() {
            return Ok(());
        }
        self.format = Some(parse_extension(ext)?);
        Ok(())
    }
}

/// The output format a URL's extension names.
pub fn parse_extension(ext: &str) -> Result<OutputFormat, OptionError> {
    OutputFormat::from_extension(ext)
        .ok_or_else(|| OptionError::invalid(&format!(".{ext}"), format!("unknown format `{ext}`")))
}

pub(super) struct Applier<'a> {
    presets: &'a Presets,
    /// Presets being expanded, outermost first, to detect recursion.
    stack: Vec<String>,
    applied: usize,
}

impl<'a> Applier<'a> {
    pub(super) fn new(presets: &'a Presets) -> Self {
        Applier {
            presets,
            stack: Vec::new(),
            applied: 0,
        }
    }

    /// Starts expansion as if already inside `name` (preset validation).
    pub(super) fn inside(presets: &'a Presets, name: &str) -> Self {
        Applier {
            presets,
            stack: vec![name.to_owned()],
            applied: 0,
        }
    }

    pub(super) fn apply_segment(
        &mut self,
        po: &mut ProcessingOptions,
        seg: &str,
    ) -> Result<(), OptionError> {
        self.applied += 1;
        if self.applied > MAX_APPLIED_SEGMENTS {
            return Err(OptionError::invalid(
                seg,
                format!("more than {MAX_APPLIED_SEGMENTS} options after preset expansion"),
            ));
        }
        let (name, rest) = match seg.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (seg, None),
        };
        let is_preset = PRESET_OPTION.contains(&name);
        let handler = OPTIONS
            .iter()
            .find(|(names, _)| names.contains(&name))
            .map(|(_, h)| *h);
        if handler.is_none() && !is_preset {
            return Err(OptionError::unknown(name));
        }
        let Some(rest) = rest else {
            return Err(OptionError::invalid(
                seg,
                "missing arguments (expected name:args)",
            ));
        };
        let args = rest
            .split(':')
            .map(percent_decode)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|r| OptionError::invalid(seg, r))?;
        match handler {
            Some(h) => h(po, &args).map_err(|r| OptionError::invalid(seg, r)),
            None => self.apply_presets(po, seg, &args),
        }
    }

    fn apply_presets(
        &mut self,
        po: &mut ProcessingOptions,
        seg: &str,
        names: &[String],
    ) -> Result<(), OptionError> {
        for name in names {
            let Some(body) = self.presets.get(name) else {
                return Err(OptionError::invalid(
                    seg,
                    format!("unknown preset `{name}`"),
                ));
            };
            if self.stack.contains(name) {
                let chain: Vec<String> = self
                    .stack
                    .iter()
                    .chain(std::iter::once(name))
                    .map(|n| format!("`{n}`"))
                    .collect();
                return Err(OptionError::invalid(
                    seg,
                    format!("preset recursion {}", chain.join(" -> ")),
                ));
            }
            po.used_presets.push(name.clone());
            self.stack.push(name.clone());
            for inner in body {
                self.apply_segment(po, inner)?;
            }
            self.stack.pop();
        }
        Ok(())
    }
}
