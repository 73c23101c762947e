//! Which parsed options this build executes. The others answer 501 naming them,
//! before the source is fetched, rather than silently returning a different image.
//!
//! Accepted without effect, because the output is still what was asked for:
//! `strip_metadata`/`keep_copyright`/`strip_color_profile` (outputs never carry
//! metadata or ICC profiles yet, which is imgproxy's default), `enforce_thumbnail`,
//! `page`, and the security overrides (imgproxy ignores them unless
//! `IMGPROXY_ALLOW_SECURITY_OPTIONS`; aperture does not allow them).

use super::error::PipelineError;
use crate::options::ProcessingOptions;

pub fn check(opts: &ProcessingOptions) -> Result<(), PipelineError> {
    let mut missing = Vec::new();
    if opts.extend.enabled {
        missing.push("extend");
    }
    if opts.extend_aspect_ratio.enabled {
        missing.push("extend_aspect_ratio");
    }
    if opts.trim.is_some() {
        missing.push("trim");
    }
    if opts.padding.is_enabled() {
        missing.push("padding");
    }
    if opts.blur > 0.0 {
        missing.push("blur");
    }
    if opts.sharpen > 0.0 {
        missing.push("sharpen");
    }
    if opts.pixelate > 1 {
        missing.push("pixelate");
    }
    if opts.watermark.enabled {
        missing.push("watermark");
    }
    if opts.max_bytes > 0 {
        missing.push("max_bytes");
    }
    if !opts.skip_processing.is_empty() {
        missing.push("skip_processing");
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(PipelineError::NotImplemented(format!(
        "not implemented yet in this build: {}",
        missing.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Presets, parse};

    fn check_str(s: &str) -> Result<(), PipelineError> {
        let segments: Vec<&str> = s.split('/').collect();
        check(&parse(&segments, &Presets::empty()).unwrap())
    }

    #[test]
    fn names_what_is_missing() {
        assert!(check_str("rs:fill:300:300/g:sm/q:80/rot:90/fl:1:0/bg:fff").is_ok());
        let e = check_str("bl:2/pd:10").unwrap_err();
        assert_eq!(
            e,
            PipelineError::NotImplemented(
                "not implemented yet in this build: padding, blur".into()
            )
        );
    }
}
