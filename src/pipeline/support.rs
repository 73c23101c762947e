//! Which parsed options this server can execute. The others (today only `watermark`
//! with an opacity above 0 when no watermark image is configured,
//! `processing.watermark_path`/`watermark_data`) answer 501 naming them, before the
//! source is fetched, rather than silently returning a different image.
//!
//! Accepted without effect, because the output is still what was asked for:
//! `strip_metadata`/`strip_color_profile` (outputs carry no metadata but the
//! copyright notice `keep_copyright` keeps, see `copyright`, and no ICC profile,
//! which is imgproxy's default; their pixels are converted to sRGB from any embedded
//! profile, see `icc`); `sm:0` keeps nothing more. Deviation: with `scp:0` imgproxy
//! exports the pixels back to the source's profile and embeds it; aperture still
//! answers sRGB without a profile (the same colours, narrower gamut for wide-gamut
//! sources), `enforce_thumbnail`,
//! `page`, and the security overrides (imgproxy ignores them unless
//! `IMGPROXY_ALLOW_SECURITY_OPTIONS`; aperture does not allow them).

use super::error::PipelineError;
use crate::options::ProcessingOptions;

pub fn check(opts: &ProcessingOptions, watermark_configured: bool) -> Result<(), PipelineError> {
    let mut missing = Vec::new();
    if opts.watermark.enabled && !watermark_configured {
        missing.push("watermark (no watermark image is configured)");
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(PipelineError::NotImplemented(format!(
        "not available on this server: {}",
        missing.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Presets, parse};

    fn check_str(s: &str) -> Result<(), PipelineError> {
        let segments: Vec<&str> = s.split('/').collect();
        check(&parse(&segments, &Presets::empty()).unwrap(), false)
    }

    #[test]
    fn names_what_is_missing() {
        assert!(check_str("rs:fill:300:300/g:sm/q:80/rot:90/fl:1:0/bg:fff").is_ok());
        let every_effect = "ex:1/exar:1/t:10/pd:10/bl:2/sh:1/pix:4/mb:1000/skp:gif";
        assert!(check_str(every_effect).is_ok());
        let e = check_str("bl:2/wm:0.5/pd:10").unwrap_err();
        assert_eq!(
            e,
            PipelineError::NotImplemented(
                "not available on this server: watermark (no watermark image is configured)".into()
            )
        );
        // opacity 0 asks for nothing; a configured image makes it executable
        assert!(check_str("wm:0:soea").is_ok());
        let segments = ["wm:0.5"];
        assert!(check(&parse(&segments, &Presets::empty()).unwrap(), true).is_ok());
    }
}
