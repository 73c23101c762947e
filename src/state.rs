//! The state every request shares: configuration, URL signer, presets, sources and
//! metrics. Built once by [`App::new`]; nothing lives in statics.

use std::sync::Arc;

use crate::config::Config;
use crate::options::Presets;
use crate::source::Sources;
use crate::source::local::LocalSource;
use crate::telemetry::metrics::Metrics;
use crate::url::signature::Signer;

pub struct App {
    pub config: Config,
    pub signer: Signer,
    pub presets: Presets,
    pub sources: Arc<Sources>,
    pub metrics: Arc<Metrics>,
}

impl App {
    /// Builds the shared state; an error here is a configuration problem, reported as
    /// one line naming the setting.
    pub fn new(config: Config) -> Result<App, String> {
        let sec = &config.security;
        let signer = Signer::new(sec.pairs.clone(), sec.signature_size, sec.allow_insecure);
        let presets = Presets::parse(&config.presets)
            .map_err(|e| format!("options.presets (APERTURE_PRESETS): {e}"))?;
        let local = LocalSource::new(&config.sources.local_root).map_err(|e| {
            format!(
                "sources.local_root (APERTURE_LOCAL_ROOT): `{}`: {e}",
                config.sources.local_root.display()
            )
        })?;
        Ok(App {
            signer,
            presets,
            sources: Arc::new(Sources { local }),
            metrics: Arc::new(Metrics::new()),
            config,
        })
    }
}
