//! s3:// sources end to end: aperture in front of a real, SigV4-verifying SeaweedFS (one
//! per test binary, see support/s3.rs): raw delivery with Range and conditionals, HEAD,
//! odd keys, presigned redirects followed by a plain client, and the failure answers.
//! Faults injected between aperture and S3 are in `s3_faults.rs`.

use aperture::cli::signed_path;
use aperture::config::{Config, StaticCredentials};
use bytes::Bytes;
use http::Method;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::support::s3::{BUCKET, S3Server, SEEDS};
use crate::support::{KEY_HEX, SALT_HEX, TestServer};

pub fn s3() -> &'static S3Server {
    S3Server::shared()
}

/// A signed aperture in front of the shared S3 server; `tweak` runs last.
pub async fn server_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let s3 = s3();
    TestServer::start_with(|c| {
        c.security.pairs = vec![(
            hex::decode(KEY_HEX).unwrap(),
            hex::decode(SALT_HEX).unwrap(),
        )];
        c.security.allow_insecure = false;
        s3.configure(c);
        tweak(c);
    })
    .await
}

pub async fn server() -> TestServer {
    server_with(|_| {}).await
}

/// What a source URL escapes in a key: the URL's own delimiters and `%` (non-ASCII is
/// always escaped), so that the key survives the one unescape `SourceRef` applies.
const KEY_ESCAPE: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'?').add(b'#');

pub fn source_url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{}", utf8_percent_encode(key, KEY_ESCAPE))
}

/// Signed raw path for a key of the test bucket (`plain/` form).
pub fn raw(s: &TestServer, key: &str) -> String {
    s.sign(&source_url(BUCKET, key), "raw:1")
}

#[tokio::test]
async fn full_get_has_s3_metadata() {
    let s = server().await;
    let seed = s3().seed("photo.jpg");
    let r = s.get(&raw(&s, "photo.jpg")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, seed.body);
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(r.header("content-length"), Some("100000"));
    assert_eq!(r.header("etag"), Some(seed.etag.as_str()));
    assert!(r.header("last-modified").unwrap().ends_with("GMT"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        r.header("content-disposition"),
        Some("inline; filename=\"photo.jpg\"")
    );
}

#[tokio::test]
async fn every_range_form() {
    let s = server().await;
    let body = &s3().seed("photo.jpg").body;
    let path = raw(&s, "photo.jpg");
    let cases: [(&str, usize, usize); 6] = [
        ("bytes=10-109", 10, 109),
        ("bytes=99990-", 99_990, 99_999),
        ("bytes=-100", 99_900, 99_999),
        ("bytes=99995-200000", 99_995, 99_999),
        ("bytes=-200000", 0, 99_999),
        ("bytes=7-7", 7, 7),
    ];
    for (range, start, end) in cases {
        let r = s.get_with(&path, &[("range", range)]).await;
        assert_eq!(r.status, 206, "{range}: {}", r.text());
        let want = format!("bytes {start}-{end}/100000");
        assert_eq!(r.header("content-range"), Some(want.as_str()), "{range}");
        assert_eq!(&r.body[..], &body[start..=end], "{range}");
        assert_eq!(r.header("content-type"), Some("image/jpeg"), "{range}");
    }
    // several ranges: multipart, each part read with its own ranged GET
    let r = s.get_with(&path, &[("range", "bytes=0-2, -3")]).await;
    assert_eq!(r.status, 206);
    let ct = r.header("content-type").unwrap();
    assert!(ct.starts_with("multipart/byteranges; boundary="), "{ct}");
    assert!(r.text().contains("Content-Range: bytes 99997-99999/100000"));
    for range in ["bytes=100000-", "bytes=-0", "bytes=200000-300000"] {
        let r = s.get_with(&path, &[("range", range)]).await;
        assert_eq!(r.status, 416, "{range}");
        assert_eq!(r.header("content-range"), Some("bytes */100000"));
        assert!(!r.body.is_empty());
    }
    for range in ["bytes=abc", "items=0-5", "bytes=5-1"] {
        let r = s.get_with(&path, &[("range", range)]).await;
        assert_eq!(r.status, 200, "{range}");
        assert_eq!(r.body.len(), 100_000, "{range}");
    }
}

#[tokio::test]
async fn conditional_requests() {
    let s = server().await;
    let path = raw(&s, "photo.jpg");
    let first = s.get(&path).await;
    let etag = first.header("etag").unwrap().to_string();
    let lm = first.header("last-modified").unwrap().to_string();
    let old = "Sat, 01 Jan 2000 00:00:00 GMT";
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (vec![("if-none-match", &etag)], 304),
        (vec![("if-none-match", "\"other\", W/\"x\"")], 200),
        (vec![("if-none-match", "*")], 304),
        (vec![("if-modified-since", &lm)], 304),
        (vec![("if-modified-since", old)], 200),
        (
            vec![("if-none-match", "\"other\""), ("if-modified-since", &lm)],
            200,
        ),
        (vec![("if-none-match", &etag), ("range", "bytes=0-9")], 304),
        (vec![("if-match", "\"other\"")], 412),
        (vec![("if-match", &etag)], 200),
        (vec![("if-unmodified-since", old)], 412),
        (vec![("range", "bytes=0-1"), ("if-range", &etag)], 206),
        (vec![("range", "bytes=0-1"), ("if-range", "\"stale\"")], 200),
    ];
    for (headers, status) in cases {
        let r = s.get_with(&path, &headers).await;
        assert_eq!(r.status, status, "{headers:?}: {}", r.text());
        match status {
            304 => {
                assert!(r.body.is_empty());
                assert_eq!(r.header("etag"), Some(etag.as_str()), "{headers:?}");
                assert!(r.header("cache-control").is_some());
            }
            200 => assert_eq!(r.body.len(), 100_000, "{headers:?}"),
            206 => assert_eq!(r.body.len(), 2),
            _ => assert!(!r.body.is_empty()),
        }
    }
}

