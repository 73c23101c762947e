//! Logs and metrics: tracing setup, and the per-request record that becomes one access
//! log line and the request metrics when the response's last byte is sent.
//!
//! Signed URLs are bearer tokens for one variant, so the logged path drops the
//! signature segment and the query; keys, salts and AWS credentials are never logged
//! (nothing here or in the error lines formats the configuration, and presigned
//! redirect URLs go only into the response). `tests/it/headers.rs` checks the log
//! of real requests for them.

pub mod metrics;
pub mod request_id;
pub mod timing;

use std::sync::Arc;
use std::time::Instant;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetryConfig};
use metrics::{Metrics, RequestLabels, RouteLabels};

/// Installs the global tracing subscriber. `RUST_LOG` wins over the configured level.
pub fn init(config: &TelemetryConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(std::io::stdout);
    // try_init: a second call (tests) keeps the first subscriber.
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
}

/// The path as logged: the signature segment replaced, so logs hold no usable URL.
pub fn redact_path(path: &str) -> String {
    RedactedPath(path).to_string()
}

/// [`redact_path`] as a `Display`, so the work happens only when a line is written.
struct RedactedPath<'a>(&'a str);

impl std::fmt::Display for RedactedPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.0;
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        match trimmed.split_once('/') {
            Some((_sig, rest)) if !rest.is_empty() => write!(f, "/-/{rest}"),
            _ => f.write_str(path),
        }
    }
}

/// One request's record; written out (log line + metrics) when dropped, which is when
/// hyper is done with the response body.
pub struct RequestLog {
    metrics: Arc<Metrics>,
    request_id: String,
    route: &'static str,
    method: http::Method,
    /// Redacted when written: a `Uri` clone shares the request's bytes.
    uri: http::Uri,
    status: u16,
    bytes: u64,
    started: Instant,
    aborted: Option<String>,
    /// Body bytes the response announced; fewer sent without `aborted` means the client
    /// closed the connection first.
    expected: u64,
    timing: timing::Timing,
}

impl RequestLog {
    pub fn new(
        metrics: Arc<Metrics>,
        request_id: String,
        route: &'static str,
        method: http::Method,
        uri: http::Uri,
        started: Instant,
    ) -> RequestLog {
        RequestLog {
            metrics,
            request_id,
            route,
            method,
            uri,
            status: 0,
            bytes: 0,
            started,
            aborted: None,
            expected: 0,
            timing: timing::Timing::default(),
        }
    }

    /// The cache status and source fetch time the handler measured.
    pub fn set_timing(&mut self, timing: timing::Timing) {
        self.timing = timing;
    }

    pub fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    pub fn add_bytes(&mut self, n: u64) {
        self.bytes += n;
    }

    pub fn set_expected_bytes(&mut self, n: u64) {
        self.expected = n;
    }

    pub fn aborted(&mut self, why: &dyn std::fmt::Display) {
        self.aborted = Some(why.to_string());
    }
}

/// The metrics label of a method: its name when standard, else `other`.
fn method_label(method: &http::Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|k| *k == method.as_str())
        .unwrap_or("other")
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let ms = elapsed.as_secs_f64() * 1000.0;
        let cache = timing::cache_label(self.timing.cache);
        let fetch_ms = timing::ms_or_dash(self.timing.fetch);
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                route: self.route,
                method: method_label(&self.method),
                status: self.status,
            })
            .inc();
        let labels = RouteLabels {
            route: self.route,
            status: self.status,
        };
        self.metrics
            .request_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.metrics
            .response_bytes
            .get_or_create(&labels)
            .inc_by(self.bytes);
        match &self.aborted {
            None if self.bytes < self.expected => tracing::info!(
                request_id = %self.request_id,
                method = %self.method,
                path = %RedactedPath(self.uri.path()),
                status = self.status,
                bytes = self.bytes,
                unsent = self.expected - self.bytes,
                ms = format_args!("{ms:.2}"),
                cache = %cache,
                fetch_ms = %fetch_ms,
                "request ended by the client before the last byte"
            ),
            None => tracing::info!(
                request_id = %self.request_id,
                method = %self.method,
                path = %RedactedPath(self.uri.path()),
                status = self.status,
                bytes = self.bytes,
                ms = format_args!("{ms:.2}"),
                cache = %cache,
                fetch_ms = %fetch_ms,
                "request"
            ),
            Some(why) => {
                self.metrics.aborted_bodies.inc();
                tracing::warn!(
                    request_id = %self.request_id,
                    method = %self.method,
                    path = %RedactedPath(self.uri.path()),
                    status = self.status,
                    bytes = self.bytes,
                    ms = format_args!("{ms:.2}"),
                    cache = %cache,
                    fetch_ms = %fetch_ms,
                    error = %why,
                    "request aborted mid-body"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_redacted() {
        assert_eq!(
            redact_path("/abcSIG/raw:1/plain/local:///a.jpg"),
            "/-/raw:1/plain/local:///a.jpg"
        );
        assert_eq!(redact_path("/health"), "/health");
        assert_eq!(redact_path("/"), "/");
    }
}
