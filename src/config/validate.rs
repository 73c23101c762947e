//! Turns the raw layered values into a typed [`Config`], reporting every problem.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use super::env::env_name;
use super::*;

/// Collects errors as "key (VAR): problem" lines.
pub(super) struct Problems(pub(super) Vec<String>);

impl Problems {
    pub(super) fn add(&mut self, key: &str, problem: impl std::fmt::Display) {
        match env_name(key) {
            Some(var) => self.0.push(format!("{key} ({var}): {problem}")),
            None => self.0.push(format!("{key}: {problem}")),
        }
    }
}

pub(super) fn validate(raw: Raw, validation: Validation) -> Result<Config, Vec<String>> {
    let mut p = Problems(Vec::new());

    let listen = parse_listen(&raw.server.listen.0).unwrap_or_else(|e| {
        p.add("server.listen", e);
        SocketAddr::from(([127, 0, 0, 1], 0))
    });
    let s = &raw.server;
    if s.io_threads > 256 {
        p.add(
            "server.io_threads",
            format!(
                "must be between 0 (one per core) and 256, got {}",
                s.io_threads
            ),
        );
    }
    if s.max_connections == 0 {
        p.add("server.max_connections", "must be at least 1");
    }
    for (key, d) in [
        ("server.header_read_timeout", s.header_read_timeout),
        ("server.keepalive_timeout", s.keepalive_timeout),
    ] {
        if d.0.is_zero() {
            p.add(key, "must be greater than zero");
        }
    }
    if s.max_url_bytes < 256 {
        p.add("server.max_url_bytes", "must be at least 256");
    }
    if s.max_header_bytes < 1024 {
        p.add("server.max_header_bytes", "must be at least 1024");
    }

    let keys = parse_hex_list(&mut p, "security.key", &raw.security.key.0);
    let salts = parse_hex_list(&mut p, "security.salt", &raw.security.salt.0);
    if keys.len() != salts.len() {
        p.add(
            "security.salt",
            format!(
                "{} key(s) but {} salt(s): keys and salts pair by position",
                keys.len(),
                salts.len()
            ),
        );
    }
    let size = raw.security.signature_size;
    if !(1..=32).contains(&size) {
        p.add(
            "security.signature_size",
            format!("must be between 1 and 32, got {size}"),
        );
    }
    let allow_insecure = raw.security.allow_insecure.unwrap_or(keys.is_empty());

    let local_root = PathBuf::from(&raw.sources.local_root.0);
    if raw.sources.local_root.0.is_empty() {
        p.add("sources.local_root", "must not be empty");
    } else if validation == Validation::Full && !local_root.is_dir() {
        p.add(
            "sources.local_root",
            format!("`{}` is not a directory", local_root.display()),
        );
    }

    let s3 = super::s3::validate(&mut p, raw.s3);

    for (key, value) in [
        ("delivery.cache_control", &raw.delivery.cache_control.0),
        (
            "delivery.error_cache_control",
            &raw.delivery.error_cache_control.0,
        ),
    ] {
        if value.is_empty() || http::HeaderValue::from_str(value).is_err() {
            p.add(key, "must be a non-empty, valid header value");
        }
    }
    if raw.delivery.max_ranges == 0 {
        p.add("delivery.max_ranges", "must be at least 1");
    }
    let cors_allow_origin = validate_origin(&mut p, &raw.delivery.cors_allow_origin.0);

    let processing = validate_processing(&mut p, &raw.processing);
    let (cache, limits) = validate_limits(&mut p, &raw.cache, &raw.limits);

    let log_format = match raw.telemetry.log_format.0.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            p.add(
                "telemetry.log_format",
                format!("must be `text` or `json`, got `{other}`"),
            );
            LogFormat::Text
        }
    };

    if !p.0.is_empty() {
        return Err(p.0);
    }
    Ok(Config {
        server: ServerConfig {
            listen,
            io_threads: match s.io_threads {
                0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
                n => n,
            },
            max_connections: s.max_connections,
            header_read_timeout: s.header_read_timeout.0,
            keepalive_timeout: s.keepalive_timeout.0,
            shutdown_grace: s.shutdown_grace.0,
            max_url_bytes: s.max_url_bytes,
            max_header_bytes: s.max_header_bytes,
        },
        security: SecurityConfig {
            pairs: keys.into_iter().zip(salts).collect(),
            signature_size: size as usize,
            allow_insecure,
        },
        sources: SourcesConfig { local_root },
        s3,
        delivery: DeliveryConfig {
            cache_control: raw.delivery.cache_control.0,
            error_cache_control: raw.delivery.error_cache_control.0,
            max_ranges: raw.delivery.max_ranges,
            server_timing: raw.delivery.server_timing,
            cors_allow_origin,
        },
        presets: raw.options.presets.0,
        processing,
        cache,
        limits,
        telemetry: TelemetryConfig {
            log_format,
            log_level: raw.telemetry.log_level.0,
        },
    })
}