#[tokio::test]
async fn head_matches_get() {
    let s = server().await;
    let path = raw(&s, "photo.jpg");
    s.assert_head_matches_get(
        &path,
        &[
            "content-type",
            "content-length",
            "etag",
            "last-modified",
            "cache-control",
            "accept-ranges",
            "content-disposition",
        ],
    )
    .await;
    let head = s.request(Method::HEAD, &raw(&s, "no/such.jpg"), &[]).await;
    assert_eq!(head.status, 404);
}

#[tokio::test]
async fn odd_keys_plain_and_base64() {
    let s = server().await;
    for &(key, len, ..) in SEEDS {
        if len == 0 {
            continue;
        }
        let seed = s3().seed(key);
        let source = source_url(BUCKET, key);
        for base64 in [false, true] {
            let path = signed_path(&s.signer, &source, "raw:1", None, base64);
            let r = s.get(&path).await;
            assert_eq!(r.status, 200, "{key:?} base64={base64}: {}", r.text());
            assert_eq!(r.body, seed.body, "{key:?} base64={base64}");
        }
        // and through a presigned redirect
        let r = s.get(&s.sign(&source, "rd:1")).await;
        assert_eq!(r.status, 307, "{key:?}");
        let (status, _, body) = follow(r.header("location").unwrap()).await;
        assert_eq!((status, body == seed.body), (200, true), "{key:?}");
    }
    // "%20" in a key is not a space: that key does not exist
    let r = s.get(&raw(&s, "percent not-a-space/%.bin")).await;
    assert_eq!(r.status, 404);
}

