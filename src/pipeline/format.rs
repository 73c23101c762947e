//! The output format and its quality.
//!
//! Format: the explicit one (`format`/`f`/`ext` option or URL extension; the CLI's
//! output file name), else the negotiated one (`Accept`, see `negotiate`), else the
//! source's family when it is one every client reads: JPEG -> JPEG, PNG -> PNG, GIF
//! -> GIF (animated when the source is, see `animation`); SVG and ICO (nearly always
//! transparent) -> PNG; every other source (WebP, TIFF, BMP, AVIF, HEIF) falls back
//! to GIF when animated, PNG when transparency is expected, else JPEG. So a client
//! whose `Accept` did not negotiate WebP never gets a WebP because the source was one. Outputs this build cannot write yet
//! answer 422. Quality: `quality`, else `format_quality` for the format, else the
//! server's per-format default, else the server's quality (imgproxy's rule).
//!
//! The fallback is imgproxy's (`processing.go`, `determineOutputFormat`): a source
//! whose format is not one of `IMGPROXY_PREFERRED_FORMATS` (default `jpeg,png,gif`)
//! gets the first preferred format compatible with the image (`findPreferredFormat`),
//! where transparency is expected when `background` is not set and the source has
//! alpha or `padding` or `extend` is on (`expectTransparency`); JPEG has no alpha,
//! so that is PNG. A TIFF, BMP or AVIF with alpha therefore comes out as a PNG with its
//! transparency, never flattened onto white; an animated WebP becomes an animated GIF
//! (`isImageTypeCompatible`: the first preferred format that saves animation). One
//! choice of aperture's own: ICO sources are PNG whatever their alpha (imgproxy would
//! give an opaque icon a JPEG; our ICO decoder gives every BMP entry its AND mask as
//! alpha anyway).

use super::Settings;
use super::error::PipelineError;
use super::probe::SourceFormat;
use crate::options::{OutputFormat, ProcessingOptions};

/// imgproxy's `expectTransparency`: whether the output may have transparent pixels,
/// from the source's alpha channel (`Probe::alpha`) and the options, before decoding.
pub fn expects_transparency(source_alpha: bool, opts: &ProcessingOptions) -> bool {
    opts.background.is_none() && (source_alpha || opts.padding.is_enabled() || opts.extend.enabled)
}

/// What the fallback format must be able to hold (imgproxy's `isImageTypeCompatible`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Traits {
    /// [`expects_transparency`].
    pub transparent: bool,
    /// The source is animated and animations are kept (`max_animation_frames` > 1).
    pub animated: bool,
}

/// The output format: `explicit` (the URL's or the negotiated one) wins; else the
/// source's family when it is JPEG, PNG or GIF (imgproxy's default preferred
/// formats), PNG for SVG and ICO, else the first of GIF (animated), PNG (transparent)
/// and JPEG that can hold the image.
pub fn choose(
    explicit: Option<OutputFormat>,
    source: SourceFormat,
    traits: Traits,
) -> Result<OutputFormat, PipelineError> {
    let format = explicit.unwrap_or(match source {
        SourceFormat::Jpeg => OutputFormat::Jpeg,
        SourceFormat::Png | SourceFormat::Svg | SourceFormat::Ico => OutputFormat::Png,
        SourceFormat::Gif => OutputFormat::Gif,
        SourceFormat::Webp
        | SourceFormat::Tiff
        | SourceFormat::Bmp
        | SourceFormat::Avif
        | SourceFormat::Heif => {
            if traits.animated {
                OutputFormat::Gif
            } else if traits.transparent {
                OutputFormat::Png
            } else {
                OutputFormat::Jpeg
            }
        }
    });
    match format {
        OutputFormat::Jpeg
        | OutputFormat::Png
        | OutputFormat::Webp
        | OutputFormat::Gif
        | OutputFormat::Avif => Ok(format),
        other => Err(PipelineError::Unsupported(format!(
            "{} output is not supported yet (supported: jpg, png, webp, gif, avif)",
            other.extension()
        ))),
    }
}

