//! Raw delivery: headers, Range (every RFC 9110 form), conditionals, HEAD.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;

use crate::support::{TestResponse, TestServer};

fn digits(range: std::ops::RangeInclusive<usize>) -> String {
    range.map(|i| char::from(b'0' + (i % 10) as u8)).collect()
}

#[tokio::test]
async fn full_get_has_every_header() {
    let s = TestServer::signed().await;
    let r = s.get(&s.raw("photo.jpg")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        std::fs::read(s.root.path().join("photo.jpg")).unwrap()
    );
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
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
    assert!(r.header("etag").unwrap().starts_with('"'));
    assert!(r.header("last-modified").unwrap().ends_with("GMT"));
}

#[tokio::test]
async fn content_type_comes_from_bytes_not_names() {
    let s = TestServer::signed().await;
    let png = std::fs::read(s.root.path().join("badge.png")).unwrap();
    s.root.write("looks-like.jpg", &png);
    s.root
        .write("page.png", b"<html><script>alert(1)</script></html>");
    let r = s.get(&s.raw("looks-like.jpg")).await;
    assert_eq!(r.header("content-type"), Some("image/png"));
    let r = s.get(&s.raw("page.png")).await;
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
}

#[tokio::test]
async fn single_ranges() {
    let s = TestServer::signed().await;
    let path = s.raw("digits.bin");
    let cases = [
        ("bytes=0-9", "bytes 0-9/1000", digits(0..=9)),
        ("bytes=990-", "bytes 990-999/1000", digits(990..=999)),
        ("bytes=-5", "bytes 995-999/1000", digits(995..=999)),
        ("bytes=995-5000", "bytes 995-999/1000", digits(995..=999)),
        ("bytes=-5000", "bytes 0-999/1000", digits(0..=999)),
        ("bytes=7-7", "bytes 7-7/1000", digits(7..=7)),
    ];
    for (range, content_range, body) in cases {
        let r = s.get_with(&path, &[("range", range)]).await;
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.header("content-range"), Some(content_range), "{range}");
        assert_eq!(r.text(), body, "{range}");
        assert_eq!(
            r.header("content-length"),
            Some(body.len().to_string().as_str())
        );
    }
}

#[tokio::test]
async fn unsatisfiable_and_ignored_ranges() {
    let s = TestServer::signed().await;
    let path = s.raw("digits.bin");
    for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
        let r = s.get_with(&path, &[("range", range)]).await;
        assert_eq!(r.status, 416, "{range}");
        assert_eq!(r.header("content-range"), Some("bytes */1000"));
        assert!(!r.body.is_empty());
    }
    // Syntactically invalid or other units: ignored, full 200 (RFC 9110 14.2).
    for range in ["bytes=abc", "items=0-5", "bytes=5-1", "bytes"] {
        let r = s.get_with(&path, &[("range", range)]).await;
        assert_eq!(r.status, 200, "{range}");
        assert_eq!(r.body.len(), 1000);
    }
    // Range is not a list: two field lines are no valid Range, so the same.
    let r = s
        .get_with(&path, &[("range", "bytes=0-1"), ("range", "bytes=5-6")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 1000);
    assert_eq!(r.header("content-range"), None);
}

#[tokio::test]
async fn several_ranges_are_multipart() {
    let s = TestServer::signed().await;
    let r = s
        .get_with(&s.raw("digits.bin"), &[("range", "bytes=0-2, 10-12, -3")])
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    assert_eq!(
        byteranges_parts(&r),
        owned(&[
            ("bytes 0-2/1000", "012"),
            ("bytes 10-12/1000", "012"),
            ("bytes 997-999/1000", "789"),
        ])
    );

    // Overlapping ranges are merged into one part.
    let r = s
        .get_with(&s.raw("digits.bin"), &[("range", "bytes=0-5,3-9")])
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 0-9/1000"));
}

