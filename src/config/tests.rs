//! Table tests for configuration layering and validation.

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let root = env!("CARGO_MANIFEST_DIR").to_string() + "/samples";
    let mut map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.entry("APERTURE_LOCAL_ROOT".into()).or_insert(root);
    map
}

pub(super) fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    Config::load(None, &env(pairs), &CliOverrides::default())
}

#[test]
fn defaults_are_valid_and_insecure_without_a_key() {
    let c = load(&[]).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.security.signature_size, 32);
    assert!(c.security.allow_insecure);
    assert!(c.security.pairs.is_empty());
}

#[test]
fn keys_pair_with_salts_and_disable_insecure() {
    // "736563726574" is hex of "secret": all digits, so figment guesses a number.
    let c = load(&[
        ("APERTURE_KEY", "736563726574,abcd"),
        ("APERTURE_SALT", "68656c6c6f,ef01"),
    ])
    .unwrap();
    assert_eq!(c.security.pairs.len(), 2);
    assert_eq!(c.security.pairs[0].0, b"secret");
    assert_eq!(c.security.pairs[0].1, b"hello");
    assert!(!c.security.allow_insecure);

    let c = load(&[("APERTURE_KEY", "736563726574")]);
    assert!(c.is_err(), "a key without salt is an error");
}

#[test]
fn all_digit_hex_key_survives_number_guessing() {
    let c = load(&[("APERTURE_KEY", "1234"), ("APERTURE_SALT", "5678")]).unwrap();
    assert_eq!(c.security.pairs[0].0, vec![0x12, 0x34]);
}

#[test]
fn text_settings_from_env_are_taken_as_written() {
    // guessed as numbers these would lose their leading zeros (key 0x11, folder "123")
    let c = load(&[("APERTURE_KEY", "0011"), ("APERTURE_SALT", "00")]).unwrap();
    assert_eq!(c.security.pairs[0].0, vec![0x00, 0x11]);
    assert_eq!(c.security.pairs[0].1, vec![0x00]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("0123")).unwrap();
    let root = dir.path().join("0123");
    let c = load(&[("APERTURE_LOCAL_ROOT", root.to_str().unwrap())]).unwrap();
    assert!(
        c.sources.local_root.ends_with("0123"),
        "{:?}",
        c.sources.local_root
    );
}

#[test]
fn only_full_validation_needs_the_local_root() {
    let missing = [("APERTURE_LOCAL_ROOT", "/no/such/dir")];
    let err = load(&missing).unwrap_err().to_string();
    assert!(err.contains("`/no/such/dir` is not a directory"), "{err}");
    let skip = Validation::SkipLocalRoot;
    let c = Config::load_with(None, &env(&missing), &CliOverrides::default(), skip).unwrap();
    assert_eq!(c.sources.local_root, Path::new("/no/such/dir"));
    // Only the lookup is skipped: the value must still be there.
    let empty = env(&[("APERTURE_LOCAL_ROOT", "")]);
    let err = Config::load_with(None, &empty, &CliOverrides::default(), skip).unwrap_err();
    assert!(err.to_string().contains("must not be empty"), "{err}");
}

#[test]
fn port_is_honoured_only_without_listen() {
    let c = load(&[("PORT", "5000")]).unwrap();
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:5000");
    let c = load(&[("PORT", "5000"), ("APERTURE_LISTEN", "127.0.0.1:6000")]).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:6000");
    let e = load(&[("PORT", "abc")]).unwrap_err().to_string();
    assert!(e.contains("PORT: expected a port number"), "{e}");
}

#[test]
fn cli_listen_wins() {
    let cli = CliOverrides {
        listen: Some("127.0.0.1:7000".into()),
    };
    let c = Config::load(None, &env(&[("APERTURE_LISTEN", "127.0.0.1:6000")]), &cli).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:7000");
}

#[test]
fn durations_from_env() {
    let c = load(&[
        ("APERTURE_HEADER_READ_TIMEOUT", "2.5"),
        ("APERTURE_SHUTDOWN_GRACE", "250ms"),
    ])
    .unwrap();
    assert_eq!(c.server.header_read_timeout.as_millis(), 2500);
    assert_eq!(c.server.shutdown_grace.as_millis(), 250);
}

