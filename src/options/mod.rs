//! imgproxy-compatible processing options: parsing URL option segments
//! (`rs:fill:300:200/q:80/...`) and presets into a typed
//! [`ProcessingOptions`], validating them, and rendering the canonical
//! cache-key text. Owns nothing about the rest of the URL (signature,
//! source URL, extension splitting) or about executing the options.
//!
//! Accepted: the whole imgproxy open-source option set with all aliases
//! (see [`parse::OPTIONS`]), `preset`/`pr`, imgproxy Pro's
//! `resizing_algorithm`/`ra`, `page`/`pg` and `webp_options`/`webpo`, and aperture's own
//! `redirect`/`rd`.
//!
//! Parsed into typed values but NOT executed by aperture's pipeline (the
//! server decides what to do with them):
//! - `watermark`/`wm` when no watermark image is configured (the server answers 501;
//!   with one, `pipeline::watermark` draws it);
//! - `page`/`pg`: multi-page/animated sources are not paged;
//! - `max_src_resolution`, `max_src_file_size`, `max_animation_frames`,
//!   `max_animation_frame_resolution`, `max_result_dimension`: imgproxy
//!   only honours them with `IMGPROXY_ALLOW_SECURITY_OPTIONS`; the server
//!   must reject or ignore them by its own policy.
//!
//! Deliberate differences from imgproxy (all stricter, none rejects a URL a
//! normal builder emits): non-empty invalid booleans are errors (imgproxy
//! reads them as false); pixel sizes are capped at [`MAX_DIMENSION`], dpr
//! at [`MAX_DPR`], blur/sharpen sigma at [`MAX_SIGMA`]; preset recursion is
//! an error (imgproxy logs and skips); negative `expires` is an error;
//! expiry is not checked while parsing ([`ProcessingOptions::is_expired`]).

mod args;
mod canonical;
mod error;
mod geometry;
mod model;
mod output;
pub mod parse;
mod presets;
mod types;

#[cfg(test)]
mod tests;

pub use args::{MAX_DIMENSION, MAX_DPR, MAX_SIGMA};
pub use error::{OptionError, OptionErrorKind};
pub use model::ProcessingOptions;
pub use parse::{parse, parse_extension, split_option_segments};
pub use presets::Presets;
pub use types::{
    Crop, Extend, Flip, Gravity, GravityType, OutputFormat, Padding, ResizingAlgorithm,
    ResizingType, Rgb, SecurityOverrides, Trim, Watermark, WatermarkPosition, WebpCompression,
};
