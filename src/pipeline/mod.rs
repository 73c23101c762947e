//! The image pipeline: source bytes + [`ProcessingOptions`] -> an encoded [`Variant`].
//!
//! [`run`] is the whole pipeline, one small step per module, in this order:
//!
//! ```text
//! support   refuse options this build cannot execute (501), before any work
//! probe     format, stored size, EXIF orientation from the headers only; size limit (422)
//! skip      `skip_processing`: listed source formats are answered as they are
//! negotiate the format from `Accept` when the URL names none (server side, before run)
//! format    the output format (explicit `f`/extension, else the source's family;
//!           PNG rather than JPEG for a TIFF/BMP/AVIF with alpha)
//! plan      pure geometry: crop rectangle in the source, output size, DCT scale
//! peak      the job's estimated peak memory, from the plan (for the memory budget)
//! animation animated GIF/WebP -> GIF/WebP: frames kept (cap), then for each frame
//!           decode it and run the steps below from orient to alpha, streaming it
//!           into the animated encoder (the rest of this list is the still path)
//! decode    pixels, JPEG shrunk in the DCT domain (1/2, 1/4, 1/8) on load
//! trim      `trim`: cut the background border (full-size decode), then plan again
//! orient    EXIF orientation (unless `ar:0`), then `rot`, then `fl`
//! smart     `g:sm`: move the planned crop window to the most interesting place
//! resize    one Lanczos3 resample of the planned source rectangle to the output size
//! icc       the embedded ICC profile (read in `prepare`) applied: RGB/grey to sRGB on
//!           the resized image (smallest); CMYK already converted by its decoder
//! effects   `blur`, `sharpen`, `pixelate`, in place on the resized image
//! extend    `extend` to the requested box, `extend_aspect_ratio` to its ratio
//! padding   `padding` around the result (scaled by dpr)
//! alpha     flatten onto `bg` (default white) when the output has no alpha or `bg` is set
//! watermark `wm`: the configured watermark image blended over the result
//! encode    JPEG (mozjpeg), PNG (png), WebP (libwebp), GIF, AVIF; `fit_bytes` re-encodes
//!           lossy outputs at lower quality while over `max_bytes`
//! ```
//!
//! The order is imgproxy's (`trim`, crop/scale/rotate, `applyFilters`, `extend`,
//! `extendAspectRatio`, `padding`, `flatten`, `watermark`, save): filters run before the canvas
//! grows, so extended and padded areas are never blurred or pixelated.
//!
//! Everything here is synchronous CPU work on untrusted bytes. The server calls
//! [`prepare`] (headers only), reserves [`Prepared::peak_bytes`] and runs
//! [`Prepared::execute`] under `limits::Admission`; [`process`] runs it on
//! tokio's blocking pool inside `catch_unwind`, so a panicking decoder costs one 500
//! and never a worker. Nothing here panics on bad input by design; the net is for bugs.

mod alpha;
mod animation;
mod bitmap;
mod copyright;
mod decode;
mod effects;
mod encode;
mod error;
mod exif;
mod extend;
mod fit_bytes;
mod format;
mod icc;
pub mod negotiate;
mod orient;
mod padding;
mod peak;
pub mod plan;
pub mod probe;
mod resize;
mod skip;
mod smart;
mod support;
mod trim;
pub mod watermark;

#[cfg(test)]
mod ssim_tests;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

pub use bitmap::Bitmap;
pub use decode::decode_full;
pub use error::PipelineError;
pub use probe::SourceFormat;
pub use watermark::WatermarkImage;

use crate::cache::{DecodedCache, DecodedKey};
use crate::options::{GravityType, OutputFormat, ProcessingOptions, WebpCompression};

