//! Configuration: `config/default.toml`, an optional file, `APERTURE_*` variables and
//! CLI flags, layered by figment into one validated [`Config`].
//!
//! The raw, serde-shaped sections live here; [`Config::load`] layers them and then
//! [`validate`] turns them into the typed values the rest of the service uses,
//! collecting every problem so an operator sees them all at once. The environment
//! is passed in as a map, so tests never touch process-wide variables.

mod env;
mod s3;
mod validate;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::Deserialize;

use crate::options::{OutputFormat, Presets};
pub use env::ENV_KEYS;
pub use s3::{BucketSettings, MAX_PRESIGN_EXPIRY, S3Settings, StaticCredentials};
pub use values::parse_duration;
use values::{Seconds, Stringish};

/// The defaults, compiled in so the binary runs without any file on disk.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The validated configuration of one aperture process.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub security: SecurityConfig,
    pub sources: SourcesConfig,
    pub s3: S3Settings,
    pub delivery: DeliveryConfig,
    pub presets: Vec<String>,
    pub processing: ProcessingConfig,
    pub cache: CacheConfig,
    pub limits: LimitsConfig,
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Serving threads, each with its own runtime and listener (`server::threads`);
    /// never 0 here (0 in the file means one per core).
    pub io_threads: usize,
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub shutdown_grace: Duration,
    pub max_url_bytes: usize,
    pub max_header_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// (key, salt) pairs, decoded from hex; the first one signs.
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
    pub signature_size: usize,
    pub allow_insecure: bool,
}

#[derive(Debug, Clone)]
pub struct SourcesConfig {
    pub local_root: PathBuf,
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub cache_control: String,
    pub error_cache_control: String,
    pub max_ranges: usize,
    /// Send `Server-Timing` (fetch/decode/resize/encode/cache/total) on image answers.
    pub server_timing: bool,
    /// `Access-Control-Allow-Origin` (and `Timing-Allow-Origin`) of image answers;
    /// `None` = no CORS headers and no preflight answers.
    pub cors_allow_origin: Option<String>,
}

/// The image pipeline's limits and defaults.
#[derive(Debug, Clone)]
pub struct ProcessingConfig {
    /// Megapixels.
    pub max_src_resolution: f64,
    /// Bytes; 0 = no limit.
    pub max_src_file_size: u64,
    pub quality: u8,
    pub format_quality: BTreeMap<OutputFormat, u8>,
    pub auto_rotate: bool,
    /// Most frames of an animation kept; 1 = always the first frame only.
    pub max_animation_frames: u32,
    /// Megapixels per frame of a kept animation; 0 = frames x size within
    /// `max_src_resolution` instead.
    pub max_animation_frame_resolution: f64,
    /// Answer WebP when the URL names no format and `Accept` lists `image/webp`.
    pub prefer_webp: bool,
    /// The same for AVIF (refused at start until AVIF output exists).
    pub prefer_avif: bool,
    /// Where the watermark image comes from (`None`: `wm` answers 501).
    pub watermark: Option<WatermarkSource>,
    /// Base opacity of the watermark, 0-1 (the URL's opacity multiplies it).
    pub watermark_opacity: f64,
}

/// The configured watermark image: a local file, or the image itself.
#[derive(Clone, PartialEq, Eq)]
pub enum WatermarkSource {
    /// `processing.watermark_path`: read and decoded at start.
    Path(PathBuf),
    /// `processing.watermark_data`: the base64-decoded bytes.
    Data(Vec<u8>),
}

impl std::fmt::Debug for WatermarkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WatermarkSource::Path(p) => f.debug_tuple("Path").field(p).finish(),
            WatermarkSource::Data(d) => write!(f, "Data({} bytes)", d.len()),
        }
    }
}

/// The in-memory variant cache (`[cache]`).
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Most bytes of encoded variants held (bodies plus per-entry overhead).
    pub capacity_bytes: u64,
    /// How long a source's version (size, ETag) is trusted by processed lookups
    /// before the source is asked again; zero asks on every request.
    pub source_version_ttl: Duration,
    /// Most bytes of decoded source pixels kept for sibling variants; 0 = none.
    pub decoded_bytes: u64,
}

/// Admission control and deadlines (`[limits]`).
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Concurrent CPU jobs; 0 = one per core.
    pub workers: usize,
    /// Memory that in-flight jobs may reserve, in bytes.
    pub memory_budget_bytes: u64,
    /// Longest a job waits for memory and a worker.
    pub queue_timeout: Duration,
    /// Longest a processed request may take before it is answered 503.
    pub request_timeout: Duration,
    /// `POST /warm` paths accepted and not yet processed, across all requests.
    pub warm_queue: usize,
    /// Most paths in one `POST /warm` body.
    pub warm_max_paths: usize,
    /// Largest `POST /warm` body, in bytes.
    pub warm_max_body_bytes: usize,
}

