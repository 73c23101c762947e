//! The state every request shares: configuration, URL signer, presets, sources,
//! metrics, the variant cache and admission control. Built once by [`App::new`];
//! nothing lives in statics.

use std::sync::Arc;

use crate::cache::{DecodedCache, VariantCache};
use crate::config::{Config, S3Settings, WatermarkSource};
use crate::limits::{Admission, AdmissionConfig, Lane, MemoryBudget, WaitObserver, WarmQueue};
use crate::options::Presets;
use crate::pipeline::{Settings, WatermarkImage};
use crate::server::resolved::ResolvedPaths;
use crate::source::Sources;
use crate::source::local::LocalSource;
use crate::source::s3::{BucketOverride, LazyS3, S3Config};
use crate::source::versions::SourceVersions;
use crate::telemetry::metrics::Metrics;
use crate::url::signature::Signer;

pub struct App {
    pub config: Config,
    pub signer: Signer,
    pub presets: Presets,
    pub sources: Arc<Sources>,
    pub metrics: Arc<Metrics>,
    /// Encoded variants (`APERTURE_CACHE_MB`).
    pub cache: VariantCache,
    /// Sources' recent versions, for processed lookups (`APERTURE_SOURCE_VERSION_TTL`).
    pub versions: SourceVersions,
    /// Decoded source pixels shared by sibling variants (`APERTURE_DECODED_CACHE_MB`).
    pub decoded: DecodedCache,
    /// Image paths already parsed (`server::resolved`).
    pub resolved: ResolvedPaths,
    /// Memory budget and CPU workers for image jobs (`[limits]`).
    pub admission: Admission,
    /// `POST /warm` paths pending (`APERTURE_WARM_QUEUE`).
    pub warm: WarmQueue,
    /// The configured watermark image, decoded at start (`APERTURE_WATERMARK_PATH`/
    /// `_DATA`); `None` = `wm` answers 501.
    pub watermark: Option<Arc<WatermarkImage>>,
}

impl App {
    /// Builds the shared state; an error here is a configuration problem, reported as
    /// one line naming the setting.
    pub fn new(config: Config) -> Result<App, String> {
        let sec = &config.security;
        let signer = Signer::new(sec.pairs.clone(), sec.signature_size, sec.allow_insecure);
        let presets = config.parse_presets()?;
        let local = LocalSource::new(&config.sources.local_root).map_err(|e| {
            format!(
                "sources.local_root (APERTURE_LOCAL_ROOT): `{}`: {e}",
                config.sources.local_root.display()
            )
        })?;
        let watermark = load_watermark(&config)?.map(Arc::new);
        let metrics = Arc::new(Metrics::new());
        let lim = &config.limits;
        let mut admission_config = AdmissionConfig::new(lim.workers);
        admission_config.queue_timeout = lim.queue_timeout;
        // A quarter of the budget for sources waiting to be admitted, the rest for
        // admitted jobs (whose estimates count their sources again): see
        // `Admission::reserve_source` and docs/memory.md.
        let source_share = lim.memory_budget_bytes / 4;
        admission_config.source_budget_bytes = source_share;
        // Once the process is larger than the job budget alone, part of it is pages
        // malloc keeps: workers hand them back after each job (`limits::workers`;
        // at budget + cache instead, a harsh mix still peaked at 461-504 MB of 512).
        admission_config.trim_above_bytes = Some(lim.memory_budget_bytes);
        // As many warm runs in flight as the admission lets run: more would only wait
        // inside the cache, where live requests could coalesce onto them.
        let warm = WarmQueue::new(lim.warm_queue, admission_config.warm_workers);
        let observed = metrics.clone();
        let on_wait: WaitObserver = Arc::new(move |lane, waited| {
            // Warm-up waits are low priority by design; they would drown the live figure.
            if lane == Lane::Live {
                observed
                    .processing
                    .queue_wait_seconds
                    .observe(waited.as_secs_f64());
            }
        });
        let admission = Admission::new(
            admission_config,
            MemoryBudget::new(lim.memory_budget_bytes - source_share),
            Some(on_wait),
        );
        // The decoded-source cache is a share of APERTURE_CACHE_MB (at most half), not
        // memory on top of it: the ceiling stays budget + cache (docs/memory.md).
        let decoded_bytes = config
            .cache
            .decoded_bytes
            .min(config.cache.capacity_bytes / 2);
        Ok(App {
            cache: VariantCache::new(config.cache.capacity_bytes - decoded_bytes, None),
            versions: SourceVersions::new(config.cache.source_version_ttl),
            decoded: DecodedCache::new(decoded_bytes),
            resolved: ResolvedPaths::default(),
            admission,
            warm,
            watermark,
            signer,
            presets,
            sources: Arc::new(Sources {
                local,
                s3: config.s3.enabled.then(|| s3_backend(&config.s3)),
            }),
            metrics,
            config,
        })
    }

    /// What the pipeline needs: `[processing]`'s settings and the watermark image.
    pub fn pipeline_settings(&self) -> Settings {
        Settings {
            watermark: self.watermark.clone(),
            ..self.config.processing.pipeline_settings()
        }
    }

    /// Copies the cache's and the budget's figures into the metrics (at scrape time).
    pub async fn sync_metrics(&self) {
        self.cache.run_pending_tasks().await;
        self.metrics
            .processing
            .sync_cache(self.cache.stats(), self.admission.stats());
        self.metrics
            .processing
            .sync_decoded(self.decoded.hits(), self.decoded.weighted_size());
    }
}

/// The configured watermark image, read and decoded; an error is one line naming the
/// key.
fn load_watermark(config: &Config) -> Result<Option<WatermarkImage>, String> {
    let processing = &config.processing;
    let max_pixels = processing.pipeline_settings().max_src_pixels;
    let (key, bytes) = match &processing.watermark {
        None => return Ok(None),
        Some(WatermarkSource::Data(bytes)) => (
            "processing.watermark_data (APERTURE_WATERMARK_DATA)".to_string(),
            std::borrow::Cow::Borrowed(bytes.as_slice()),
        ),
        Some(WatermarkSource::Path(path)) => {
            let key = format!(
                "processing.watermark_path (APERTURE_WATERMARK_PATH): `{}`",
                path.display()
            );
            let bytes = std::fs::read(path).map_err(|e| format!("{key}: {e}"))?;
            (key, std::borrow::Cow::Owned(bytes))
        }
    };
    WatermarkImage::decode(&bytes, processing.watermark_opacity, max_pixels)
        .map(Some)
        .map_err(|e| format!("{key}: not a usable image: {e}"))
}

/// The S3 backend for the validated settings; its clients are built on first use.
fn s3_backend(s: &S3Settings) -> LazyS3 {
    let config = S3Config {
        region: s.region.clone(),
        endpoint: s.endpoint.clone(),
        force_path_style: s.force_path_style,
        buckets: s
            .buckets
            .iter()
            .map(|(name, b)| {
                let o = BucketOverride {
                    region: b.region.clone(),
                    endpoint: b.endpoint.clone(),
                };
                (name.clone(), o)
            })
            .collect(),
        allowed_buckets: s.allowed_buckets.clone(),
        connect_timeout: s.connect_timeout,
        first_byte_timeout: s.first_byte_timeout,
        total_timeout: s.total_timeout,
        presign_expiry: s.presign_expiry,
        max_attempts: s.max_attempts,
    };
    let credentials = s.credentials.as_ref().map(|c| {
        aws_sdk_s3::config::Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            c.session_token.clone(),
            None,
            "aperture-config",
        )
    });
    LazyS3::new(config, credentials)
}
