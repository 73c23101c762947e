//! Every failure is a 4xx/5xx with a short text body naming what went wrong.

use http::Method;

use crate::support::TestServer;

#[tokio::test]
async fn missing_and_empty_sources() {
    let s = TestServer::signed().await;
    s.root.write("empty.jpg", b"");
    let r = s.get(&s.raw("missing.jpg")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "source not found\n");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-store"));

    let r = s.get(&s.raw("empty.jpg")).await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("empty"), "{}", r.text());
    // A Range on an empty source is still the empty-source error, never a 2xx.
    let r = s
        .get_with(&s.raw("empty.jpg"), &[("range", "bytes=-5")])
        .await;
    assert_eq!(r.status, 422);
    let r = s.request(Method::HEAD, &s.raw("empty.jpg"), &[]).await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn malformed_urls_and_options_are_400_with_a_reason() {
    let s = TestServer::signed().await;
    let cases = [
        ("local:///photo.jpg", "raw:1/bogus:1", "bogus"),
        ("local:///photo.jpg", "raw:1/rs:sideways:10:10", "rs"),
        ("local:///photo.jpg", "raw:1/q:500", "q"),
        ("local:///photo.jpg", "raw:1/w:-5", "w"),
        (
            "local:///photo.jpg",
            "raw:1/pr:nosuchpreset",
            "nosuchpreset",
        ),
        ("local:///photo.jpg", "raw:1/rd:1", "redirect"),
    ];
    for (source, options, needle) in cases {
        let r = s.get(&s.sign(source, options)).await;
        assert_eq!(r.status, 400, "{options}: {}", r.text());
        assert!(r.text().contains(needle), "{options}: {}", r.text());
        assert_eq!(r.text().lines().count(), 1);
    }
    for tail in [
        "/raw:1/plain/",
        "/raw:1/!!!notbase64!!!",
        "/raw:1/plain/local:///a%zz.jpg",
        "/raw:1/plain/ftp://example.com/a.jpg",
    ] {
        let path = format!("/{}{tail}", s.signer.sign(tail));
        let r = s.get(&path).await;
        assert_eq!(r.status, 400, "{tail}: {}", r.text());
        assert!(r.text().starts_with("invalid URL"), "{tail}: {}", r.text());
    }
}

#[tokio::test]
async fn unsupported_sources_and_processing_say_so() {
    let s = TestServer::signed().await;
    let r = s.get(&s.sign("https://example.com/a.jpg", "raw:1")).await;
    assert_eq!(r.status, 422, "{}", r.text());
    // options this server cannot execute (wm without a watermark image) are named in a 501
    let r = s
        .get(&s.sign("local:///photo.jpg", "rs:fit:100:100/wm:0.5"))
        .await;
    assert_eq!(r.status, 501);
    assert!(r.text().contains("watermark"), "{}", r.text());
}

#[tokio::test]
async fn routes_and_methods() {
    let s = TestServer::signed().await;
    let r = s.get("/").await;
    assert_eq!(r.status, 404);
    assert!(!r.body.is_empty());
    let r = s.request(Method::POST, &s.raw("photo.jpg"), &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert!(!r.body.is_empty());
}
