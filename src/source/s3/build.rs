//! Building the SDK clients of [`S3Source`]: per event loop (`io_lane`) one HTTP client
//! (rustls + ring, one connection pool) and one S3 client per distinct (region, endpoint),
//! and the checks that keep a bad bucket name or endpoint away from the SDK.

use std::collections::{HashMap, HashSet};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::SharedHttpClient;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, SharedCredentialsProvider, StalledStreamProtectionConfig,
};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::{FALLBACK_REGION, MAX_PRESIGN_EXPIRY, S3Config, S3Source};

impl S3Source {
    pub(super) async fn build(
        cfg: &S3Config,
        credentials: Option<SharedCredentialsProvider>,
    ) -> Result<S3Source, String> {
        for (name, d) in [
            ("connect_timeout", cfg.connect_timeout),
            ("first_byte_timeout", cfg.first_byte_timeout),
            ("total_timeout", cfg.total_timeout),
        ] {
            if d.is_zero() {
                return Err(format!("s3: {name} must be greater than zero"));
            }
        }
        for bucket in &cfg.allowed_buckets {
            validate_bucket(bucket).map_err(|e| format!("s3: allowed bucket: {e}"))?;
        }
        for (bucket, o) in &cfg.buckets {
            validate_bucket(bucket).map_err(|e| format!("s3: bucket override: {e}"))?;
            if let Some(e) = &o.endpoint {
                validate_endpoint(e)?;
            }
        }
        if let Some(e) = &cfg.endpoint {
            validate_endpoint(e)?;
        }

        // Without aws-sdk-s3's default-https-client feature there is no implicit HTTP client.
        // Each event loop gets its own (its own connection pool, see `io_lane`); lane 0's
        // also serves the config loader (IMDS, STS).
        let https = || {
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https()
        };
        let lane_http: Vec<_> = (0..crate::io_lane::count()).map(|_| https()).collect();
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).http_client(lane_http[0].clone());
        if let Some(region) = &cfg.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(credentials) = credentials {
            loader = loader.credentials_provider(credentials);
        }
        let shared = loader.load().await;
        let default_region = cfg
            .region
            .clone()
            .or_else(|| shared.region().map(|r| r.to_string()))
            .unwrap_or_else(|| {
                tracing::info!("s3: no region configured or found; using {FALLBACK_REGION}");
                FALLBACK_REGION.to_owned()
            });

        let timeouts = TimeoutConfig::builder()
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.first_byte_timeout)
            .operation_timeout(cfg.total_timeout)
            .build();
        let retry = RetryConfig::standard().with_max_attempts(cfg.max_attempts.max(1));

        let mut keys: Vec<(String, Option<String>)> = Vec::new();
        let mut key_index = |key: (String, Option<String>)| -> usize {
            if let Some(i) = keys.iter().position(|k| *k == key) {
                i
            } else {
                keys.push(key);
                keys.len() - 1
            }
        };
        let default_client = key_index((default_region.clone(), cfg.endpoint.clone()));
        let mut bucket_client = HashMap::new();
        for (bucket, o) in &cfg.buckets {
            let key = (
                o.region.clone().unwrap_or_else(|| default_region.clone()),
                o.endpoint.clone().or_else(|| cfg.endpoint.clone()),
            );
            bucket_client.insert(bucket.clone(), key_index(key));
        }
        let client = |http: &SharedHttpClient, (region, endpoint): &(String, Option<String>)| {
            let mut b = aws_sdk_s3::config::Builder::from(&shared)
                .http_client(http.clone())
                .region(Region::new(region.clone()))
                .force_path_style(cfg.force_path_style)
                .timeout_config(timeouts.clone())
                .retry_config(retry.clone())
                // the body's own idle timeout (first_byte_timeout per chunk) replaces the
                // SDK's throughput check, which would also count a slow downstream client
                .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
            if let Some(endpoint) = endpoint {
                b = b.endpoint_url(endpoint.clone());
            }
            Client::from_conf(b.build())
        };
        let lanes = lane_http
            .iter()
            .map(|http| keys.iter().map(|key| client(http, key)).collect())
            .collect();

        tracing::debug!(clients = ?keys, default = default_client, "s3: clients built");
        let allowed = (!cfg.allowed_buckets.is_empty())
            .then(|| cfg.allowed_buckets.iter().cloned().collect::<HashSet<_>>());
        Ok(S3Source {
            lanes,
            client_keys: keys,
            default_client,
            bucket_client,
            allowed,
            idle_timeout: cfg.first_byte_timeout,
            presign_expiry: if cfg.presign_expiry.is_zero() {
                S3Config::default().presign_expiry
            } else {
                cfg.presign_expiry.min(MAX_PRESIGN_EXPIRY)
            },
        })
    }
}

/// `http://` or `https://` only.
pub fn validate_endpoint(e: &str) -> Result<(), String> {
    if e.starts_with("http://") || e.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "s3: endpoint {e:?} must start with http:// or https://"
        ))
    }
}

/// Loose S3 bucket-name check (legacy names with `_` and upper case included): keeps
/// anything that could change the request path or host away from the SDK.
pub fn validate_bucket(bucket: &str) -> Result<(), String> {
    let ok = !bucket.is_empty()
        && bucket.len() <= 255
        && bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && bucket != "."
        && bucket != "..";
    if ok {
        Ok(())
    } else {
        Err(format!("invalid S3 bucket name {bucket:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_and_endpoints() {
        assert!(validate_bucket("my.bucket-1").is_ok());
        assert!(validate_bucket("Legacy_Bucket").is_ok());
        assert!(validate_bucket("a/b").is_err());
        assert!(validate_bucket("..").is_err());
        assert!(validate_bucket("").is_err());
        assert!(validate_endpoint("http://127.0.0.1:9000").is_ok());
        assert!(validate_endpoint("127.0.0.1:9000").is_err());
    }
}
