//! Typed values that processing options carry (formats, resizing types,
//! gravity, crop, trim, padding, colors, watermark, security overrides) and
//! their imgproxy spellings in both directions.

/// Output image formats imgproxy (open-source) can name in `format`,
/// `format_quality`, `skip_processing` and the URL extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
    Avif,
    Gif,
    Ico,
    Bmp,
    Tiff,
    Svg,
    Heic,
    Jxl,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 11] = [
        OutputFormat::Jpeg,
        OutputFormat::Png,
        OutputFormat::Webp,
        OutputFormat::Avif,
        OutputFormat::Gif,
        OutputFormat::Ico,
        OutputFormat::Bmp,
        OutputFormat::Tiff,
        OutputFormat::Svg,
        OutputFormat::Heic,
        OutputFormat::Jxl,
    ];

    /// imgproxy's `imagetype.Types` names ("jpg" and "jpeg" both mean JPEG).
    /// ASCII case is ignored because extensions copied from file names are
    /// often upper-case and accepting them cannot change any valid URL.
    pub fn from_extension(ext: &str) -> Option<Self> {
        if ext.eq_ignore_ascii_case("jpeg") {
            return Some(OutputFormat::Jpeg);
        }
        Self::ALL
            .into_iter()
            .find(|f| f.extension().eq_ignore_ascii_case(ext))
    }

    /// The preferred extension; also the spelling used in canonical keys.
    pub fn extension(&self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
            OutputFormat::Avif => "avif",
            OutputFormat::Gif => "gif",
            OutputFormat::Ico => "ico",
            OutputFormat::Bmp => "bmp",
            OutputFormat::Tiff => "tiff",
            OutputFormat::Svg => "svg",
            OutputFormat::Heic => "heic",
            OutputFormat::Jxl => "jxl",
        }
    }

    /// Content-Type values as imgproxy sends them (ICO is `image/x-icon`,
    /// HEIC is `image/heif`).
    pub fn mime(&self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::Webp => "image/webp",
            OutputFormat::Avif => "image/avif",
            OutputFormat::Gif => "image/gif",
            OutputFormat::Ico => "image/x-icon",
            OutputFormat::Bmp => "image/bmp",
            OutputFormat::Tiff => "image/tiff",
            OutputFormat::Svg => "image/svg+xml",
            OutputFormat::Heic => "image/heif",
            OutputFormat::Jxl => "image/jxl",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResizingType {
    #[default]
    Fit,
    Fill,
    FillDown,
    Force,
    Auto,
}

impl ResizingType {
    pub const ALL: [ResizingType; 5] = [
        ResizingType::Fit,
        ResizingType::Fill,
        ResizingType::FillDown,
        ResizingType::Force,
        ResizingType::Auto,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ResizingType::Fit => "fit",
            ResizingType::Fill => "fill",
            ResizingType::FillDown => "fill-down",
            ResizingType::Force => "force",
            ResizingType::Auto => "auto",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// How a WebP answer is compressed: imgproxy Pro's `webp_options` (`webpo`) first
/// argument and `IMGPROXY_WEBP_COMPRESSION`; aperture accepts it so URLs written for
/// Pro keep working, and it is the way to ask for lossless WebP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebpCompression {
    #[default]
    Lossy,
    NearLossless,
    Lossless,
}

impl WebpCompression {
    pub const ALL: [WebpCompression; 3] = [
        WebpCompression::Lossy,
        WebpCompression::NearLossless,
        WebpCompression::Lossless,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            WebpCompression::Lossy => "lossy",
            WebpCompression::NearLossless => "near_lossless",
            WebpCompression::Lossless => "lossless",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// `resizing_algorithm` is an imgproxy Pro option; aperture accepts it so
/// URLs written for Pro keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResizingAlgorithm {
    Nearest,
    Linear,
    Cubic,
    Lanczos2,
    #[default]
    Lanczos3,
}

impl ResizingAlgorithm {
    pub const ALL: [ResizingAlgorithm; 5] = [
        ResizingAlgorithm::Nearest,
        ResizingAlgorithm::Linear,
        ResizingAlgorithm::Cubic,
        ResizingAlgorithm::Lanczos2,
        ResizingAlgorithm::Lanczos3,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ResizingAlgorithm::Nearest => "nearest",
            ResizingAlgorithm::Linear => "linear",
            ResizingAlgorithm::Cubic => "cubic",
            ResizingAlgorithm::Lanczos2 => "lanczos2",
            ResizingAlgorithm::Lanczos3 => "lanczos3",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GravityType {
    #[default]
    Center,
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
    /// `sm`: libvips "interesting" area; offsets do not apply.
    Smart,
    /// `fp:x:y`: x and y are relative coordinates in 0..=1.
    FocusPoint,
}

impl GravityType {
    pub const ALL: [GravityType; 11] = [
        GravityType::Center,
        GravityType::North,
        GravityType::South,
        GravityType::East,
        GravityType::West,
        GravityType::NorthEast,
        GravityType::NorthWest,
        GravityType::SouthEast,
        GravityType::SouthWest,
        GravityType::Smart,
        GravityType::FocusPoint,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            GravityType::Center => "ce",
            GravityType::North => "no",
            GravityType::South => "so",
            GravityType::East => "ea",
            GravityType::West => "we",
            GravityType::NorthEast => "noea",
            GravityType::NorthWest => "nowe",
            GravityType::SouthEast => "soea",
            GravityType::SouthWest => "sowe",
            GravityType::Smart => "sm",
            GravityType::FocusPoint => "fp",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.name() == s)
    }
}

/// Offsets are pixels when >= 1 (or <= -1) and fractions otherwise, as in
/// imgproxy; for `fp` they are the focus point coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Gravity {
    pub kind: GravityType,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Extend {
    pub enabled: bool,
    pub gravity: Gravity,
}

/// Values >= 1 are pixels, values < 1 are fractions of the source, 0 means
/// the full source dimension.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Crop {
    pub width: f64,
    pub height: f64,
    /// `None`: use the main `gravity` option (imgproxy's "unknown" gravity).
    pub gravity: Option<Gravity>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trim {
    pub threshold: f64,
    /// `None`: detect the background color automatically ("smart" trim).
    pub color: Option<Rgb>,
    pub equal_hor: bool,
    pub equal_ver: bool,
}

impl Default for Trim {
    fn default() -> Self {
        Trim {
            threshold: 10.0,
            color: None,
            equal_hor: false,
            equal_ver: false,
        }
    }
}

/// CSS-style padding in pixels; all zero means disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Padding {
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
    pub left: u32,
}

impl Padding {
    pub fn is_enabled(&self) -> bool {
        self.top | self.right | self.bottom | self.left != 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    /// imgproxy's hex colors: exactly 3 or 6 hex digits, no `#`.
    pub fn from_hex(s: &str) -> Option<Self> {
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let bytes = s.as_bytes();
        match bytes.len() {
            3 => {
                let mut v = [0u8; 3];
                for (slot, &c) in v.iter_mut().zip(bytes) {
                    *slot = digit(c)? * 17;
                }
                Some(Rgb {
                    r: v[0],
                    g: v[1],
                    b: v[2],
                })
            }
            6 => {
                let mut v = [0u8; 3];
                for (slot, pair) in v.iter_mut().zip(bytes.chunks(2)) {
                    *slot = digit(pair[0])? * 16 + digit(pair[1])?;
                }
                Some(Rgb {
                    r: v[0],
                    g: v[1],
                    b: v[2],
                })
            }
            _ => None,
        }
    }

    pub fn to_hex(&self) -> String {
        format!("{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flip {
    pub horizontal: bool,
    pub vertical: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatermarkPosition {
    Gravity(GravityType),
    /// `re`: tile the watermark over the whole image.
    Replicate,
}

/// `watermark`/`wm`: drawn by `pipeline::watermark` when a watermark image is
/// configured (`processing.watermark_path`/`watermark_data`), else a 501.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Watermark {
    pub enabled: bool,
    pub opacity: f64,
    pub position: WatermarkPosition,
    pub x_offset: f64,
    pub y_offset: f64,
    /// 0 keeps the watermark's own size.
    pub scale: f64,
}

impl Default for Watermark {
    fn default() -> Self {
        Watermark {
            enabled: false,
            opacity: 1.0,
            position: WatermarkPosition::Gravity(GravityType::Center),
            x_offset: 0.0,
            y_offset: 0.0,
            scale: 0.0,
        }
    }
}

/// imgproxy's per-request overrides of security limits. imgproxy only
/// accepts them when `IMGPROXY_ALLOW_SECURITY_OPTIONS` is on; the parser has
/// no configuration, so it only types them and the server must decide.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SecurityOverrides {
    /// Megapixels.
    pub max_src_resolution: Option<f64>,
    /// Bytes.
    pub max_src_file_size: Option<u64>,
    pub max_animation_frames: Option<u32>,
    /// Megapixels.
    pub max_animation_frame_resolution: Option<f64>,
    /// Pixels.
    pub max_result_dimension: Option<u32>,
}