/// Most frames `max_animation_frames` accepts: the total-pixel check
/// (frames x width x height within `max_src_resolution`) is the real bound; this only
/// keeps the arithmetic and a typo sane.
const MAX_ANIMATION_FRAMES: u32 = 100_000;

fn validate_processing(p: &mut Problems, raw: &RawProcessing) -> ProcessingConfig {
    let r = raw.max_src_resolution;
    if !(r > 0.0 && r <= 10_000.0) {
        p.add(
            "processing.max_src_resolution",
            format!("must be between 0 and 10000 megapixels, got {r}"),
        );
    }
    let quality = match u8::try_from(raw.quality) {
        Ok(q @ 1..=100) => q,
        _ => {
            p.add(
                "processing.quality",
                format!("must be between 1 and 100, got {}", raw.quality),
            );
            80
        }
    };
    let mut format_quality = BTreeMap::new();
    for entry in &raw.format_quality.0 {
        let parsed = entry.split_once('=').and_then(|(f, q)| {
            let f = OutputFormat::from_extension(f.trim())?;
            let q = q
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|q| (1..=100).contains(q))?;
            Some((f, q))
        });
        match parsed {
            Some((f, q)) => {
                format_quality.insert(f, q);
            }
            None => p.add(
                "processing.format_quality",
                format!("`{entry}` is not FORMAT=QUALITY (e.g. webp=79, quality 1-100)"),
            ),
        }
    }
    let max_animation_frames = match u32::try_from(raw.max_animation_frames) {
        Ok(n @ 1..=MAX_ANIMATION_FRAMES) => n,
        _ => {
            p.add(
                "processing.max_animation_frames",
                format!(
                    "must be between 1 and {MAX_ANIMATION_FRAMES}, got {}",
                    raw.max_animation_frames
                ),
            );
            1
        }
    };
    let fr = raw.max_animation_frame_resolution;
    if !(0.0..=10_000.0).contains(&fr) {
        p.add(
            "processing.max_animation_frame_resolution",
            format!("must be between 0 and 10000 megapixels, got {fr}"),
        );
    }
    let watermark_opacity = raw.watermark_opacity;
    if !(0.0..=1.0).contains(&watermark_opacity) {
        p.add(
            "processing.watermark_opacity",
            format!("must be between 0 and 1, got {watermark_opacity}"),
        );
    }
    ProcessingConfig {
        watermark: validate_watermark(p, raw),
        watermark_opacity,
        max_src_resolution: r,
        max_src_file_size: raw.max_src_file_size,
        quality,
        format_quality,
        auto_rotate: raw.auto_rotate,
        max_animation_frames,
        max_animation_frame_resolution: fr,
        prefer_webp: raw.prefer_webp,
        prefer_avif: raw.prefer_avif,
    }
}

/// Where the watermark image comes from: at most one of the path and the data. The
/// file is read (and any image decoded) by `App::new`, which names the key on failure.
fn validate_watermark(p: &mut Problems, raw: &RawProcessing) -> Option<WatermarkSource> {
    use base64::Engine as _;
    let path = raw.watermark_path.trim();
    // base64 as `base64 file | tr -d '\n'` writes it; line breaks and spaces ignored
    let data: String = raw
        .watermark_data
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    match (path.is_empty(), data.is_empty()) {
        (true, true) => None,
        (false, false) => {
            p.add(
                "processing.watermark_data",
                "set either watermark_path or watermark_data, not both",
            );
            None
        }
        (false, true) => Some(WatermarkSource::Path(PathBuf::from(path))),
        (true, false) => match base64::engine::general_purpose::STANDARD.decode(&data) {
            Ok(bytes) => Some(WatermarkSource::Data(bytes)),
            Err(e) => {
                p.add("processing.watermark_data", format!("not base64: {e}"));
                None
            }
        },
    }
}

/// Largest cache or budget accepted, in MB: 1 TiB, far above any real machine, low
/// enough that the byte arithmetic cannot overflow.
const MAX_MB: u64 = 1 << 20;

