//! The environment layer: which `APERTURE_*` variable sets which key.
//!
//! The names are flat (`APERTURE_KEY`, not `APERTURE_SECURITY__KEY`) because operators
//! and imgproxy habits expect them so; the table below is the one list of them, and
//! `docs`/README are written from it. An `APERTURE_*` variable that is not in the table
//! is an error, so a typo cannot silently leave a setting at its default.

use std::collections::BTreeMap;

use figment::Figment;
use figment::providers::Serialized;
use figment::value::Value;

/// (environment variable, dotted configuration key)
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("APERTURE_LISTEN", "server.listen"),
    ("APERTURE_IO_THREADS", "server.io_threads"),
    ("APERTURE_MAX_CONNECTIONS", "server.max_connections"),
    ("APERTURE_HEADER_READ_TIMEOUT", "server.header_read_timeout"),
    ("APERTURE_KEEPALIVE_TIMEOUT", "server.keepalive_timeout"),
    ("APERTURE_SHUTDOWN_GRACE", "server.shutdown_grace"),
    ("APERTURE_MAX_URL_BYTES", "server.max_url_bytes"),
    ("APERTURE_MAX_HEADER_BYTES", "server.max_header_bytes"),
    ("APERTURE_KEY", "security.key"),
    ("APERTURE_SALT", "security.salt"),
    ("APERTURE_SIGNATURE_SIZE", "security.signature_size"),
    ("APERTURE_ALLOW_INSECURE", "security.allow_insecure"),
    ("APERTURE_LOCAL_ROOT", "sources.local_root"),
    ("APERTURE_S3_ENABLED", "s3.enabled"),
    ("APERTURE_S3_REGION", "s3.region"),
    ("APERTURE_S3_ENDPOINT", "s3.endpoint"),
    ("APERTURE_S3_FORCE_PATH_STYLE", "s3.force_path_style"),
    ("APERTURE_S3_ALLOWED_BUCKETS", "s3.allowed_buckets"),
    ("APERTURE_S3_CONNECT_TIMEOUT", "s3.connect_timeout"),
    ("APERTURE_S3_FIRST_BYTE_TIMEOUT", "s3.first_byte_timeout"),
    ("APERTURE_S3_TOTAL_TIMEOUT", "s3.total_timeout"),
    ("APERTURE_S3_MAX_ATTEMPTS", "s3.max_attempts"),
    ("APERTURE_S3_PRESIGN_EXPIRY", "s3.presign_expiry"),
    ("APERTURE_CACHE_CONTROL", "delivery.cache_control"),
    (
        "APERTURE_ERROR_CACHE_CONTROL",
        "delivery.error_cache_control",
    ),
    ("APERTURE_MAX_RANGES", "delivery.max_ranges"),
    ("APERTURE_SERVER_TIMING", "delivery.server_timing"),
    ("APERTURE_CORS_ALLOW_ORIGIN", "delivery.cors_allow_origin"),
    ("APERTURE_PRESETS", "options.presets"),
    (
        "APERTURE_MAX_SRC_RESOLUTION",
        "processing.max_src_resolution",
    ),
    ("APERTURE_MAX_SRC_FILE_SIZE", "processing.max_src_file_size"),
    ("APERTURE_QUALITY", "processing.quality"),
    ("APERTURE_FORMAT_QUALITY", "processing.format_quality"),
    ("APERTURE_AUTO_ROTATE", "processing.auto_rotate"),
    (
        "APERTURE_MAX_ANIMATION_FRAMES",
        "processing.max_animation_frames",
    ),
    (
        "APERTURE_MAX_ANIMATION_FRAME_RESOLUTION",
        "processing.max_animation_frame_resolution",
    ),
    ("APERTURE_AUTO_WEBP", "processing.prefer_webp"),
    ("APERTURE_AUTO_AVIF", "processing.prefer_avif"),
    ("APERTURE_WATERMARK_PATH", "processing.watermark_path"),
    ("APERTURE_WATERMARK_DATA", "processing.watermark_data"),
    ("APERTURE_WATERMARK_OPACITY", "processing.watermark_opacity"),
    ("APERTURE_CACHE_MB", "cache.size_mb"),
    ("APERTURE_SOURCE_VERSION_TTL", "cache.source_version_ttl"),
    ("APERTURE_DECODED_CACHE_MB", "cache.decoded_mb"),
    ("APERTURE_WORKERS", "limits.workers"),
    ("APERTURE_MEMORY_BUDGET_MB", "limits.memory_budget_mb"),
    ("APERTURE_QUEUE_TIMEOUT", "limits.queue_timeout"),
    ("APERTURE_REQUEST_TIMEOUT", "limits.request_timeout"),
    ("APERTURE_WARM_QUEUE", "limits.warm_queue"),
    ("APERTURE_WARM_MAX_PATHS", "limits.warm_max_paths"),
    ("APERTURE_WARM_MAX_BODY_BYTES", "limits.warm_max_body_bytes"),
    ("APERTURE_LOG_FORMAT", "telemetry.log_format"),
    ("APERTURE_LOG_LEVEL", "telemetry.log_level"),
];