impl ProcessingConfig {
    /// What the pipeline needs from here.
    pub fn pipeline_settings(&self) -> crate::pipeline::Settings {
        crate::pipeline::Settings {
            max_src_pixels: (self.max_src_resolution * 1e6) as u64,
            quality: self.quality,
            format_quality: self.format_quality.clone(),
            auto_rotate: self.auto_rotate,
            max_animation_frames: self.max_animation_frames,
            max_animation_frame_pixels: (self.max_animation_frame_resolution * 1e6) as u64,
            // decoded by `App::new`, which adds it (`App::pipeline_settings`)
            watermark: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    pub log_level: String,
}

/// Overrides from the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub listen: Option<String>,
}

/// How much of the outside world [`Config::load_with`] checks besides the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// Everything `serve` relies on, including that `sources.local_root` is a directory.
    Full,
    /// For the commands that never read a source (`sign`, `health`): the local root is
    /// not looked up, so they run from any directory (a container's HEALTHCHECK runs
    /// in its working directory, which need not hold the default `samples/`).
    SkipLocalRoot,
}

/// Every problem found while loading, one line each.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, line) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "configuration error: {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// The serde shape of the layered configuration, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    server: RawServer,
    security: RawSecurity,
    sources: RawSources,
    s3: s3::RawS3,
    delivery: RawDelivery,
    options: RawOptions,
    processing: RawProcessing,
    cache: RawCache,
    limits: RawLimits,
    telemetry: RawTelemetry,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Stringish,
    io_threads: usize,
    max_connections: usize,
    header_read_timeout: Seconds,
    keepalive_timeout: Seconds,
    shutdown_grace: Seconds,
    max_url_bytes: usize,
    max_header_bytes: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecurity {
    key: Stringish,
    salt: Stringish,
    signature_size: i64,
    allow_insecure: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSources {
    local_root: Stringish,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    cache_control: Stringish,
    error_cache_control: Stringish,
    max_ranges: usize,
    server_timing: bool,
    cors_allow_origin: Stringish,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    presets: values::StringList,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcessing {
    max_src_resolution: f64,
    max_src_file_size: u64,
    quality: i64,
    format_quality: values::StringList,
    auto_rotate: bool,
    max_animation_frames: i64,
    max_animation_frame_resolution: f64,
    prefer_webp: bool,
    prefer_avif: bool,
    watermark_path: String,
    watermark_data: String,
    watermark_opacity: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    size_mb: u64,
    source_version_ttl: Seconds,
    decoded_mb: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    workers: usize,
    memory_budget_mb: u64,
    queue_timeout: Seconds,
    request_timeout: Seconds,
    warm_queue: usize,
    warm_max_paths: usize,
    warm_max_body_bytes: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelemetry {
    log_format: Stringish,
    log_level: Stringish,
}

impl Config {
    /// Layer defaults, the optional file, the `APERTURE_*` entries of `env` and the CLI
    /// overrides, then validate fully (as `serve` needs). `env` is the process
    /// environment in production.
    pub fn load(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
        cli: &CliOverrides,
    ) -> Result<Config, ConfigErrors> {
        Config::load_with(file, env, cli, Validation::Full)
    }

    /// [`Config::load`] with the checks `validation` asks for.
    pub fn load_with(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
        cli: &CliOverrides,
        validation: Validation,
    ) -> Result<Config, ConfigErrors> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigErrors(vec![format!(
                    "--config {}: no such file",
                    path.display()
                )]));
            }
            figment = figment.merge(Toml::file(path));
        }
        let (figment, mut errors) = env::merge_env(figment, env);
        let mut figment = figment;
        if let Some(listen) = &cli.listen {
            figment = figment.merge(Serialized::default("server.listen", listen));
        }
        let raw: Raw = match figment.extract() {
            Ok(raw) => raw,
            Err(e) => {
                errors.extend(e.into_iter().map(|e| env::describe_figment_error(&e)));
                return Err(ConfigErrors(errors));
            }
        };
        match validate::validate(raw, validation) {
            Ok(config) if errors.is_empty() => Ok(config),
            Ok(_) => Err(ConfigErrors(errors)),
            Err(more) => {
                errors.extend(more);
                Err(ConfigErrors(errors))
            }
        }
    }

    /// `options.presets` parsed; an error is one line naming the setting.
    pub fn parse_presets(&self) -> Result<Presets, String> {
        Presets::parse(&self.presets)
            .map_err(|e| format!("options.presets (APERTURE_PRESETS): {e}"))
    }

    /// The embedded defaults with a few test-friendly changes: listen on an ephemeral
    /// loopback port and serve `local_root` (the default root is not looked up, so
    /// this works from any directory).
    pub fn for_tests(local_root: impl Into<PathBuf>) -> Config {
        let (env, cli) = (BTreeMap::new(), CliOverrides::default());
        let mut config = Config::load_with(None, &env, &cli, Validation::SkipLocalRoot)
            .expect("embedded defaults are valid");
        config.server.listen = "127.0.0.1:0".parse().expect("literal address");
        config.sources.local_root = local_root.into();
        config
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_delivery;
#[cfg(test)]
mod tests_watermark;