#[test]
fn each_bad_value_names_its_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("APERTURE_SIGNATURE_SIZE", "40")],
            "APERTURE_SIGNATURE_SIZE",
        ),
        (
            &[("APERTURE_SIGNATURE_SIZE", "abc")],
            "APERTURE_SIGNATURE_SIZE",
        ),
        (&[("APERTURE_LISTEN", "not an address")], "APERTURE_LISTEN"),
        (
            &[("APERTURE_KEY", "zz"), ("APERTURE_SALT", "00")],
            "APERTURE_KEY",
        ),
        (
            &[("APERTURE_LOCAL_ROOT", "/no/such/dir")],
            "APERTURE_LOCAL_ROOT",
        ),
        (
            &[("APERTURE_ALLOW_INSECURE", "maybe")],
            "APERTURE_ALLOW_INSECURE",
        ),
        (&[("APERTURE_LOG_FORMAT", "xml")], "APERTURE_LOG_FORMAT"),
        (
            &[("APERTURE_S3_PRESIGN_EXPIRY", "1ms")],
            "APERTURE_S3_PRESIGN_EXPIRY",
        ),
        (
            &[("APERTURE_SHUTDOWN_GRACE", "soon")],
            "APERTURE_SHUTDOWN_GRACE",
        ),
        (&[("APERTURE_TYPO", "1")], "APERTURE_TYPO"),
    ];
    for (pairs, var) in cases {
        let err = load(pairs).expect_err(var).to_string();
        assert!(err.contains(var), "{var}: {err}");
        assert!(
            err.lines().all(|l| l.starts_with("configuration error: ")),
            "{err}"
        );
    }
}

#[test]
fn presets_from_env_are_comma_separated() {
    let c = load(&[("APERTURE_PRESETS", "thumb=rs:fill:100:100,small=w:50")]).unwrap();
    assert_eq!(c.presets, vec!["thumb=rs:fill:100:100", "small=w:50"]);
}

#[test]
fn s3_defaults_need_nothing() {
    let c = load(&[]).unwrap();
    assert!(c.s3.enabled);
    assert_eq!(c.s3.region, None);
    assert_eq!(c.s3.endpoint, None);
    assert!(!c.s3.force_path_style, "AWS: virtual-hosted style");
    assert!(c.s3.allowed_buckets.is_empty());
    assert_eq!(c.s3.presign_expiry.as_secs(), 300);
    assert_eq!(c.s3.max_attempts, 3);
    assert!(c.s3.credentials.is_none());
}

#[test]
fn s3_from_env() {
    let c = load(&[
        ("APERTURE_S3_ENABLED", "false"),
        ("APERTURE_S3_REGION", "eu-central-1"),
        ("APERTURE_S3_ENDPOINT", "http://127.0.0.1:8333"),
        ("APERTURE_S3_ALLOWED_BUCKETS", "images, thumbs"),
        ("APERTURE_S3_CONNECT_TIMEOUT", "500ms"),
        ("APERTURE_S3_FIRST_BYTE_TIMEOUT", "2"),
        ("APERTURE_S3_TOTAL_TIMEOUT", "1m"),
        ("APERTURE_S3_MAX_ATTEMPTS", "1"),
        ("APERTURE_S3_PRESIGN_EXPIRY", "10m"),
    ])
    .unwrap();
    let s = &c.s3;
    assert!(!s.enabled);
    assert_eq!(s.region.as_deref(), Some("eu-central-1"));
    assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
    assert!(
        s.force_path_style,
        "a custom endpoint defaults to path style"
    );
    assert_eq!(s.allowed_buckets, vec!["images", "thumbs"]);
    assert_eq!(s.connect_timeout.as_millis(), 500);
    assert_eq!(s.first_byte_timeout.as_secs(), 2);
    assert_eq!(s.total_timeout.as_secs(), 60);
    assert_eq!(s.max_attempts, 1);
    assert_eq!(s.presign_expiry.as_secs(), 600);

    let c = load(&[
        ("APERTURE_S3_ENDPOINT", "https://minio.example"),
        ("APERTURE_S3_FORCE_PATH_STYLE", "false"),
        ("APERTURE_S3_ALLOWED_BUCKETS", "123"),
        ("APERTURE_S3_PRESIGN_EXPIRY", "999999"),
    ])
    .unwrap();
    assert!(!c.s3.force_path_style);
    assert_eq!(c.s3.allowed_buckets, vec!["123"]);
    assert_eq!(c.s3.presign_expiry, MAX_PRESIGN_EXPIRY, "capped at 7 days");
}

