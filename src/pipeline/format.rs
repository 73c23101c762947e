//! The output format and its quality.
//!
//! Format: the explicit one (`format`/`f`/`ext` option or URL extension; the CLI's
//! output file name), else the negotiated one (`Accept`, see `negotiate`), else the
//! source's family: JPEG -> JPEG, PNG -> PNG, WebP -> WebP, GIF -> GIF (animated when
//! the source is, see `animation`), SVG and ICO (nearly always transparent) -> PNG,
//! and the formats whose own we do not pick (TIFF, BMP, AVIF, HEIF) fall back to PNG
//! when transparency is expected, else JPEG. Outputs this build cannot write yet
//! answer 422. Quality: `quality`, else `format_quality` for the format, else the
//! server's per-format default, else the server's quality (imgproxy's rule).
//!
//! The fallback is imgproxy's (`processing.go`, `determineOutputFormat`): a source
//! whose format is not one of `IMGPROXY_PREFERRED_FORMATS` (default `jpeg,png,gif`)
//! gets the first preferred format compatible with the image (`findPreferredFormat`),
//! where transparency is expected when `background` is not set and the source has
//! alpha or `padding` or `extend` is on (`expectTransparency`); JPEG has no alpha,
//! so that is PNG. A TIFF, BMP or AVIF with alpha therefore comes out as a PNG with its
//! transparency, never flattened onto white. aperture keeps two of its own choices:
//! WebP sources stay WebP, and ICO sources are PNG whatever their alpha (imgproxy
//! would give an opaque icon a JPEG; our ICO decoder gives every BMP entry its AND
//! mask as alpha anyway).

use super::Settings;
use super::error::PipelineError;
use super::probe::SourceFormat;
use crate::options::{OutputFormat, ProcessingOptions};

/// imgproxy's `expectTransparency`: whether the output may have transparent pixels,
/// from the source's alpha channel (`Probe::alpha`) and the options, before decoding.
pub fn expects_transparency(source_alpha: bool, opts: &ProcessingOptions) -> bool {
    opts.background.is_none() && (source_alpha || opts.padding.is_enabled() || opts.extend.enabled)
}

/// The output format: `explicit` (the URL's or the negotiated one) wins; else the
/// source's family, or PNG/JPEG by `transparent` ([`expects_transparency`]) for the
/// sources whose own format is not picked.
pub fn choose(
    explicit: Option<OutputFormat>,
    source: SourceFormat,
    transparent: bool,
) -> Result<OutputFormat, PipelineError> {
    let format = explicit.unwrap_or(match source {
        SourceFormat::Jpeg => OutputFormat::Jpeg,
        SourceFormat::Png | SourceFormat::Svg | SourceFormat::Ico => OutputFormat::Png,
        SourceFormat::Gif => OutputFormat::Gif,
        SourceFormat::Webp => OutputFormat::Webp,
        SourceFormat::Tiff | SourceFormat::Bmp | SourceFormat::Avif | SourceFormat::Heif => {
            if transparent {
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
            (None, S::Webp, false, Webp),
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
            assert_eq!(
                choose(explicit, source, transparent),
                Ok(want),
                "{explicit:?} {source:?} transparent={transparent}"
            );
        }
        assert!(choose(Some(OutputFormat::Jxl), SourceFormat::Jpeg, false).is_err());
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