/// Server-wide settings the pipeline needs (from `[processing]` in the config).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest source accepted, in pixels (width x height, before orientation).
    pub max_src_pixels: u64,
    /// Quality when neither `q` nor `fq`/`format_quality` names one (IMGPROXY_QUALITY).
    pub quality: u8,
    /// Per-format default qualities (IMGPROXY_FORMAT_QUALITY).
    pub format_quality: BTreeMap<OutputFormat, u8>,
    /// Apply EXIF orientation when the URL does not say (IMGPROXY_AUTO_ROTATE).
    pub auto_rotate: bool,
    /// Most frames of an animation kept (IMGPROXY_MAX_ANIMATION_FRAMES); 1 = stills.
    pub max_animation_frames: u32,
    /// Pixels per kept frame (IMGPROXY_MAX_ANIMATION_FRAME_RESOLUTION); 0 = the
    /// frames together within `max_src_pixels` instead.
    pub max_animation_frame_pixels: u64,
    /// The configured watermark image (`processing.watermark_path`/`_data`), decoded
    /// once at start; `None` = `wm` answers 501.
    pub watermark: Option<Arc<WatermarkImage>>,
}

impl Default for Settings {
    /// imgproxy's defaults: 50 MP, quality 80, `webp=79,avif=63,jxl=77`, auto-rotate;
    /// and aperture's 100 animation frames (imgproxy's default, 1, means no animation).
    fn default() -> Self {
        Settings {
            max_src_pixels: 50_000_000,
            quality: 80,
            format_quality: BTreeMap::from([
                (OutputFormat::Webp, 79),
                (OutputFormat::Avif, 63),
                (OutputFormat::Jxl, 77),
            ]),
            auto_rotate: true,
            max_animation_frames: 100,
            max_animation_frame_pixels: 0,
            watermark: None,
        }
    }
}

/// An encoded image, ready to be served.
#[derive(Debug, Clone)]
pub struct Variant {
    pub bytes: Bytes,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub timings: StageTimings,
}

/// Wall time of the pipeline's stages (`aperture_processing_seconds{stage}`); `resize`
/// includes trimming, orienting, the filters, extend/padding, flattening and the
/// watermark (the
/// filters can outweigh the resample on large outputs); `encode` includes every
/// `max_bytes` attempt. All zero for `skip_processing`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimings {
    pub decode: Duration,
    pub resize: Duration,
    pub encode: Duration,
}

/// Runs the whole pipeline on `bytes`. `output` overrides the URL's format (the CLI
/// passes the output file's extension); `None` leaves the choice to [`format::choose`].
pub fn run(
    bytes: &[u8],
    opts: &ProcessingOptions,
    output: Option<OutputFormat>,
    settings: &Settings,
) -> Result<Variant, PipelineError> {
    prepare(bytes, opts, output, settings)?.execute(bytes, opts)
}

/// Everything decided from the headers alone, before any pixel is decoded: the server
/// reserves [`Prepared::peak_bytes`] from its memory budget, then calls
/// [`Prepared::execute`] on a worker.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub probed: probe::Probe,
    pub format: OutputFormat,
    pub plan: plan::Plan,
    transform: orient::Transform,
    /// Oriented source size.
    oriented: (u32, u32),
    /// Output pixels per stored source pixel, along the stored axes.
    stored_scale: (f64, f64),
    quality: u8,
    /// `skip_processing` matched: the answer is the source itself.
    skip: bool,
    /// `trim` is on: full-size decode, plan again after trimming.
    trims: bool,
    /// Frames the animation step decodes; 1 = the still path (see [`animation`]).
    frames: u32,
    /// WebP written lossless or near-lossless (`webp_options`), or lossy with an alpha
    /// plane, which libwebp codes with its lossless coder: several times lossy's memory
    /// (a transparent 900x900 lossy WebP took 27 MB, against 6 MB estimated without).
    lossless: bool,
    /// blur, sharpen or pixelate is on (they need buffers of their own).
    effects: bool,
    /// The output size after extend and padding; with `trim`, an upper bound the
    /// trimmed result must fit (see [`Prepared::execute`]).
    canvas: (u32, u32),
    /// The source's embedded ICC profile (see [`icc`]).
    icc: Option<Vec<u8>>,
    /// What the decoder buffers whatever the scale: a progressive JPEG's coefficient
    /// arrays ([`probe::jpeg_coefficient_bytes`]).
    decoder_buffers: u64,
    /// The EXIF block `keep_copyright` writes into a still output ([`copyright`]).
    copyright: Option<Vec<u8>>,
    /// The watermark to draw, when `wm` asks for one ([`watermark`]).
    watermark: Option<Arc<WatermarkImage>>,
    /// The URL's `wm` arguments (for the memory estimate).
    watermark_opts: crate::options::Watermark,
}

