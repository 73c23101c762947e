//! Table tests for the CDN-facing delivery keys: Server-Timing and CORS.

use super::*;

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let root = env!("CARGO_MANIFEST_DIR").to_string() + "/samples";
    let mut env: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert("APERTURE_LOCAL_ROOT".into(), root);
    Config::load(None, &env, &CliOverrides::default())
}

#[test]
fn server_timing_on_and_cors_off_by_default() {
    let c = load(&[]).unwrap();
    assert!(c.delivery.server_timing);
    assert_eq!(c.delivery.cors_allow_origin, None);
}

#[test]
fn delivery_overrides_from_env() {
    let c = load(&[
        ("APERTURE_SERVER_TIMING", "false"),
        ("APERTURE_CORS_ALLOW_ORIGIN", "*"),
    ])
    .unwrap();
    assert!(!c.delivery.server_timing);
    assert_eq!(c.delivery.cors_allow_origin.as_deref(), Some("*"));
    for origin in ["https://app.example.com", "http://127.0.0.1:3000"] {
        let c = load(&[("APERTURE_CORS_ALLOW_ORIGIN", origin)]).unwrap();
        assert_eq!(c.delivery.cors_allow_origin.as_deref(), Some(origin));
    }
}

#[test]
fn bad_origins_name_key_and_variable() {
    for bad in [
        "app.example.com",
        "https://a.com,https://b.com",
        "https://a.com/path",
        "https://",
        "null",
    ] {
        let e = load(&[("APERTURE_CORS_ALLOW_ORIGIN", bad)])
            .unwrap_err()
            .to_string();
        let want =
            "delivery.cors_allow_origin (APERTURE_CORS_ALLOW_ORIGIN): must be `*` or one origin";
        assert!(e.contains(want), "{bad}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    let e = load(&[("APERTURE_SERVER_TIMING", "maybe")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("delivery.server_timing (APERTURE_SERVER_TIMING)"),
        "{e}"
    );
}
