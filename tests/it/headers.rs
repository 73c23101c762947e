//! The headers of every response class, as a CDN and a browser see them (the table in
//! docs/cdn.md): Cache-Control, Vary, Surrogate-Key/Cache-Tag, CORS, Server-Timing and
//! X-Request-Id on processed, raw, 304, 307, 4xx, 5xx and 503 answers, the CORS
//! preflight, and the access log of real requests (fields present, no secrets).

use std::time::Duration;

use aperture::config::StaticCredentials;
use http::Method;

use crate::support::{KEY_HEX, SALT_HEX, TestResponse, TestServer, logs};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const ORIGIN: &str = "https://app.example.com";

fn is_hex16(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.len() == 16 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `name;dur=N` entries of a Server-Timing value, in order (`desc` entries as `name`).
fn timing_names(r: &TestResponse) -> Vec<String> {
    let v = r.header("server-timing").expect("server-timing");
    v.split(", ")
        .map(|e| {
            let (name, param) = e.split_once(';').expect("entry has a parameter");
            if let Some(d) = param.strip_prefix("dur=") {
                let ms: f64 = d.parse().expect("dur is a number");
                assert!(ms >= 0.0 && d.split('.').nth(1).is_some_and(|f| f.len() == 2));
                name.to_string()
            } else {
                format!("{name}={}", param.strip_prefix("desc=").expect("desc"))
            }
        })
        .collect()
}

/// What every error shares: not stored, no source tag, still traceable and timed.
fn assert_error_headers(r: &TestResponse, status: u16) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("vary"), None);
    assert_eq!(r.header("surrogate-key"), None);
    assert!(is_hex16(r.header("x-request-id")));
    assert_eq!(timing_names(r), ["total"]);
}