pub fn quality(opts: &ProcessingOptions, format: OutputFormat, settings: &Settings) -> u8 {
    let server_default = settings
        .format_quality
        .get(&format)
        .copied()
        .unwrap_or(settings.quality);
    opts.effective_quality(format, server_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_family_and_explicit_choice() {
        use OutputFormat::{Avif, Gif, Jpeg, Png, Webp};
        use SourceFormat as S;
        // (explicit or negotiated, source, transparency expected) -> format
        let table = [
            (None, S::Jpeg, false, Jpeg),
            (None, S::Jpeg, true, Jpeg), // JPEG is kept; extend/padding flatten on white
            (None, S::Png, false, Png),
            (None, S::Png, true, Png),
            // WebP is not a preferred format: un-negotiated clients get JPEG or PNG
            (None, S::Webp, false, Jpeg),
            (None, S::Webp, true, Png),
            (None, S::Gif, true, Gif),
            (None, S::Svg, false, Png),
            (None, S::Ico, false, Png),
            (None, S::Ico, true, Png),
            // the fallback: PNG when transparency is expected, else JPEG
            (None, S::Tiff, false, Jpeg),
            (None, S::Tiff, true, Png),
            (None, S::Bmp, false, Jpeg),
            (None, S::Bmp, true, Png),
            (None, S::Avif, false, Jpeg),
            (None, S::Avif, true, Png),
            (None, S::Heif, true, Png),
            // an explicit (or negotiated) format always wins: f:jpg flattens on bg
            (Some(Jpeg), S::Tiff, true, Jpeg),
            (Some(Jpeg), S::Png, true, Jpeg),
            (Some(Webp), S::Jpeg, false, Webp),
            (Some(Webp), S::Bmp, true, Webp),
            (Some(Avif), S::Jpeg, false, Avif),
            (Some(Avif), S::Avif, true, Avif),
        ];
        for (explicit, source, transparent, want) in table {
            let traits = Traits {
                transparent,
                animated: false,
            };
            assert_eq!(
                choose(explicit, source, traits),
                Ok(want),
                "{explicit:?} {source:?} transparent={transparent}"
            );
        }
        let animated = Traits {
            transparent: true,
            animated: true,
        };
        assert_eq!(
            choose(None, S::Webp, animated),
            Ok(Gif),
            "animated WebP -> GIF"
        );
        assert_eq!(choose(None, S::Gif, animated), Ok(Gif));
        assert_eq!(choose(Some(Webp), S::Webp, animated), Ok(Webp));
        assert!(
            choose(
                Some(OutputFormat::Jxl),
                SourceFormat::Jpeg,
                Traits::default()
            )
            .is_err()
        );
    }

    #[test]
    fn transparency_is_expected_like_imgproxy() {
        let mut po = ProcessingOptions::default();
        assert!(!expects_transparency(false, &po));
        assert!(expects_transparency(true, &po));
        po.padding.top = 4;
        assert!(expects_transparency(false, &po), "padding");
        po.padding.top = 0;
        po.extend.enabled = true;
        assert!(expects_transparency(false, &po), "extend");
        // a background flattens everything: nothing transparent is left
        po.background = Some(crate::options::Rgb { r: 0, g: 0, b: 0 });
        assert!(!expects_transparency(true, &po));
    }

    #[test]
    fn quality_defaults_follow_imgproxy() {
        let s = Settings::default();
        let mut po = ProcessingOptions::default();
        assert_eq!(quality(&po, OutputFormat::Jpeg, &s), 80);
        assert_eq!(quality(&po, OutputFormat::Webp, &s), 79);
        po.format_quality.insert(OutputFormat::Webp, 60);
        assert_eq!(quality(&po, OutputFormat::Webp, &s), 60);
        assert_eq!(quality(&po, OutputFormat::Jpeg, &s), 80);
        po.quality = 50;
        assert_eq!(quality(&po, OutputFormat::Webp, &s), 50);
    }
}