/// Where a still source's decoded pixels may be found or left (`cache::decoded`):
/// the cache, and the source's identity and version (ETag).
#[derive(Clone, Copy)]
pub struct Reuse<'a> {
    pub cache: &'a DecodedCache,
    pub source: &'a str,
    pub version: &'a str,
}

/// Probes, picks the format and plans the geometry: cheap (headers only), so it runs
/// on the caller's thread. Fails (422/501) before anything is allocated for pixels.
pub fn prepare(
    bytes: &[u8],
    opts: &ProcessingOptions,
    output: Option<OutputFormat>,
    settings: &Settings,
) -> Result<Prepared, PipelineError> {
    support::check(opts, settings.watermark.is_some())?;
    let sniffed = probe::sniff(bytes).filter(|&f| skip::source_format(f, opts).is_some());
    let probed = match (probe::probe(bytes, settings.max_src_pixels), sniffed) {
        (Ok(probed), _) => probed,
        (Err(PipelineError::Unsupported(_)), Some(f)) => skip::unprobed(f),
        (Err(e), _) => return Err(e),
    };
    let skipped = skip::source_format(probed.format, opts);
    let format = match skipped {
        Some(f) => f,
        None => format::choose(
            output.or(opts.format),
            probed.format,
            format::Traits {
                transparent: format::expects_transparency(probed.alpha, opts),
                animated: probed.frames > 1 && settings.max_animation_frames > 1,
            },
        )?,
    };
    let auto_rotate = opts.auto_rotate.unwrap_or(settings.auto_rotate);
    // An AVIF's orientation is its container's `irot`/`imir`, part of the picture
    // itself: libheif (so libvips and imgproxy) applies it whatever `auto_rotate` says.
    let exif = if auto_rotate || probed.format == SourceFormat::Avif {
        probed.orientation
    } else {
        1
    };
    let transform = orient::Transform::from_exif(exif)
        .then(orient::Transform::rotate_cw(opts.rotate))
        .then(orient::Transform::flip(
            opts.flip.horizontal,
            opts.flip.vertical,
        ));
    let (ow, oh) = transform.oriented_size(probed.width, probed.height);
    let vector = probed.format == SourceFormat::Svg;
    let plan = plan::plan_source(ow, oh, opts, vector);
    let frames = animation::frames(&probed, format, skipped.is_some(), settings)?;
    let trims = opts.trim.is_some() && frames == 1;
    // Scale factors along the *stored* axes decide how far the JPEG may shrink on load;
    // trimming needs every pixel (imgproxy disables scale-on-load for it too).
    let stored_scale = if trims {
        (1.0, 1.0)
    } else if vector {
        svg_guard(
            &probed,
            transform.stored_axes(plan.scale_x, plan.scale_y),
            settings,
        )
    } else {
        transform.stored_axes(plan.scale_x, plan.scale_y)
    };
    let mut canvas = canvas_size(plan.out_w, plan.out_h, opts, plan.dpr);
    if trims {
        canvas = trim_bound(canvas, (ow, oh), opts);
    }
    Ok(Prepared {
        probed,
        format,
        plan,
        transform,
        oriented: (ow, oh),
        stored_scale,
        quality: format::quality(opts, format, settings),
        skip: skipped.is_some(),
        trims,
        frames,
        lossless: format == OutputFormat::Webp
            && (opts.webp_compression != WebpCompression::Lossy
                || format::expects_transparency(probed.alpha, opts)),
        effects: effects::any(opts),
        canvas,
        icc: skipped
            .is_none()
            .then(|| icc::extract::extract(bytes, probed.format))
            .flatten(),
        copyright: (skipped.is_none() && frames == 1)
            .then(|| copyright::block(bytes, probed.format, opts))
            .flatten(),
        decoder_buffers: match probed.format {
            SourceFormat::Jpeg if skipped.is_none() => probe::jpeg_coefficient_bytes(bytes),
            _ => 0,
        },
        watermark: settings
            .watermark
            .clone()
            .filter(|wm| watermark::opacity(wm, &opts.watermark) > 0.0),
        watermark_opts: opts.watermark,
    })
}