#[test]
fn s3_bad_values_name_their_variable() {
    let cases: &[(&str, &str)] = &[
        ("APERTURE_S3_REGION", "EU Central"),
        ("APERTURE_S3_ENDPOINT", "127.0.0.1:8333"),
        ("APERTURE_S3_ENDPOINT", "ftp://x"),
        ("APERTURE_S3_ALLOWED_BUCKETS", "ok,not/ok"),
        ("APERTURE_S3_CONNECT_TIMEOUT", "0"),
        ("APERTURE_S3_FIRST_BYTE_TIMEOUT", "soon"),
        ("APERTURE_S3_MAX_ATTEMPTS", "0"),
        ("APERTURE_S3_MAX_ATTEMPTS", "11"),
        ("APERTURE_S3_PRESIGN_EXPIRY", "0"),
        ("APERTURE_S3_ENABLED", "maybe"),
        ("APERTURE_S3_FORCE_PATH_STYLE", "sometimes"),
        ("APERTURE_S3_TYPO", "1"),
    ];
    for (var, value) in cases {
        let err = load(&[(var, value)]).expect_err(var).to_string();
        assert!(err.contains(var), "{var}={value}: {err}");
    }
}

#[test]
fn s3_bucket_overrides_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aperture.toml");
    std::fs::write(
        &file,
        r#"
[s3]
region = "us-west-2"

[s3.buckets.eu-images]
region = "eu-west-1"

[s3.buckets."legacy.bucket"]
endpoint = "https://minio.internal:9000"
"#,
    )
    .unwrap();
    let c = Config::load(Some(&file), &env(&[]), &CliOverrides::default()).unwrap();
    assert_eq!(c.s3.region.as_deref(), Some("us-west-2"));
    assert_eq!(
        c.s3.buckets["eu-images"].region.as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(c.s3.buckets["eu-images"].endpoint, None);
    assert_eq!(
        c.s3.buckets["legacy.bucket"].endpoint.as_deref(),
        Some("https://minio.internal:9000")
    );

    std::fs::write(
        &file,
        "[s3.buckets.\"bad/name\"]\nregion = \"Nope\"\nendpoint = \"nope\"\n",
    )
    .unwrap();
    let err = Config::load(Some(&file), &env(&[]), &CliOverrides::default())
        .unwrap_err()
        .to_string();
    assert_eq!(err.lines().count(), 3, "{err}");
    assert!(err.contains("s3.buckets.bad/name.region"), "{err}");
}

#[test]
fn processing_defaults_and_overrides() {
    let c = load(&[]).unwrap();
    assert_eq!(c.processing.max_src_resolution, 50.0);
    assert_eq!(c.processing.max_src_file_size, 50 * 1024 * 1024);
    assert_eq!(c.processing.quality, 80);
    assert_eq!(
        c.processing.format_quality.get(&OutputFormat::Webp),
        Some(&79)
    );
    assert!(c.processing.auto_rotate);
    assert_eq!(c.processing.pipeline_settings().max_src_pixels, 50_000_000);
    assert_eq!(c.processing.pipeline_settings().max_animation_frames, 100);
    assert_eq!(
        c.processing.pipeline_settings().max_animation_frame_pixels,
        0
    );

    let c = load(&[
        ("APERTURE_MAX_SRC_RESOLUTION", "12.5"),
        ("APERTURE_MAX_SRC_FILE_SIZE", "1000"),
        ("APERTURE_QUALITY", "90"),
        ("APERTURE_FORMAT_QUALITY", "jpg=70,webp=60"),
        ("APERTURE_AUTO_ROTATE", "false"),
        ("APERTURE_MAX_ANIMATION_FRAMES", "1"),
        ("APERTURE_MAX_ANIMATION_FRAME_RESOLUTION", "0.5"),
    ])
    .unwrap();
    assert_eq!(c.processing.max_animation_frames, 1);
    assert_eq!(
        c.processing.pipeline_settings().max_animation_frame_pixels,
        500_000
    );
    assert_eq!(c.processing.max_src_resolution, 12.5);
    assert_eq!(c.processing.max_src_file_size, 1000);
    assert_eq!(c.processing.quality, 90);
    assert_eq!(
        c.processing.format_quality.get(&OutputFormat::Jpeg),
        Some(&70)
    );
    assert_eq!(
        c.processing.format_quality.get(&OutputFormat::Webp),
        Some(&60)
    );
    assert!(!c.processing.auto_rotate);
    let c = load(&[("APERTURE_MAX_SRC_RESOLUTION", "40")]).unwrap();
    assert_eq!(c.processing.max_src_resolution, 40.0);
}