#[tokio::test]
async fn processed_miss_hit_and_not_modified() {
    let s = TestServer::signed().await;
    let path = s.sign("local:///photo.jpg", "rs:fit:60:60");
    let miss = s.get(&path).await;
    assert_eq!(miss.status, 200, "{}", miss.text());
    assert_eq!(miss.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(miss.header("x-cache"), Some("MISS"));
    // no format in the URL: negotiated, so the answer varies on Accept
    assert_eq!(miss.header("vary"), Some("accept"));
    assert!(is_hex16(miss.header("surrogate-key")));
    assert_eq!(miss.header("cache-tag"), miss.header("surrogate-key"));
    assert!(is_hex16(miss.header("x-request-id")));
    assert_eq!(miss.header("access-control-allow-origin"), None);
    assert_eq!(miss.header("timing-allow-origin"), None);
    assert_eq!(
        timing_names(&miss),
        ["fetch", "decode", "resize", "encode", "cache=miss", "total"]
    );

    let hit = s.get(&path).await;
    assert_eq!(hit.header("x-cache"), Some("HIT"));
    assert_eq!(timing_names(&hit), ["cache=hit", "total"]);
    assert_ne!(hit.header("x-request-id"), miss.header("x-request-id"));

    // An explicit format is not negotiated: no Vary. Same source, same tag.
    let png = s
        .get(&s.sign("local:///photo.jpg", "rs:fit:60:60/f:png"))
        .await;
    assert_eq!(png.status, 200);
    assert_eq!(png.header("vary"), None);
    assert_eq!(png.header("surrogate-key"), miss.header("surrogate-key"));
    let other = s.get(&s.sign("local:///badge.png", "f:png")).await;
    assert_ne!(other.header("surrogate-key"), miss.header("surrogate-key"));

    let etag = hit.header("etag").unwrap();
    let nm = s.get_with(&path, &[("if-none-match", etag)]).await;
    assert_eq!(nm.status, 304);
    assert_eq!(nm.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(nm.header("vary"), Some("accept"));
    assert_eq!(nm.header("surrogate-key"), miss.header("surrogate-key"));
    assert_eq!(timing_names(&nm), ["cache=hit", "total"]);
}

#[tokio::test]
async fn raw_and_its_304() {
    let s = TestServer::signed().await;
    let r = s.get(&s.raw("photo.jpg")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(r.header("vary"), None);
    assert_eq!(r.header("x-cache"), None);
    assert_eq!(timing_names(&r), ["fetch", "total"]);
    // raw and processed answers of one source share the purge key
    let p = s.get(&s.sign("local:///photo.jpg", "w:40/f:png")).await;
    assert_eq!(r.header("surrogate-key"), p.header("surrogate-key"));

    let nm = s
        .get_with(
            &s.raw("photo.jpg"),
            &[("if-none-match", r.header("etag").unwrap())],
        )
        .await;
    assert_eq!(nm.status, 304);
    assert_eq!(nm.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(nm.header("surrogate-key"), r.header("surrogate-key"));
    assert!(is_hex16(nm.header("x-request-id")));
}

#[tokio::test]
async fn errors_4xx_and_5xx() {
    let s = TestServer::signed().await;
    assert_error_headers(&s.get(&s.raw("missing.jpg")).await, 404);
    assert_error_headers(
        &s.get("/badsignature/raw:1/plain/local:///photo.jpg").await,
        403,
    );
    let unsupported = s.sign("local:///photo.jpg", "rs:fit:100:100/wm:0.5");
    assert_error_headers(&s.get(&unsupported).await, 501);
    // non-image routes carry the request id only
    let h = s.get("/health").await;
    assert!(is_hex16(h.header("x-request-id")));
    assert_eq!(h.header("server-timing"), None);
}

#[tokio::test]
async fn overload_503_has_retry_after() {
    // A deadline far shorter than any pipeline run: the answer is 503 + Retry-After.
    // Each try gets a source of its own that takes long to decode (noise does not
    // compress), so neither a tiny shrink-on-load decode nor a reused decoded source
    // can finish before the deadline's timer fires.
    let s = TestServer::signed_with(|c| c.limits.request_timeout = Duration::from_micros(1)).await;
    for i in 0..5 {
        let name = format!("slow{i}.png");
        s.root
            .write(&name, &crate::cache::noise_png(1500, 1500, i + 1));
        let r = s.get(&s.sign(&format!("local:///{name}"), "w:10")).await;
        if r.status == 503 {
            assert_error_headers(&r, 503);
            assert_eq!(r.header("retry-after"), Some("1"));
            return;
        }
    }
    panic!("no 503 with a 1 µs deadline");
}

const AWS_SECRET: &str = "headers-test-secret-access-key";

/// S3 with static credentials and a dead endpoint: presigning is local, so the 307
/// itself needs no S3 server.
async fn redirecting_server() -> TestServer {
    TestServer::signed_with(|c| {
        c.s3.enabled = true;
        c.s3.region = Some("us-east-1".into());
        c.s3.endpoint = Some("http://127.0.0.1:9".into());
        c.s3.force_path_style = true;
        c.s3.credentials = Some(StaticCredentials {
            access_key_id: "AKIAHEADERSTEST".into(),
            secret_access_key: AWS_SECRET.into(),
            session_token: None,
        });
    })
    .await
}

#[tokio::test]
async fn presigned_redirect_307() {
    let s = redirecting_server().await;
    let r = s.get(&s.sign("s3://bucket/photo.jpg", "rd:1")).await;
    assert_eq!(r.status, 307, "{}", r.text());
    // half of the 300 s presign expiry
    assert_eq!(r.header("cache-control"), Some("public, max-age=150"));
    assert!(is_hex16(r.header("surrogate-key")));
    assert_eq!(r.header("vary"), None);
    assert_eq!(timing_names(&r), ["total"]);
}

#[tokio::test]
async fn cors_when_configured_and_preflight() {
    let plain = TestServer::signed().await;
    let path = plain.raw("photo.jpg");
    let r = plain.request(Method::OPTIONS, &path, &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));

    let s = TestServer::signed_with(|c| c.delivery.cors_allow_origin = Some(ORIGIN.into())).await;
    let path = s.raw("photo.jpg");
    for r in [
        s.get(&path).await,
        s.get(&s.sign("local:///photo.jpg", "w:30")).await,
        s.get(&s.raw("missing.jpg")).await,
    ] {
        assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
        assert_eq!(r.header("timing-allow-origin"), Some(ORIGIN));
        assert!(
            r.header("access-control-expose-headers")
                .unwrap()
                .contains("X-Request-Id")
        );
        // one fixed origin: nothing to vary on
        assert!(!r.header("vary").unwrap_or("").contains("origin"));
    }
    let pre = s
        .request(
            Method::OPTIONS,
            &path,
            &[
                ("origin", ORIGIN),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "range"),
            ],
        )
        .await;
    assert_eq!(pre.status, 204);
    assert!(pre.body.is_empty());
    assert_eq!(pre.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        pre.header("access-control-allow-methods"),
        Some("GET, HEAD")
    );
    assert!(
        pre.header("access-control-allow-headers")
            .unwrap()
            .contains("Range")
    );
    assert_eq!(pre.header("access-control-max-age"), Some("86400"));
    assert!(is_hex16(pre.header("x-request-id")));
    // other methods name OPTIONS as allowed; non-image routes keep 405 for OPTIONS
    let del = s.request(Method::DELETE, &path, &[]).await;
    assert_eq!(del.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(s.request(Method::OPTIONS, "/health", &[]).await.status, 405);
}

#[tokio::test]
async fn request_id_is_echoed_or_replaced_and_timing_can_be_off() {
    let s = TestServer::signed_with(|c| c.delivery.server_timing = false).await;
    let path = s.raw("photo.jpg");
    let r = s.get_with(&path, &[("x-request-id", "cdn-abc-123")]).await;
    assert_eq!(r.header("x-request-id"), Some("cdn-abc-123"));
    assert_eq!(r.header("server-timing"), None);
    let long = "x".repeat(129);
    let r = s.get_with(&path, &[("x-request-id", &long)]).await;
    assert!(is_hex16(r.header("x-request-id")));
    // spaces would let the id write fields of its own into a text log line
    let forging = "x method=GET path=/fake status=200";
    let r = s.get_with(&path, &[("x-request-id", forging)]).await;
    assert!(is_hex16(r.header("x-request-id")));
    let r = s
        .get_with(&s.raw("nope.jpg"), &[("x-request-id", "err-1")])
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-request-id"), Some("err-1"));
}

#[tokio::test]
async fn access_log_has_the_fields_and_no_secrets() {
    let logs = logs::capture();
    let s = TestServer::signed().await;
    let path = s.sign("local:///photo.jpg", "rs:fit:70:70");
    let id = format!("logtest-{}", std::process::id());
    let r = s.get_with(&path, &[("x-request-id", &id)]).await;
    assert_eq!(r.status, 200);
    let bad = format!("{}-bad", id);
    let forged = "/AAAAforgedsignatureAAAA/raw:1/plain/local:///photo.jpg";
    assert_eq!(
        s.get_with(forged, &[("x-request-id", &bad)]).await.status,
        403
    );

    let line = logs.wait_for(&format!("\"request_id\":\"{id}\"")).await;
    for field in [
        "\"status\":200",
        "\"cache\":\"miss\"",
        "\"fetch_ms\":\"",
        "\"ms\":\"",
        "\"bytes\":",
        "\"path\":\"/-/rs:fit:70:70/",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    logs.wait_for(&format!("\"request_id\":\"{bad}\"")).await;
    let refused = logs.lines(&format!("\"request_id\":\"{bad}\""));
    assert!(
        refused
            .iter()
            .any(|l| l.contains("client error") && l.contains("forbidden")),
        "the 403 is logged once with its cause: {refused:?}"
    );
    let redirect = redirecting_server().await;
    let r = redirect
        .get(&redirect.sign("s3://bucket/photo.jpg", "rd:1"))
        .await;
    assert_eq!(r.status, 307);
    let location = r.header("location").unwrap();
    assert!(location.contains("X-Amz-Signature="));

    let signature = path.split('/').nth(1).unwrap();
    let all = logs.text();
    let presigned = location.split("X-Amz-Signature=").nth(1).unwrap();
    for secret in [
        KEY_HEX,
        SALT_HEX,
        signature,
        "forgedsignature",
        AWS_SECRET,
        presigned,
        "X-Amz-Credential",
    ] {
        assert!(!all.contains(secret), "`{secret}` was logged");
    }
}

/// A client that hangs up mid-body is logged as such (bytes sent, bytes unsent), not as
/// an ordinary complete 200.
#[tokio::test]
async fn a_client_that_leaves_early_is_logged_so() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let logs = logs::capture();
    let s = TestServer::signed().await;
    s.root.write("large.bin", &vec![7u8; 8 << 20]);
    let id = format!("leaves-early-{}", std::process::id());
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: t\r\nX-Request-Id: {id}\r\n\r\n",
        s.raw("large.bin")
    );
    let mut c = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    c.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = c.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    drop(c);
    let line = logs.wait_for(&format!("\"request_id\":\"{id}\"")).await;
    assert!(line.contains("ended by the client"), "{line}");
    assert!(line.contains("\"unsent\":"), "{line}");
}