/// The scales an SVG is drawn at, brought down (evenly) so the drawing holds at most
/// `max_src_pixels`, as imgproxy's `vectorGuardScale` does; the resampler enlarges the
/// rest.
fn svg_guard(probed: &probe::Probe, (sx, sy): (f64, f64), settings: &Settings) -> (f64, f64) {
    let (w, h) = decode::svg_size(probed, sx, sy);
    let pixels = f64::from(w) * f64::from(h);
    let max = settings.max_src_pixels as f64;
    if pixels <= max {
        return (sx, sy);
    }
    let k = (max / pixels).sqrt();
    (sx * k, sy * k)
}

/// The final size of a `w` x `h` resized image: extend, then padding, for the
/// plan's applied `dpr` ([`plan::Plan::dpr`]).
fn canvas_size(w: u32, h: u32, opts: &ProcessingOptions, dpr: f64) -> (u32, u32) {
    let (w, h) = extend::size(w, h, opts, dpr);
    padding::size(w, h, opts, dpr)
}

/// What a trimmed result may grow to, known before the trim: whichever is larger along
/// each axis of the untrimmed result, the whole source unscaled, and the requested box.
/// A trimmed region is smaller than the source, so only enlarging (`el`, `mw`/`mh`,
/// `z`) past the box with one side free can exceed this; that is refused in `execute`.
fn trim_bound(untrimmed: (u32, u32), oriented: (u32, u32), opts: &ProcessingOptions) -> (u32, u32) {
    // the applied dpr is never above the option's, or 1 when that is below 1 (see
    // `plan::scale`), and every size here grows with it
    let dpr = opts.dpr.max(1.0);
    let whole = canvas_size(oriented.0, oriented.1, opts, dpr);
    let (tw, th) = plan::target_size(opts, dpr);
    let boxed = canvas_size(tw.max(1), th.max(1), opts, dpr);
    (
        untrimmed.0.max(whole.0).max(boxed.0),
        untrimmed.1.max(whole.1).max(boxed.1),
    )
}

impl Prepared {
    /// Estimated peak bytes of [`execute`](Self::execute), for the memory budget:
    /// see [`peak::estimate`].
    pub fn peak_bytes(&self, source_len: usize) -> u64 {
        peak::estimate(self, source_len as u64)
    }

    /// Decodes, trims, orients, resizes, filters, extends, pads, flattens and encodes,
    /// timing each stage; or, for `skip_processing`, answers the source bytes.
    pub fn execute(
        &self,
        bytes: &[u8],
        opts: &ProcessingOptions,
    ) -> Result<Variant, PipelineError> {
        self.execute_reusing(bytes, opts, None)
    }

