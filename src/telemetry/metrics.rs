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

use crate::limits::AdmissionStats;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    /// The standard methods by name, anything else as `other` (bounded cardinality,
    /// and no allocation per request).
    pub method: &'static str,
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LaneLabels {
    pub lane: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub stage: &'static str,
}

/// Pipeline stages of `aperture_processing_seconds`.
pub const STAGES: [&str; 4] = ["fetch", "decode", "resize", "encode"];

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
    /// Variant cache and admission (issue 5); see [`Processing`].
    pub processing: Processing,
}

/// The variant cache's and admission control's metrics. The cache keeps its own
/// counters (they must count runs whose callers all left); [`Processing::sync_cache`]
/// copies them in at scrape time, as it does the gauges.
pub struct Processing {
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub coalesced: Counter,
    pub cache_bytes: Gauge,
    pub decoded_hits: Counter,
    pub decoded_bytes: Gauge,
    pub rejected: Family<ReasonLabels, Counter>,
    pub memory_reserved_bytes: Gauge,
    pub workers_busy: Gauge,
    pub queue_waiting: Family<LaneLabels, Gauge>,
    pub queue_wait_seconds: Histogram,
    pub stage_seconds: Family<StageLabels, Histogram, fn() -> Histogram>,
    /// Serializes `sync_cache`, so two scrapes cannot add the same delta twice.
    sync: std::sync::Mutex<()>,
}

impl Processing {
    fn register(registry: &mut Registry) -> Processing {
        let p = Processing {
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            coalesced: Counter::default(),
            cache_bytes: Gauge::default(),
            decoded_hits: Counter::default(),
            decoded_bytes: Gauge::default(),
            rejected: Family::default(),
            memory_reserved_bytes: Gauge::default(),
            workers_busy: Gauge::default(),
            queue_waiting: Family::default(),
            queue_wait_seconds: latency_histogram(),
            stage_seconds: Family::new_with_constructor(latency_histogram),
            sync: std::sync::Mutex::new(()),
        };
        registry.register(
            "cache_hits",
            "Processed requests answered from the variant cache",
            p.cache_hits.clone(),
        );
        registry.register(
            "cache_misses",
            "Variant cache misses that ran the pipeline (one per run, however many waited)",
            p.cache_misses.clone(),
        );
        registry.register(
            "coalesced",
            "Requests that waited on another request's in-flight pipeline run",
            p.coalesced.clone(),
        );
        registry.register(
            "cache_bytes",
            "Bytes held by the variant cache (bodies plus per-entry overhead)",
            p.cache_bytes.clone(),
        );
        registry.register(
            "decoded_cache_hits",
            "Pipeline runs that reused a sibling variant's decoded source",
            p.decoded_hits.clone(),
        );
        registry.register(
            "decoded_cache_bytes",
            "Bytes of decoded source pixels kept for sibling variants",
            p.decoded_bytes.clone(),
        );
        registry.register(
            "rejected",
            "Processing refused: queue_timeout, deadline, too_large, queue_full",
            p.rejected.clone(),
        );
        registry.register(
            "memory_reserved_bytes",
            "Memory reserved from the budget by image jobs and their sources in flight",
            p.memory_reserved_bytes.clone(),
        );
        registry.register(
            "workers_busy",
            "Image jobs running on the worker pool now",
            p.workers_busy.clone(),
        );
        registry.register(
            "queue_waiting",
            "Image jobs waiting for memory or a worker now, by lane (live, warm)",
            p.queue_waiting.clone(),
        );
        registry.register(
            "queue_wait_seconds",
            "Time an image job waited for memory and a worker before it started",
            p.queue_wait_seconds.clone(),
        );
        registry.register(
            "processing_seconds",
            "Time spent per pipeline stage: fetch, decode, resize, encode",
            p.stage_seconds.clone(),
        );
        p
    }

    pub fn reject(&self, reason: &'static str) {
        self.rejected.get_or_create(&ReasonLabels { reason }).inc();
    }

    pub fn stage(&self, stage: &'static str, took: std::time::Duration) {
        self.stage_seconds
            .get_or_create(&StageLabels { stage })
            .observe(took.as_secs_f64());
    }

    /// The decoded-source cache's totals (see `cache::decoded`), at scrape time.
    pub fn sync_decoded(&self, hits: u64, bytes: u64) {
        let _one = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        self.decoded_hits
            .inc_by(hits.saturating_sub(self.decoded_hits.get()));
        self.decoded_bytes.set(bytes as i64);
    }

    /// Brings the counters up to the cache's own totals and sets the gauges.
    pub fn sync_cache(&self, stats: crate::cache::CacheStats, admission: AdmissionStats) {
        let _one = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        for (counter, total) in [
            (&self.cache_hits, stats.hits),
            (&self.cache_misses, stats.misses),
            (&self.coalesced, stats.coalesced),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        self.cache_bytes.set(stats.bytes as i64);
        self.memory_reserved_bytes
            .set(admission.reserved_bytes as i64);
        self.workers_busy.set(admission.busy_workers as i64);
        for (lane, waiting) in [
            ("live", admission.live_waiting),
            ("warm", admission.warm_waiting),
        ] {
            self.queue_waiting
                .get_or_create(&LaneLabels { lane })
                .set(waiting as i64);
        }
    }
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
        let processing = Processing::register(&mut registry);
        Metrics {
            processing,
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
                method: "GET",
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

    #[test]
    fn cache_counters_follow_the_cache_without_double_counting() {
        let m = Metrics::new();
        let stats = crate::cache::CacheStats {
            hits: 5,
            misses: 2,
            coalesced: 3,
            entries: 2,
            bytes: 4096,
        };
        let admission = AdmissionStats {
            live_waiting: 4,
            warm_waiting: 0,
            busy_workers: 2,
            reserved_bytes: 1024,
        };
        m.processing.sync_cache(stats, admission);
        m.processing.sync_cache(stats, admission);
        m.processing.reject("queue_timeout");
        m.processing
            .stage("decode", std::time::Duration::from_millis(3));
        let text = m.encode();
        for line in [
            "aperture_cache_hits_total 5",
            "aperture_cache_misses_total 2",
            "aperture_coalesced_total 3",
            "aperture_cache_bytes 4096",
            "aperture_memory_reserved_bytes 1024",
            "aperture_workers_busy 2",
            "aperture_queue_waiting{lane=\"live\"} 4",
            "aperture_queue_waiting{lane=\"warm\"} 0",
            "aperture_rejected_total{reason=\"queue_timeout\"} 1",
            "aperture_processing_seconds_count{stage=\"decode\"} 1",
            "# TYPE aperture_queue_wait_seconds histogram",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }
}