/// The parts of a multipart/byteranges answer: (Content-Range, bytes), in body order.
fn byteranges_parts(r: &TestResponse) -> Vec<(String, String)> {
    let ct = r.header("content-type").unwrap();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("not multipart: {ct}"))
        .trim_matches('"');
    let text = r.text();
    let mut sections: Vec<&str> = text.split(&format!("\r\n--{boundary}")).collect();
    assert_eq!(sections.remove(0), "", "no preamble");
    assert_eq!(sections.pop(), Some("--\r\n"), "closing delimiter last");
    sections
        .iter()
        .map(|part| {
            let (head, bytes) = part.split_once("\r\n\r\n").unwrap();
            let range = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Range: "))
                .unwrap();
            (range.to_owned(), bytes.to_owned())
        })
        .collect()
}

fn owned(parts: &[(&str, &str)]) -> Vec<(String, String)> {
    parts
        .iter()
        .map(|(range, bytes)| (range.to_string(), bytes.to_string()))
        .collect()
}

/// RFC 9110 15.3.7.2: parts come in the order asked for unless ranges were coalesced,
/// which sorts them by offset.
#[tokio::test]
async fn multipart_parts_keep_the_request_order() {
    let s = TestServer::signed().await;
    s.root.write("ten.bin", b"0123456789");
    let path = s.raw("ten.bin");
    let cases: [(&str, &[(&str, &str)]); 3] = [
        (
            "bytes=8-,0-1",
            &[("bytes 8-9/10", "89"), ("bytes 0-1/10", "01")],
        ),
        (
            "bytes=-1,4-5,0-0",
            &[
                ("bytes 9-9/10", "9"),
                ("bytes 4-5/10", "45"),
                ("bytes 0-0/10", "0"),
            ],
        ),
        // 0-1 and 1-2 overlap and are merged: every part in offset order.
        (
            "bytes=8-,0-1,1-2",
            &[("bytes 0-2/10", "012"), ("bytes 8-9/10", "89")],
        ),
    ];
    for (range, want) in cases {
        let r = s.get_with(&path, &[("range", range)]).await;
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(byteranges_parts(&r), owned(want), "{range}");
    }
}