    /// [`Prepared::execute`], taking the decoded source from `reuse` when a sibling
    /// variant already decoded the same pixels, and leaving it there for the next.
    pub fn execute_reusing(
        &self,
        bytes: &[u8],
        opts: &ProcessingOptions,
        reuse: Option<Reuse<'_>>,
    ) -> Result<Variant, PipelineError> {
        if self.skip {
            return Ok(Variant {
                bytes: Bytes::copy_from_slice(bytes),
                format: self.format,
                width: self.probed.width,
                height: self.probed.height,
                timings: StageTimings::default(),
            });
        }
        if self.frames > 1 {
            return animation::execute(self, bytes, opts);
        }
        let (sx, sy) = self.stored_scale;
        let t0 = Instant::now();
        let reuse = reuse.filter(|_| decode::reusable(&self.probed, sx, sy));
        let img = match reuse {
            None => decode::decode(bytes, &self.probed, sx, sy)?,
            Some(reuse) => {
                let key = DecodedKey {
                    source: reuse.source.to_string(),
                    version: reuse.version.to_string(),
                    reduction: decode::reduction(&self.probed, sx, sy),
                };
                match reuse.cache.get(&key) {
                    Some(img) => img,
                    None => {
                        let img = decode::decode(bytes, &self.probed, sx, sy)?;
                        reuse.cache.keep(key, &img);
                        img
                    }
                }
            }
        };
        let t1 = Instant::now();
        let (img, plan, oriented) = self.trim(img, opts)?;
        let img = self.geometry(img, &plan, oriented, opts)?;
        let t2 = Instant::now();
        let (width, height) = (img.width, img.height);
        let encoded = fit_bytes::encode(
            &img,
            self.format,
            self.quality,
            opts.max_bytes,
            opts.webp_compression,
        )?;
        let encoded = self.with_copyright(encoded, opts);
        let t3 = Instant::now();
        Ok(Variant {
            bytes: Bytes::from(encoded),
            format: self.format,
            width,
            height,
            timings: StageTimings {
                decode: t1 - t0,
                resize: t2 - t1,
                encode: t3 - t2,
            },
        })
    }

    /// The encoded output with the kept copyright notice, unless the notice would
    /// push it past `max_bytes`.
    fn with_copyright(&self, encoded: Vec<u8>, opts: &ProcessingOptions) -> Vec<u8> {
        let Some(tiff) = &self.copyright else {
            return encoded;
        };
        let room =
            opts.max_bytes == 0 || (encoded.len() + tiff.len() + 16) as u64 <= opts.max_bytes;
        if room {
            copyright::embed(encoded, self.format, tiff)
        } else {
            encoded
        }
    }

    /// Every step between decoding (and trimming) and encoding: orient, resize,
    /// filters, extend, padding, alpha, watermark. The animation step runs it on each
    /// frame.
    fn geometry(
        &self,
        img: Bitmap,
        plan: &plan::Plan,
        (ow, oh): (u32, u32),
        opts: &ProcessingOptions,
    ) -> Result<Bitmap, PipelineError> {
        let img = orient::apply(img, self.transform);
        let smart_plan;
        let plan = if opts.gravity.kind == GravityType::Smart && opts.crop.is_none() {
            smart_plan = smart::place(&img, plan, ow, oh);
            &smart_plan
        } else {
            plan
        };
        let mut img = resize::apply(img, plan, ow, oh, opts.resizing_algorithm)?;
        icc::to_srgb(&mut img, self.icc.as_deref());
        effects::apply(&mut img, opts);
        let img = extend::apply(img, opts, plan.dpr);
        let img = padding::apply(img, opts, plan.dpr);
        let img = alpha::prepare(img, self.format, opts.background);
        match &self.watermark {
            Some(wm) => watermark::apply(img, wm, &opts.watermark, plan.dpr),
            None => Ok(img),
        }
    }

    /// `trim` on the decoded (stored-orientation) bitmap, and the plan for what is
    /// left. The plan made in [`prepare`] came from the headers, before anyone knew
    /// the border, so a trimmed image is planned again here, exactly as imgproxy
    /// recomputes its parameters after its trim step; since the decode was full-size
    /// (no shrink-on-load with trim), only the rectangle and output size change. The
    /// memory reservation was sized for [`trim_bound`]; a re-plan past it answers 422
    /// instead of spending memory the budget never granted.
    fn trim(
        &self,
        img: Bitmap,
        opts: &ProcessingOptions,
    ) -> Result<(Bitmap, plan::Plan, (u32, u32)), PipelineError> {
        let found = opts.trim.as_ref().and_then(|t| trim::find(&img, t));
        let Some((left, top, w, h)) = found else {
            return Ok((img, self.plan, self.oriented));
        };
        let img = resize::crop(&img, left as usize, top as usize, w, h);
        let (ow, oh) = self.transform.oriented_size(w, h);
        let vector = self.probed.format == SourceFormat::Svg;
        let plan = plan::plan_source(ow, oh, opts, vector);
        let (cw, ch) = canvas_size(plan.out_w, plan.out_h, opts, plan.dpr);
        let area = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
        if area((cw, ch)) > area(self.canvas) {
            return Err(PipelineError::TooLarge(format!(
                "the trimmed image would become {cw}x{ch}, larger than the {}x{} its memory \
                 was reserved for (trim with enlarging and one free side)",
                self.canvas.0, self.canvas.1
            )));
        }
        Ok((img, plan, (ow, oh)))
    }
}