/// Variables whose value is text, taken as written: guessing would read the hex key
/// `0011` as the number 11 and the folder `0123` as `123`.
const TEXT_VARS: &[&str] = &[
    "APERTURE_LISTEN",
    "APERTURE_KEY",
    "APERTURE_SALT",
    "APERTURE_LOCAL_ROOT",
    "APERTURE_S3_REGION",
    "APERTURE_S3_ENDPOINT",
    "APERTURE_S3_ALLOWED_BUCKETS",
    "APERTURE_CACHE_CONTROL",
    "APERTURE_ERROR_CACHE_CONTROL",
    "APERTURE_CORS_ALLOW_ORIGIN",
    "APERTURE_PRESETS",
    "APERTURE_FORMAT_QUALITY",
    "APERTURE_WATERMARK_PATH",
    "APERTURE_WATERMARK_DATA",
    "APERTURE_LOG_FORMAT",
    "APERTURE_LOG_LEVEL",
];

/// Variables with the prefix that are not settings (set by our own tooling).
const IGNORED: &[&str] = &["APERTURE_TEST_S3"];

/// Merges the `APERTURE_*` entries (and Heroku's `PORT`) into `figment`; returns the
/// names of unknown `APERTURE_*` variables as errors.
pub fn merge_env(mut figment: Figment, env: &BTreeMap<String, String>) -> (Figment, Vec<String>) {
    let mut errors = Vec::new();
    for (name, value) in env {
        if !name.starts_with("APERTURE_") || IGNORED.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        match ENV_KEYS.iter().find(|(n, _)| n == name) {
            Some((_, key)) => {
                // Otherwise the same guessing as figment's own Env provider: "32" is a
                // number, "true" a bool, anything else text.
                let parsed: Value = if TEXT_VARS.contains(&name.as_str()) {
                    Value::from(value.clone())
                } else {
                    value.parse().unwrap_or_else(|e| match e {})
                };
                figment = figment.merge(Serialized::default(key, parsed));
            }
            None => errors.push(format!(
                "{name}: unknown setting (known: see config/default.toml)"
            )),
        }
    }
    if !env.contains_key("APERTURE_LISTEN")
        && let Some(port) = env.get("PORT")
    {
        match port.trim().parse::<u16>() {
            Ok(p) if p > 0 => {
                figment =
                    figment.merge(Serialized::default("server.listen", format!("0.0.0.0:{p}")));
            }
            _ => errors.push(format!(
                "PORT: expected a port number (1-65535), got {port:?}"
            )),
        }
    }
    (figment, errors)
}

/// The environment variable that sets a dotted key, for error messages.
pub fn env_name(key: &str) -> Option<&'static str> {
    ENV_KEYS.iter().find(|(_, k)| *k == key).map(|(n, _)| *n)
}

/// One line for one figment error: the key (and its variable), then the problem.
/// A multi-line message (a TOML parse error quotes the line with a caret under it) as
/// one line: its text lines joined, the quoted source left out.
fn one_line(message: &str) -> String {
    let quoted = |l: &str| {
        let rest = l.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        rest.starts_with('|')
    };
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !quoted(l))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn describe_figment_error(e: &figment::Error) -> String {
    let key = e.path.join(".");
    let what = match &e.kind {
        figment::error::Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {actual}")
        }
        other => one_line(&other.to_string()),
    };
    match env_name(&key) {
        Some(var) => format!("{key} ({var}): {what}"),
        None if key.is_empty() => match e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
            // a file that does not parse: say which
            Some(figment::Source::File(path)) => format!("{}: {what}", path.display()),
            _ => what,
        },
        None => format!("{key}: {what}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_toml_parse_error_is_one_line() {
        let message = "TOML parse error at line 1, column 12\n  |\n1 | server = [\n  |            ^\ninvalid array\nexpected `]`\n";
        assert_eq!(
            super::one_line(message),
            "TOML parse error at line 1, column 12; invalid array; expected `]`"
        );
    }
}
