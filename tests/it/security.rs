//! Signatures (accepted, rejected, rotated, insecure mode) and source confinement.

use crate::support::{KEY_HEX, SALT_HEX, TestServer};

/// Computed independently of aperture's code with:
/// python3 -c "import hmac,hashlib,base64; print(base64.urlsafe_b64encode(hmac.new(
///   bytes.fromhex('736563726574'), bytes.fromhex('68656c6c6f') +
///   b'/raw:1/plain/local:///sunset.jpg', hashlib.sha256).digest()).rstrip(b'=').decode())"
const PYTHON_VECTOR: &str = "wauJSeCGR7-ZasuGiE8kr14MkdpCLutGEd8goZuqvDg";

#[tokio::test]
async fn independent_vector_is_accepted() {
    let s = TestServer::signed().await;
    let jpg = std::fs::read(s.root.path().join("photo.jpg")).unwrap();
    s.root.write("sunset.jpg", &jpg);
    let path = "/raw:1/plain/local:///sunset.jpg";
    assert_eq!(s.signer.sign(path), PYTHON_VECTOR);
    let r = s.get(&format!("/{PYTHON_VECTOR}{path}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, jpg);
}

#[tokio::test]
async fn bad_signatures_are_403_with_a_body() {
    let s = TestServer::signed().await;
    let good = s.raw("photo.jpg");
    let (sig, rest) = good[1..].split_once('/').unwrap();
    let rest = format!("/{rest}");
    let other_key = aperture::url::signature::Signer::new(
        vec![(b"other".to_vec(), hex::decode(SALT_HEX).unwrap())],
        32,
        false,
    );
    let other_salt = aperture::url::signature::Signer::new(
        vec![(hex::decode(KEY_HEX).unwrap(), b"pepper".to_vec())],
        32,
        false,
    );
    let cases = [
        ("wrong key", format!("/{}{rest}", other_key.sign(&rest))),
        ("wrong salt", format!("/{}{rest}", other_salt.sign(&rest))),
        ("truncated", format!("/{}{rest}", &sig[..20])),
        (
            "tampered path",
            format!("/{sig}{}", rest.replace("photo", "badge")),
        ),
        ("tampered signature", format!("/A{}{rest}", &sig[1..])),
        ("insecure", format!("/insecure{rest}")),
        ("underscore", format!("/_{rest}")),
        ("missing", format!("/{rest}")),
    ];
    for (what, path) in cases {
        let r = s.get(&path).await;
        assert_eq!(r.status, 403, "{what}: {}", r.text());
        assert!(r.text().starts_with("forbidden"), "{what}: {}", r.text());
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    assert_eq!(s.get(&good).await.status, 200);
}

#[tokio::test]
async fn rotated_keys_and_truncated_size() {
    let s = TestServer::start_with(|c| {
        c.security.pairs = vec![
            (b"new-key".to_vec(), b"new-salt".to_vec()),
            (
                hex::decode(KEY_HEX).unwrap(),
                hex::decode(SALT_HEX).unwrap(),
            ),
        ];
        c.security.signature_size = 8;
        c.security.allow_insecure = false;
    })
    .await;
    let old = aperture::url::signature::Signer::new(
        vec![(
            hex::decode(KEY_HEX).unwrap(),
            hex::decode(SALT_HEX).unwrap(),
        )],
        8,
        false,
    );
    let path = "/raw:1/plain/local:///photo.jpg";
    let sig = old.sign(path);
    assert_eq!(sig.len(), 11, "8 bytes -> 11 base64 chars");
    assert_eq!(s.get(&format!("/{sig}{path}")).await.status, 200);
    assert_eq!(s.get(&s.raw("photo.jpg")).await.status, 200);
}

#[tokio::test]
async fn insecure_mode_accepts_placeholders() {
    let s = TestServer::start_with(|_| {}).await;
    for sig in ["insecure", "_"] {
        let r = s
            .get(&format!("/{sig}/raw:1/plain/local:///photo.jpg"))
            .await;
        assert_eq!(r.status, 200, "{sig}");
    }
}

#[tokio::test]
async fn base64_sources_and_extensions() {
    let s = TestServer::signed().await;
    let path =
        aperture::cli::signed_path(&s.signer, "local:///photo.jpg", "raw:1", Some("png"), true);
    let r = s.get(&path).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("image/jpeg"),
        "raw ignores the extension"
    );
}

#[tokio::test]
async fn traversal_is_refused() {
    let s = TestServer::signed().await;
    std::fs::write(s.root.dir.path().join("secret.txt"), b"top secret").unwrap();
    std::os::unix::fs::symlink(
        s.root.dir.path().join("secret.txt"),
        s.root.path().join("escape.txt"),
    )
    .unwrap();
    std::fs::create_dir(s.root.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("/etc", s.root.path().join("sub/etc")).unwrap();
    let cases = [
        ("local:///../secret.txt", 400),
        ("local:///sub/../../secret.txt", 400),
        ("local:///%2e%2e/secret.txt", 400),
        ("local:///..%2fsecret.txt", 400),
        ("local:///escape.txt", 403),
        ("local:///sub/etc/passwd", 403),
    ];
    for (source, status) in cases {
        let r = s.get(&s.sign(source, "raw:1")).await;
        assert_eq!(r.status, status, "{source}: {}", r.text());
        assert!(!r.text().contains("top secret"));
        assert!(!r.body.is_empty());
    }
    // Raw, hand-written plain paths (the helper would escape `%`).
    for tail in [
        "/raw:1/plain/local:///%252e%252e/secret.txt",
        "/raw:1/plain/local:///..%252fsecret.txt",
        "/raw:1/plain/local:///sub%252f..%252f..%252fsecret.txt",
    ] {
        let path = format!("/{}{tail}", s.signer.sign(tail));
        let r = s.get(&path).await;
        assert!(
            r.status == 400 || r.status == 403 || r.status == 404,
            "{tail}: {}",
            r.status
        );
        assert!(!r.text().contains("top secret"));
    }
}