/// [`run`] on tokio's blocking pool, with panics turned into
/// [`PipelineError::Panic`] (500) instead of a lost worker.
pub async fn process(
    bytes: Bytes,
    opts: ProcessingOptions,
    settings: Settings,
) -> Result<Variant, PipelineError> {
    on_blocking_pool(move || run(&bytes, &opts, None, &settings)).await
}

/// Runs CPU work on tokio's blocking pool; a panic in it becomes an error.
async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PipelineError> + Send + 'static,
) -> Result<T, PipelineError> {
    let job = tokio::task::spawn_blocking(move || {
        catch_unwind(AssertUnwindSafe(work))
            .unwrap_or_else(|payload| Err(PipelineError::Panic(panic_message(payload.as_ref()))))
    });
    match job.await {
        Ok(result) => result,
        Err(e) => Err(PipelineError::Panic(format!("pipeline task failed: {e}"))),
    }
}

/// [`run`] with a panic caught and returned as [`PipelineError::Panic`].
pub fn run_caught(
    bytes: &[u8],
    opts: &ProcessingOptions,
    output: Option<OutputFormat>,
    settings: &Settings,
) -> Result<Variant, PipelineError> {
    match catch_unwind(AssertUnwindSafe(|| run(bytes, opts, output, settings))) {
        Ok(r) => r,
        Err(payload) => Err(PipelineError::Panic(panic_message(payload.as_ref()))),
    }
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "panic".to_string()
    }
}

/// Options the pipeline refuses before any source is fetched (501 with their names);
/// `watermark_configured`: a watermark image is configured.
pub fn check_supported(
    opts: &ProcessingOptions,
    watermark_configured: bool,
) -> Result<(), PipelineError> {
    support::check(opts, watermark_configured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_and_the_pool_keeps_working() {
        let r: Result<(), _> = on_blocking_pool(|| panic!("decoder bug")).await;
        assert_eq!(r, Err(PipelineError::Panic("decoder bug".into())));
        let e = crate::error::Error::from(r.unwrap_err());
        assert_eq!(e.status().as_u16(), 500);
        assert_eq!(on_blocking_pool(|| Ok(7)).await, Ok(7));
    }

    #[test]
    fn an_enlarged_svg_is_drawn_at_the_output_scale_within_max_src_pixels() {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="120"><rect width="100" height="120" fill="#f00"/></svg>"##;
        let po = |o: &str| {
            let segments: Vec<&str> = o.split('/').collect();
            crate::options::parse(&segments, &crate::options::Presets::empty()).unwrap()
        };
        let settings = Settings::default();
        let opts = po("rs:fit:400:400");
        let p = prepare(svg, &opts, None, &settings).unwrap();
        assert_eq!((p.plan.out_w, p.plan.out_h), (400, 240));
        assert_eq!(
            decode::svg_size(&p.probed, p.stored_scale.0, p.stored_scale.1),
            (400, 240)
        );
        let out = p.execute(svg, &opts).unwrap();
        assert_eq!((out.width, out.height), (400, 240));
        // capped like imgproxy's vectorGuardScale: at most 10 000 pixels drawn, the
        // resampler does the rest
        let small = Settings {
            max_src_pixels: 100_000,
            ..Settings::default()
        };
        let opts = po("rs:fit:4000:4000");
        let p = prepare(svg, &opts, None, &small).unwrap();
        assert_eq!((p.plan.out_w, p.plan.out_h), (4000, 2400));
        let (w, h) = decode::svg_size(&p.probed, p.stored_scale.0, p.stored_scale.1);
        assert!(u64::from(w) * u64::from(h) <= 100_000 && w > 200, "{w}x{h}");
    }
}
