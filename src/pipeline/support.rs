//! Which parsed options this build executes. The others (today only `watermark`:
//! aperture has no watermark image to place) answer 501 naming them, before the source
//! is fetched, rather than silently returning a different image.
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

pub fn check(opts: &ProcessingOptions) -> Result<(), PipelineError> {
    let mut missing = Vec::new();
    if opts.watermark.enabled {
        missing.push("watermark");
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
        let every_effect = "ex:1/exar:1/t:10/pd:10/bl:2/sh:1/pix:4/mb:1000/skp:gif";
        assert!(check_str(every_effect).is_ok());
        let e = check_str("bl:2/wm:0.5/pd:10").unwrap_err();
        assert_eq!(
            e,
            PipelineError::NotImplemented("not implemented yet in this build: watermark".into())
        );
    }
}
