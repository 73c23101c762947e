//! `aperture sign`: the binary prints only paths the server accepts, and otherwise exits
//! 2 with the server's own 400 line; it reads no source, so the local root need not exist.

use std::process::Output;

use crate::support::child::aperture_command;
use crate::support::{KEY_HEX, SALT_HEX, TestServer};

/// Runs `aperture sign` with the test key in an empty folder (no `samples/` there).
fn sign(args: &[&str]) -> Output {
    let empty = tempfile::tempdir().unwrap();
    aperture_command("sign")
        .args(args)
        .current_dir(empty.path())
        .env("APERTURE_KEY", KEY_HEX)
        .env("APERTURE_SALT", SALT_HEX)
        .output()
        .expect("run aperture sign")
}

#[tokio::test]
async fn sign_refuses_what_the_server_would_refuse() {
    let s = TestServer::signed().await;

    let out = sign(&["--source", "local:///photo.jpg", "--options", "raw:1"]);
    assert!(out.status.success(), "{out:?}");
    let path = String::from_utf8(out.stdout).unwrap();
    assert_eq!(s.get(path.trim_end()).await.status, 200);

    // The same line as the server's 400 body for the same options.
    let refused = s.get(&s.sign("local:///photo.jpg", "raw:1/bogus:1")).await;
    assert_eq!(refused.status, 400);
    let out = sign(&[
        "--source",
        "local:///photo.jpg",
        "--options",
        "raw:1/bogus:1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err, format!("aperture sign: {}", refused.text()));

    // `@we/bp` would be read as part of the source, never as the extension.
    let out = sign(&[
        "--source",
        "local:///photo.jpg",
        "--options",
        "rs:fit:10:10",
        "--extension",
        "we/bp",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "aperture sign: invalid option `.we/bp`: unknown format `we/bp`\n"
    );
}