#[test]
fn processing_problems_name_key_and_variable() {
    let e = load(&[
        ("APERTURE_QUALITY", "0"),
        ("APERTURE_MAX_SRC_RESOLUTION", "0"),
        ("APERTURE_FORMAT_QUALITY", "webp:80"),
        ("APERTURE_MAX_ANIMATION_FRAMES", "0"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("processing.quality (APERTURE_QUALITY): must be between 1 and 100"),
        "{e}"
    );
    assert!(
        e.contains("processing.max_src_resolution (APERTURE_MAX_SRC_RESOLUTION)"),
        "{e}"
    );
    assert!(
        e.contains("processing.max_animation_frames (APERTURE_MAX_ANIMATION_FRAMES)"),
        "{e}"
    );
    assert!(
        e.contains("processing.format_quality (APERTURE_FORMAT_QUALITY): `webp:80`"),
        "{e}"
    );
}

#[test]
fn cache_limits_and_negotiation_defaults_and_overrides() {
    let c = load(&[]).unwrap();
    assert!(c.processing.prefer_webp);
    assert!(!c.processing.prefer_avif);
    assert_eq!(c.cache.capacity_bytes, 128 << 20);
    assert_eq!(c.limits.workers, 0);
    assert_eq!(c.limits.memory_budget_bytes, 256 << 20);
    assert_eq!(c.limits.queue_timeout, Duration::from_secs(2));
    assert_eq!(c.limits.request_timeout, Duration::from_secs(10));
    assert_eq!(c.limits.warm_queue, 10_000);
    assert_eq!(c.limits.warm_max_paths, 1000);
    assert_eq!(c.limits.warm_max_body_bytes, 1 << 20);

    let c = load(&[
        ("APERTURE_AUTO_WEBP", "false"),
        ("APERTURE_CACHE_MB", "64"),
        ("APERTURE_WORKERS", "3"),
        ("APERTURE_MEMORY_BUDGET_MB", "512"),
        ("APERTURE_QUEUE_TIMEOUT", "250ms"),
        ("APERTURE_REQUEST_TIMEOUT", "5"),
        ("APERTURE_WARM_QUEUE", "50"),
        ("APERTURE_WARM_MAX_PATHS", "20"),
        ("APERTURE_WARM_MAX_BODY_BYTES", "4096"),
    ])
    .unwrap();
    assert!(!c.processing.prefer_webp);
    assert_eq!(c.cache.capacity_bytes, 64 << 20);
    assert_eq!(c.limits.workers, 3);
    assert_eq!(c.limits.memory_budget_bytes, 512 << 20);
    assert_eq!(c.limits.queue_timeout, Duration::from_millis(250));
    assert_eq!(c.limits.request_timeout, Duration::from_secs(5));
    assert_eq!(c.limits.warm_queue, 50);
    assert_eq!(c.limits.warm_max_paths, 20);
    assert_eq!(c.limits.warm_max_body_bytes, 4096);
}

#[test]
fn warm_limits_are_checked_together() {
    let e = load(&[
        ("APERTURE_WARM_QUEUE", "10"),
        ("APERTURE_WARM_MAX_PATHS", "11"),
        ("APERTURE_WARM_MAX_BODY_BYTES", "0"),
    ])
    .unwrap_err()
    .to_string();
    for want in [
        "limits.warm_max_paths (APERTURE_WARM_MAX_PATHS): must be between 1 and limits.warm_queue (10), got 11",
        "limits.warm_max_body_bytes (APERTURE_WARM_MAX_BODY_BYTES): must be between 1",
    ] {
        assert!(e.contains(want), "{want}\n{e}");
    }
    assert_eq!(e.lines().count(), 2, "{e}");
}

#[test]
fn limit_problems_name_key_and_variable() {
    let e = load(&[
        ("APERTURE_MEMORY_BUDGET_MB", "0"),
        ("APERTURE_QUEUE_TIMEOUT", "0"),
        ("APERTURE_REQUEST_TIMEOUT", "0s"),
        ("APERTURE_WORKERS", "5000"),
    ])
    .unwrap_err()
    .to_string();
    for want in [
        "limits.memory_budget_mb (APERTURE_MEMORY_BUDGET_MB): must be between 1",
        "limits.queue_timeout (APERTURE_QUEUE_TIMEOUT): must be greater than zero",
        "limits.request_timeout (APERTURE_REQUEST_TIMEOUT): must be greater than zero",
        "limits.workers (APERTURE_WORKERS): must be between 0",
    ] {
        assert!(e.contains(want), "{want}\n{e}");
    }
    assert_eq!(e.lines().count(), 4, "{e}");
}

#[test]
fn a_config_file_that_does_not_parse_is_named_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, "server = [\n").unwrap();
    let e = Config::load(Some(&path), &env(&[]), &CliOverrides::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("broken.toml: TOML parse error"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}