#[tokio::test]
async fn conditional_requests() {
    let s = TestServer::signed().await;
    let path = s.raw("photo.jpg");
    let first = s.get(&path).await;
    let etag = first.header("etag").unwrap().to_string();
    let lm = first.header("last-modified").unwrap().to_string();

    let r = s.get_with(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert!(r.header("cache-control").is_some());

    let r = s
        .get_with(&path, &[("if-none-match", "\"other\", W/\"x\"")])
        .await;
    assert_eq!(r.status, 200);
    let r = s.get_with(&path, &[("if-none-match", "*")]).await;
    assert_eq!(r.status, 304);

    let r = s.get_with(&path, &[("if-modified-since", &lm)]).await;
    assert_eq!(r.status, 304);
    let r = s
        .get_with(
            &path,
            &[("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT")],
        )
        .await;
    assert_eq!(r.status, 200);
    // If-None-Match wins over If-Modified-Since.
    let r = s
        .get_with(
            &path,
            &[("if-none-match", "\"other\""), ("if-modified-since", &lm)],
        )
        .await;
    assert_eq!(r.status, 200);

    let r = s.get_with(&path, &[("if-match", "\"other\"")]).await;
    assert_eq!(r.status, 412);
    assert!(!r.body.is_empty());
    let r = s.get_with(&path, &[("if-match", &etag)]).await;
    assert_eq!(r.status, 200);
    let r = s
        .get_with(
            &path,
            &[("if-unmodified-since", "Sat, 01 Jan 2000 00:00:00 GMT")],
        )
        .await;
    assert_eq!(r.status, 412);
}

#[tokio::test]
async fn if_range() {
    let s = TestServer::signed().await;
    let path = s.raw("digits.bin");
    let etag = s.get(&path).await.header("etag").unwrap().to_string();
    let r = s
        .get_with(&path, &[("range", "bytes=0-1"), ("if-range", &etag)])
        .await;
    assert_eq!(r.status, 206);
    let r = s
        .get_with(&path, &[("range", "bytes=0-1"), ("if-range", "\"stale\"")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 1000);
}

async fn first_two_if_range(s: &TestServer, path: &str, if_range: &str) -> TestResponse {
    s.get_with(path, &[("range", "bytes=0-1"), ("if-range", if_range)])
        .await
}

/// RFC 9110 13.1.5 and 8.8.2.2: an `If-Range` date is a strong validator only when the
/// file was last modified at least a second before the response's `Date`.
#[tokio::test]
async fn if_range_date_is_strong_only_a_second_after_the_change() {
    let s = TestServer::signed().await;
    // An hour-old file: its date names one version, so the range is served.
    let old = std::fs::File::options()
        .write(true)
        .open(s.root.path().join("digits.bin"))
        .unwrap();
    old.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let path = s.raw("digits.bin");
    let lm = s
        .get(&path)
        .await
        .header("last-modified")
        .unwrap()
        .to_owned();
    let r = first_two_if_range(&s, &path, &lm).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.text(), "01");

    // A file written in the second of the response may change again within it: the
    // date is weak and the whole body is sent. Written just after a second starts, so
    // the answer is almost surely dated the same second; a late answer is retried.
    let path = s.raw("fresh.bin");
    for _ in 0..5 {
        let into_second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_millis();
        tokio::time::sleep(Duration::from_millis(u64::from(1010 - into_second))).await;
        s.root.write("fresh.bin", digits(0..=99).as_bytes());
        let head = s.request(Method::HEAD, &path, &[]).await;
        let lm = head.header("last-modified").unwrap().to_owned();
        let r = first_two_if_range(&s, &path, &lm).await;
        if r.header("date") != Some(lm.as_str()) {
            continue;
        }
        assert_eq!(r.status, 200, "Last-Modified and Date {lm}");
        assert_eq!(r.text(), digits(0..=99));
        return;
    }
    panic!("no answer was dated the second its file was written");
}

#[tokio::test]
async fn head_matches_get_without_body() {
    let s = TestServer::signed().await;
    let path = s.raw("photo.jpg");
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
            "x-content-type-options",
        ],
    )
    .await;
    // HEAD of an error keeps the error's status and length, without the body.
    let head = s.request(Method::HEAD, &s.raw("missing.jpg"), &[]).await;
    assert_eq!(head.status, 404);
    assert!(head.header("content-length").unwrap() != "0");
}

#[tokio::test]
async fn attachment_filename_and_expiry() {
    let s = TestServer::signed().await;
    let r = s
        .get(&s.sign("local:///photo.jpg", "raw:1/att:1/fn:caf%C3%A9%20photo"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"caf_ photo.jpg\"; filename*=UTF-8''caf%C3%A9%20photo.jpg")
    );

    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 120;
    let r = s
        .get(&s.sign("local:///photo.jpg", &format!("raw:1/exp:{soon}")))
        .await;
    assert_eq!(r.status, 200);
    let cc = r.header("cache-control").unwrap();
    let max_age: u64 = cc.split("max-age=").nth(1).unwrap().parse().unwrap();
    assert!(max_age <= 120 && max_age > 100, "{cc}");

    let r = s
        .get(&s.sign("local:///photo.jpg", "raw:1/exp:1000000000"))
        .await;
    assert_eq!(r.status, 410);
    assert!(r.text().contains("expired"), "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn cachebuster_changes_url_not_bytes() {
    let s = TestServer::signed().await;
    let a = s.get(&s.sign("local:///photo.jpg", "raw:1/cb:1")).await;
    let b = s.get(&s.sign("local:///photo.jpg", "raw:1/cb:2")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b.body);
}
