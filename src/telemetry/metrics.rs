//! Every metric's name and help text in one place, and the `/metrics` encoding.
//!
//! The registry is a plain value owned by the app state (no globals), so tests can run
//! several servers in one process without their counters mixing.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub kind: String,
    pub fault: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub response_bytes: Family<RouteLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub aborted_bodies: Counter,
    pub open_connections: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("aperture");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to last body byte, by route and status",
            request_seconds.clone(),
        );
        let response_bytes = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_response_body_bytes",
            "Body bytes sent, by route and status",
            response_bytes.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "errors",
            "Error responses by kind and fault (client, source, server)",
            errors.clone(),
        );
        let aborted_bodies = Counter::default();
        registry.register(
            "aborted_bodies",
            "Responses whose body failed after the headers were sent (connection aborted)",
            aborted_bodies.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "Client connections currently open",
            open_connections.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            response_bytes,
            errors,
            aborted_bodies,
            open_connections,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_request_counters() {
        let m = Metrics::new();
        m.requests
            .get_or_create(&RequestLabels {
                route: "image",
                method: "GET".into(),
                status: 200,
            })
            .inc();
        m.request_seconds
            .get_or_create(&RouteLabels {
                route: "image",
                status: 200,
            })
            .observe(0.01);
        let text = m.encode();
        assert!(
            text.contains(
                "aperture_http_requests_total{route=\"image\",method=\"GET\",status=\"200\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE aperture_http_request_duration_seconds histogram"));
    }
}
