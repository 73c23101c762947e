//! `skip_processing`/`skp`: sources whose format is listed are answered as they are,
//! bytes and content type, when the URL asks for no other format (imgproxy: "processing
//! can only be skipped when the requested format is the same as the source format").
//! The requested format is the URL's; a format negotiated from `Accept` does not
//! count, as in imgproxy, where that choice is made later, inside processing.
//!
//! A skipped source is recognised by its magic bytes, so formats this build cannot
//! decode yet (GIF, AVIF, ...) are passed through too, which is what `skp:gif` is
//! mostly for; the resolution limit applies whenever the header can be read.

use super::probe::{Probe, SourceFormat};
use crate::options::{OutputFormat, ProcessingOptions};

/// The source's format when processing is skipped for it.
pub fn source_format(src: SourceFormat, po: &ProcessingOptions) -> Option<OutputFormat> {
    let f = match src {
        SourceFormat::Jpeg => OutputFormat::Jpeg,
        SourceFormat::Png => OutputFormat::Png,
        SourceFormat::Webp => OutputFormat::Webp,
        SourceFormat::Gif => OutputFormat::Gif,
        SourceFormat::Avif => OutputFormat::Avif,
        SourceFormat::Heif => OutputFormat::Heic,
        SourceFormat::Tiff => OutputFormat::Tiff,
        SourceFormat::Bmp => OutputFormat::Bmp,
        SourceFormat::Ico => OutputFormat::Ico,
        SourceFormat::Svg => OutputFormat::Svg,
    };
    let listed = po.skip_processing.contains(&f);
    (listed && po.format.is_none_or(|asked| asked == f)).then_some(f)
}

/// The probe of a skipped source whose header this build cannot read yet: its size
/// is unknown, and a source answered as it is never needs it.
pub fn unprobed(format: SourceFormat) -> Probe {
    Probe {
        format,
        width: 0,
        height: 0,
        orientation: 1,
        frames: 1,
        bits_per_sample: 8,
        alpha: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_formats_and_only_without_another_format() {
        let mut po = ProcessingOptions {
            skip_processing: vec![OutputFormat::Gif, OutputFormat::Jpeg],
            ..Default::default()
        };
        assert_eq!(
            source_format(SourceFormat::Gif, &po),
            Some(OutputFormat::Gif)
        );
        assert_eq!(source_format(SourceFormat::Png, &po), None);
        po.format = Some(OutputFormat::Jpeg);
        assert_eq!(
            source_format(SourceFormat::Jpeg, &po),
            Some(OutputFormat::Jpeg)
        );
        assert_eq!(source_format(SourceFormat::Gif, &po), None);
    }
}