fn validate_limits(
    p: &mut Problems,
    cache: &RawCache,
    raw: &RawLimits,
) -> (CacheConfig, LimitsConfig) {
    for (key, mb) in [
        ("cache.size_mb", cache.size_mb),
        ("cache.decoded_mb", cache.decoded_mb),
    ] {
        if mb > MAX_MB {
            p.add(key, format!("must be at most {MAX_MB}, got {mb}"));
        }
    }
    if raw.workers > 1024 {
        p.add(
            "limits.workers",
            format!(
                "must be between 0 (one per core) and 1024, got {}",
                raw.workers
            ),
        );
    }
    if !(1..=MAX_MB).contains(&raw.memory_budget_mb) {
        p.add(
            "limits.memory_budget_mb",
            format!(
                "must be between 1 and {MAX_MB}, got {}",
                raw.memory_budget_mb
            ),
        );
    }
    for (key, d) in [
        ("limits.queue_timeout", raw.queue_timeout),
        ("limits.request_timeout", raw.request_timeout),
    ] {
        if d.0.is_zero() {
            p.add(key, "must be greater than zero");
        }
    }
    validate_warm(p, raw);
    const MB: u64 = 1024 * 1024;
    (
        CacheConfig {
            capacity_bytes: cache.size_mb.min(MAX_MB) * MB,
            source_version_ttl: cache.source_version_ttl.0,
            decoded_bytes: cache.decoded_mb.min(MAX_MB) * MB,
        },
        LimitsConfig {
            workers: raw.workers,
            memory_budget_bytes: raw.memory_budget_mb.min(MAX_MB) * MB,
            queue_timeout: raw.queue_timeout.0,
            request_timeout: raw.request_timeout.0,
            warm_queue: raw.warm_queue,
            warm_max_paths: raw.warm_max_paths,
            warm_max_body_bytes: raw.warm_max_body_bytes,
        },
    )
}

/// Upper bounds far above any real use, low enough that a typo (an extra zero or
/// three) cannot let warm-up hold unbounded memory.
const MAX_WARM_QUEUE: usize = 1_000_000;
const MAX_WARM_BODY: usize = 64 << 20;

fn validate_warm(p: &mut Problems, raw: &RawLimits) {
    if !(1..=MAX_WARM_QUEUE).contains(&raw.warm_queue) {
        p.add(
            "limits.warm_queue",
            format!(
                "must be between 1 and {MAX_WARM_QUEUE}, got {}",
                raw.warm_queue
            ),
        );
    }
    // A request with more paths than the queue holds could never be accepted.
    if raw.warm_max_paths == 0 || raw.warm_max_paths > raw.warm_queue {
        p.add(
            "limits.warm_max_paths",
            format!(
                "must be between 1 and limits.warm_queue ({}), got {}",
                raw.warm_queue, raw.warm_max_paths
            ),
        );
    }
    if !(1..=MAX_WARM_BODY).contains(&raw.warm_max_body_bytes) {
        p.add(
            "limits.warm_max_body_bytes",
            format!(
                "must be between 1 and {MAX_WARM_BODY}, got {}",
                raw.warm_max_body_bytes
            ),
        );
    }
}

/// `""` (no CORS), `*`, or one `http(s)://host[:port]` origin: the header carries a
/// single value, and a fixed one needs no `Vary: Origin` (see docs/cdn.md).
fn validate_origin(p: &mut Problems, text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let host = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let is_origin = host.is_some_and(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    });
    if text == "*" || is_origin {
        Some(text.to_string())
    } else {
        p.add(
            "delivery.cors_allow_origin",
            format!(
                "must be `*` or one origin like `https://app.example.com` (no path, no list), got `{text}`"
            ),
        );
        None
    }
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    // host names such as localhost:8080
    match text.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("`{text}` resolves to no address")),
        Err(_) => Err(format!("`{text}` is not a host:port address")),
    }
}

fn parse_hex_list(p: &mut Problems, key: &str, text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, item) in text.split(',').map(str::trim).enumerate() {
        if item.is_empty() {
            if !text.trim().is_empty() {
                p.add(key, format!("entry {} is empty", i + 1));
            }
            continue;
        }
        match hex::decode(item) {
            Ok(bytes) => out.push(bytes),
            Err(e) => p.add(key, format!("entry {} is not valid hex ({e})", i + 1)),
        }
    }
    out
}
