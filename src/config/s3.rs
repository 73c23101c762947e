//! The `[s3]` section: its serde shape, its typed form ([`S3Settings`]) and its
//! validation. Only local checks happen here (names, URLs, numbers): nothing contacts AWS
//! and no credentials are needed to load a configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::validate::Problems;
use super::values::{Seconds, StringList, Stringish};

/// Longest validity SigV4 allows for a presigned URL (7 days); longer settings are capped.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct S3Settings {
    /// s3:// URLs are served; when false they get 422.
    pub enabled: bool,
    /// `None` = the provider chain's (AWS_REGION, profile, IMDS), else us-east-1.
    pub region: Option<String>,
    /// Custom endpoint for S3-compatible stores; `None` = AWS.
    pub endpoint: Option<String>,
    pub force_path_style: bool,
    /// Empty = every bucket.
    pub allowed_buckets: Vec<String>,
    pub buckets: BTreeMap<String, BucketSettings>,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub total_timeout: Duration,
    pub max_attempts: u32,
    pub presign_expiry: Duration,
    /// Explicit credentials for embedders and tests. Files and the environment never set
    /// this; `None` = the standard AWS provider chain (AWS_ACCESS_KEY_ID, profiles, web
    /// identity, ECS, IMDS).
    pub credentials: Option<StaticCredentials>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketSettings {
    pub region: Option<String>,
    pub endpoint: Option<String>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never print the secret
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawS3 {
    enabled: bool,
    #[serde(default)]
    region: Option<Stringish>,
    #[serde(default)]
    endpoint: Option<Stringish>,
    #[serde(default)]
    force_path_style: Option<bool>,
    allowed_buckets: StringList,
    #[serde(default)]
    buckets: BTreeMap<String, RawBucket>,
    connect_timeout: Seconds,
    first_byte_timeout: Seconds,
    total_timeout: Seconds,
    max_attempts: i64,
    presign_expiry: Seconds,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBucket {
    #[serde(default)]
    region: Option<Stringish>,
    #[serde(default)]
    endpoint: Option<Stringish>,
}

fn non_empty(v: Option<Stringish>) -> Option<String> {
    v.map(|s| s.0.trim().to_owned()).filter(|s| !s.is_empty())
}

pub(super) fn validate(p: &mut Problems, raw: RawS3) -> S3Settings {
    let region = non_empty(raw.region);
    if let Some(r) = &region {
        check_region(p, "s3.region", r);
    }
    let endpoint = non_empty(raw.endpoint);
    if let Some(e) = &endpoint {
        check_endpoint(p, "s3.endpoint", e);
    }
    for b in &raw.allowed_buckets.0 {
        if let Err(e) = crate::source::s3::validate_bucket(b) {
            p.add("s3.allowed_buckets", e);
        }
    }
    let mut buckets = BTreeMap::new();
    for (name, o) in raw.buckets {
        let key = format!("s3.buckets.{name}");
        if let Err(e) = crate::source::s3::validate_bucket(&name) {
            p.add(&key, e);
        }
        let o = BucketSettings {
            region: non_empty(o.region),
            endpoint: non_empty(o.endpoint),
        };
        if let Some(r) = &o.region {
            check_region(p, &format!("{key}.region"), r);
        }
        if let Some(e) = &o.endpoint {
            check_endpoint(p, &format!("{key}.endpoint"), e);
        }
        buckets.insert(name, o);
    }
    for (key, d) in [
        ("s3.connect_timeout", raw.connect_timeout),
        ("s3.first_byte_timeout", raw.first_byte_timeout),
        ("s3.total_timeout", raw.total_timeout),
        ("s3.presign_expiry", raw.presign_expiry),
    ] {
        if d.0.is_zero() {
            p.add(key, "must be greater than zero");
        }
    }
    // X-Amz-Expires counts whole seconds: `1ms` would presign links dead on arrival
    if !raw.presign_expiry.0.is_zero() && raw.presign_expiry.0 < std::time::Duration::from_secs(1) {
        p.add("s3.presign_expiry", "must be at least 1s");
    }
    if !(1..=10).contains(&raw.max_attempts) {
        p.add(
            "s3.max_attempts",
            format!("must be between 1 and 10, got {}", raw.max_attempts),
        );
    }
    // Path-style is what S3-compatible stores (MinIO, SeaweedFS, R2...) expect, and
    // virtual-hosted style what AWS prefers, so the default follows the endpoint.
    let force_path_style = raw.force_path_style.unwrap_or(endpoint.is_some());
    S3Settings {
        enabled: raw.enabled,
        region,
        endpoint,
        force_path_style,
        allowed_buckets: raw.allowed_buckets.0,
        buckets,
        connect_timeout: raw.connect_timeout.0,
        first_byte_timeout: raw.first_byte_timeout.0,
        total_timeout: raw.total_timeout.0,
        max_attempts: raw.max_attempts.clamp(1, 10) as u32,
        presign_expiry: raw.presign_expiry.0.min(MAX_PRESIGN_EXPIRY),
        credentials: None,
    }
}

fn check_region(p: &mut Problems, key: &str, region: &str) {
    let ok = region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        p.add(
            key,
            format!("`{region}` is not a region name (like `eu-central-1`)"),
        );
    }
}

fn check_endpoint(p: &mut Problems, key: &str, endpoint: &str) {
    let valid = crate::source::s3::validate_endpoint(endpoint).is_ok()
        && http::Uri::try_from(endpoint).is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty()));
    if !valid {
        p.add(
            key,
            format!("`{endpoint}` is not an http:// or https:// URL with a host"),
        );
    }
}