/// S3's stored Content-Type is a claim by whoever uploaded the object: HTML, XML and
/// scripts go out as opaque bytes, as the same bytes from a local file would, and SVG
/// (in any letter case) with its sandboxing CSP.
#[tokio::test]
async fn stored_types_that_would_render_or_run_go_out_opaque() {
    let s = server().await;
    let r = s.get(&raw(&s, "page.jpg")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let r = s.get(&raw(&s, "drawing.bin")).await;
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(
        r.header("content-security-policy")
            .is_some_and(|v| v.contains("sandbox")),
        "{:?}",
        r.header("content-security-policy")
    );
    let r = s.get(&raw(&s, "photo.jpg")).await;
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
}

/// GET `url` with a plain HTTP client, as a browser following the redirect would.
pub async fn follow(url: &str) -> (u16, http::HeaderMap, Bytes) {
    let uri: http::Uri = url.parse().unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(uri.host(), Some("127.0.0.1"), "{url}");
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let resp = client.get(uri).await.expect("GET presigned URL");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status.as_u16(), parts.headers, body)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

#[tokio::test]
async fn presigned_redirect() {
    let s = server_with(|c| c.s3.region = Some("eu-central-1".into())).await;
    let seed = s3().seed("photo.jpg");
    let r = s
        .get(&s.sign(&source_url(BUCKET, "photo.jpg"), "rd:1"))
        .await;
    assert_eq!(r.status, 307, "{}", r.text());
    let url = r.header("location").unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/{BUCKET}/photo.jpg?", s3().endpoint)),
        "{url}"
    );
    let credential = query_param(&url, "X-Amz-Credential").unwrap();
    assert!(
        credential.ends_with("%2Feu-central-1%2Fs3%2Faws4_request"),
        "{credential}"
    );
    assert_eq!(query_param(&url, "X-Amz-Expires").as_deref(), Some("300"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=150"));
    assert!(r.text().contains(&url), "{}", r.text());
    let (status, headers, body) = follow(&url).await;
    assert_eq!(status, 200);
    assert_eq!(body, seed.body);
    // S3 offers the name a raw answer would
    assert_eq!(
        headers.get("content-disposition").unwrap(),
        "inline; filename=\"photo.jpg\""
    );

    // one character of the signature changed: S3 refuses it
    let sig = query_param(&url, "X-Amz-Signature").unwrap();
    let last = sig.chars().last().unwrap();
    let swapped = if last == '0' { '1' } else { '0' };
    let bad_sig = format!("{}{swapped}", &sig[..sig.len() - 1]);
    let tampered = url.replace(&sig, &bad_sig);
    let (status, _, _) = follow(&tampered).await;
    assert_eq!(status, 403, "{tampered}");

    // HEAD: same headers, no body
    let h = s
        .request(
            Method::HEAD,
            &s.sign(&source_url(BUCKET, "photo.jpg"), "rd:1"),
            &[],
        )
        .await;
    assert_eq!(h.status, 307);
    assert!(h.body.is_empty() && h.header("location").is_some());
}

#[tokio::test]
async fn redirect_overrides_and_expiry() {
    let s = server().await;
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let opts = format!("rd:1/att:1/fn:cat%20photo.jpg/exp:{soon}");
    let r = s
        .get(&s.sign(&source_url(BUCKET, "photo.jpg"), &opts))
        .await;
    assert_eq!(r.status, 307, "{}", r.text());
    let url = r.header("location").unwrap();
    let expires: u64 = query_param(url, "X-Amz-Expires").unwrap().parse().unwrap();
    assert!((55..=60).contains(&expires), "capped by exp: {expires}");
    let cc = r.header("cache-control").unwrap();
    let max_age: u64 = cc.split("max-age=").nth(1).unwrap().parse().unwrap();
    assert!(max_age <= expires / 2, "{cc}");
    let (status, headers, body) = follow(url).await;
    assert_eq!(status, 200);
    assert_eq!(body, s3().seed("photo.jpg").body);
    assert_eq!(
        headers.get("content-disposition").unwrap(),
        "attachment; filename=\"cat photo.jpg\""
    );
}

/// The 307's Cache-Control is the configured one, its lifetimes capped at half the
/// link's life: `no-store` stays `no-store`, `s-maxage` is capped, not dropped.
#[tokio::test]
async fn redirect_cache_control_follows_the_configuration() {
    let source = source_url(BUCKET, "photo.jpg");
    for (configured, want) in [
        ("no-store", "no-store"),
        (
            "public, s-maxage=20, max-age=600",
            "public, s-maxage=20, max-age=150",
        ),
        ("private, max-age=60", "private, max-age=60"),
    ] {
        let s = server_with(|c| c.delivery.cache_control = configured.into()).await;
        let r = s.get(&s.sign(&source, "rd:1")).await;
        assert_eq!(r.status, 307);
        assert_eq!(r.header("cache-control"), Some(want), "{configured}");
    }
}

#[tokio::test]
async fn failures_have_a_status_and_a_body() {
    let s = server_with(|c| c.s3.allowed_buckets = vec![BUCKET.into()]).await;
    let r = s.get(&raw(&s, "no/such/key.jpg")).await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (404, "source not found\n")
    );
    let r = s.get(&s.sign("s3://other-bucket/photo.jpg", "raw:1")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("not allowed"), "{}", r.text());
    let r = s.get(&s.sign("s3://other-bucket/photo.jpg", "rd:1")).await;
    assert_eq!(r.status, 403);
    // dot segments in a key could lead a normalizing store into another bucket
    for key in ["../other-bucket/photo.jpg", "a/./photo.jpg", "a/.."] {
        for opts in ["raw:1", "rd:1", "rs:fit:10:10"] {
            let r = s.get(&s.sign(&source_url(BUCKET, key), opts)).await;
            assert_eq!(r.status, 400, "{key} {opts}: {}", r.text());
            assert!(r.text().contains("segments"), "{}", r.text());
        }
    }

    // zero bytes: the empty-source error, with or without Range, GET or HEAD
    let empty = raw(&s, "empty.txt");
    for (method, range) in [
        (Method::GET, None),
        (Method::GET, Some("bytes=-5")),
        (Method::HEAD, None),
    ] {
        let headers: Vec<(&str, &str)> = range.map(|r| ("range", r)).into_iter().collect();
        let r = s.request(method.clone(), &empty, &headers).await;
        assert_eq!(r.status, 422, "{method} {range:?}");
    }
    // a revalidation with the empty object's ETag (public: the MD5 of nothing) is no
    // way around it: S3's 304 has no length, so aperture asks
    let md5_of_nothing = "\"d41d8cd98f00b204e9800998ecf8427e\"";
    let r = s
        .request(Method::GET, &empty, &[("if-none-match", md5_of_nothing)])
        .await;
    assert_eq!(r.status, 422);
    assert!(s.get(&empty).await.text().contains("empty"));

    let s = server_with(|c| c.s3.enabled = false).await;
    let r = s.get(&raw(&s, "photo.jpg")).await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("disabled"), "{}", r.text());
}

