//! The output format and its quality.
//!
//! Format: the explicit one (`format`/`f`/`ext` option or URL extension; the CLI's
//! output file name), else the source's family: JPEG -> JPEG, PNG -> PNG,
//! WebP -> WebP, GIF -> GIF (animated when the source is, see `animation`), and the
//! formats we cannot write: SVG and ICO (nearly always transparent) -> PNG, others
//! -> JPEG. Outputs this
//! build cannot write yet answer 422. Quality: `quality`, else `format_quality` for the format,
//! else the server's per-format default, else the server's quality (imgproxy's rule).

use super::Settings;
use super::error::PipelineError;
use super::probe::SourceFormat;
use crate::options::{OutputFormat, ProcessingOptions};

pub fn choose(
    explicit: Option<OutputFormat>,
    source: SourceFormat,
) -> Result<OutputFormat, PipelineError> {
    let format = explicit.unwrap_or(match source {
        SourceFormat::Png | SourceFormat::Svg | SourceFormat::Ico => OutputFormat::Png,
        SourceFormat::Gif => OutputFormat::Gif,
        SourceFormat::Webp => OutputFormat::Webp,
        _ => OutputFormat::Jpeg,
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
        assert_eq!(choose(None, SourceFormat::Jpeg), Ok(OutputFormat::Jpeg));
        assert_eq!(choose(None, SourceFormat::Png), Ok(OutputFormat::Png));
        assert_eq!(choose(None, SourceFormat::Webp), Ok(OutputFormat::Webp));
        assert_eq!(choose(None, SourceFormat::Gif), Ok(OutputFormat::Gif));
        assert_eq!(choose(None, SourceFormat::Svg), Ok(OutputFormat::Png));
        assert_eq!(choose(None, SourceFormat::Tiff), Ok(OutputFormat::Jpeg));
        assert_eq!(
            choose(Some(OutputFormat::Webp), SourceFormat::Jpeg),
            Ok(OutputFormat::Webp)
        );
        assert_eq!(
            choose(Some(OutputFormat::Avif), SourceFormat::Jpeg),
            Ok(OutputFormat::Avif)
        );
        assert!(choose(Some(OutputFormat::Jxl), SourceFormat::Jpeg).is_err());
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