#[tokio::test]
async fn wrong_credentials_are_a_502_with_a_body() {
    for (ak, sk) in [
        (crate::support::s3::ACCESS_KEY, "wrong-secret"),
        ("unknown-access-key", "whatever"),
    ] {
        let s = server_with(|c| {
            c.s3.credentials = Some(StaticCredentials {
                access_key_id: ak.into(),
                secret_access_key: sk.into(),
                session_token: None,
            })
        })
        .await;
        for method in [Method::GET, Method::HEAD] {
            let r = s.request(method.clone(), &raw(&s, "photo.jpg"), &[]).await;
            assert_eq!(r.status, 502, "{ak} {method}");
            if method == Method::GET {
                assert_eq!(r.text(), "origin refused access\n");
            }
        }
    }
}

/// Answers whose headers come from a HEAD read their bytes with `If-Match` on that
/// version: a blob replaced in between is refused (`Changed`, a 502 or an aborted
/// multipart body), never served as a mix of two versions.
#[tokio::test]
async fn a_pinned_read_refuses_another_version() {
    use aperture::source::SourceError;
    use aperture::url::source_ref::SourceRef;
    let mut config = Config::for_tests(std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
    s3().configure(&mut config);
    let app = aperture::App::new(config).expect("app");
    let source = SourceRef::S3 {
        bucket: BUCKET.to_owned(),
        key: "photo.jpg".to_owned(),
        version: None,
    };
    let meta = app.sources.head(&source).await.unwrap();
    let body = app
        .sources
        .read_pinned(&source, None, meta.etag.as_deref())
        .await
        .unwrap();
    let bytes: Vec<Bytes> = futures_util::TryStreamExt::try_collect(body).await.unwrap();
    assert_eq!(bytes.concat(), s3().seed("photo.jpg").body);
    let other = app
        .sources
        .read_pinned(&source, None, Some("\"0123456789abcdef\""))
        .await;
    assert!(
        matches!(other, Err(SourceError::Changed)),
        "{:?}",
        other.err()
    );
}
