//! The published imgproxy URL builders against the real aperture binary: npm's
//! `@imgproxy/imgproxy-node` and PyPI's `imgproxy`, installed by
//! `scripts/url-builders.sh install` (once, cached in ~/.cache/url-builders), sign URLs
//! with the server's key and salt through the one-shot scripts in `tests/builders/`.
//! Each URL must be accepted and give the right image; a URL signed with another key
//! must get 403. A builder whose install fails fails the test; only a missing install
//! tool (npm, python3) skips it, with a note.
//!
//! What the builders produce: imgproxy-node writes options by their short names in
//! alphabetical order (`el:t/f:png/g:no/h:200/rt:fit/w:300`, booleans as `t`, `rs:` for
//! a `resize` group, `raw:t`) and the source in base64 by default, or `plain/` unescaped
//! with `displayAs: "plain"`; `imgproxy` (Python) always writes
//! `ADVANCED/g:G/rs:TYPE:W:H:0|1/BASE64[.ext]`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aperture::options::{self, Presets};
use aperture::pipeline::probe::{self, SourceFormat};
use aperture::pipeline::{self, Settings};
use serde_json::{Value, json};

use crate::support::child::ChildServer;
use crate::support::{KEY_HEX, SALT_HEX, TestResponse, fixtures, get_url};

/// What a case must give: format and size of the decoded image, or `None` for the
/// source's bytes unchanged (`raw:1`).
type Expected = Option<(SourceFormat, u32, u32)>;

/// Another key and salt: URLs signed with them must be refused.
const OTHER_KEY: &str = "6f74686572";
const OTHER_SALT: &str = "73616c74";

/// `scripts/url-builders.sh install`: builder name -> path, and the skip notes.
fn install() -> (BTreeMap<String, PathBuf>, Vec<String>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/url-builders.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("install")
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/url-builders.sh (is bash installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "installing the URL builders failed (see the lines above); output: {stdout}"
    );
    let mut found = BTreeMap::new();
    let mut skipped = Vec::new();
    for line in stdout.lines() {
        match line.split_once('=') {
            Some(("skip", why)) => skipped.push(why.to_owned()),
            Some((name, path)) => {
                found.insert(name.to_owned(), PathBuf::from(path));
            }
            None => panic!("unexpected line from url-builders.sh: {line}"),
        }
    }
    (found, skipped)
}

/// Runs a signer script with `spec` on stdin; returns its URLs, one per case.
fn sign(mut cmd: Command, spec: &Value) -> Vec<String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let urls: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let cases = spec["cases"].as_array().unwrap().len();
    assert_eq!(urls.len(), cases, "one URL per case: {urls:?}");
    urls
}

/// The spec for a signer: endpoint, key, salt, cases.
fn spec(s: &ChildServer, key: &str, salt: &str, cases: &[Value]) -> Value {
    json!({"endpoint": format!("http://{}", s.addr), "key": key, "salt": salt, "cases": cases})
}

/// Format and size of an image answer, after decoding it in full.
fn decoded(url: &str, r: &TestResponse) -> (SourceFormat, u32, u32) {
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    let p = probe::probe(&r.body, u64::MAX)
        .unwrap_or_else(|e| panic!("{url}: the answer is not an image: {e}"));
    let mut opts = options::parse(&[], &Presets::empty()).unwrap();
    opts.format = Some(options::OutputFormat::Png);
    let v = pipeline::run_caught(&r.body, &opts, None, &Settings::default())
        .unwrap_or_else(|e| panic!("{url}: the answer does not decode: {e}"));
    assert_eq!((v.width, v.height), (p.width, p.height), "{url}");
    (p.format, p.width, p.height)
}

/// Signs `cases` with the server's key and with another one; checks the images of the
/// first and that the second are all refused.
async fn check(s: &ChildServer, signer: impl Fn() -> Command, cases: &[(Value, Expected)]) {
    let specs: Vec<Value> = cases.iter().map(|(c, _)| c.clone()).collect();
    let urls = sign(signer(), &spec(s, KEY_HEX, SALT_HEX, &specs));
    for (url, (_, want)) in urls.iter().zip(cases) {
        let r = get_url(url).await;
        match want {
            Some(want) => assert_eq!(decoded(url, &r), *want, "{url}"),
            None => {
                assert_eq!(r.status, 200, "{url}: {}", r.text());
                assert_eq!(
                    &r.body[..],
                    std::fs::read(fixtures().join("photo.jpg")).unwrap()
                );
            }
        }
    }
    for url in sign(signer(), &spec(s, OTHER_KEY, OTHER_SALT, &specs)) {
        let r = get_url(&url).await;
        assert_eq!(
            r.status,
            403,
            "{url} (signed with another key): {}",
            r.text()
        );
    }
}

fn skip_note(builder: &str, skipped: &[String]) {
    let why: Vec<&String> = skipped.iter().filter(|s| s.starts_with(builder)).collect();
    eprintln!("NOTE: skipping the {builder} check: {why:?}");
}

#[tokio::test]
async fn imgproxy_node_urls_are_accepted() {
    let (found, skipped) = install();
    let Some(node_modules) = found.get("node_modules").cloned() else {
        return skip_note("imgproxy-node", &skipped);
    };
    let s = ChildServer::start(&[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/builders/imgproxy_node.js");
    let signer = || {
        let mut cmd = Command::new("node");
        cmd.arg(&script).env("NODE_PATH", &node_modules);
        cmd
    };
    let plain = |src: &str| json!({"value": src, "displayAs": "plain"});
    // photo.jpg is 1200x800, badge.png 512x512 RGBA
    let cases = [
        (
            json!({"url": "local:///photo.jpg",
                   "options": {"resizing_type": "fit", "width": 300, "height": 300}}),
            Some((SourceFormat::Jpeg, 300, 200)),
        ),
        (
            json!({"url": plain("local:///photo.jpg"),
                   "options": {"resize": {"resizing_type": "fill", "width": 100, "height": 100},
                               "gravity": {"type": "no"}, "format": "png"}}),
            Some((SourceFormat::Png, 100, 100)),
        ),
        (
            json!({"url": "local:///badge.png",
                   "options": {"width": 600, "enlarge": 1, "format": "webp", "quality": 70}}),
            Some((SourceFormat::Webp, 600, 600)),
        ),
        (
            json!({"url": plain("local:///badge.png"),
                   "options": {"size": {"width": 64, "height": 32}, "format": "jpg"}}),
            Some((SourceFormat::Jpeg, 32, 32)),
        ),
        (
            json!({"url": "local:///photo.jpg", "options": {"raw": true}}),
            None,
        ),
    ];
    check(&s, signer, &cases).await;
}

#[tokio::test]
async fn imgproxy_python_urls_are_accepted() {
    let (found, skipped) = install();
    let Some(python) = found.get("python").cloned() else {
        return skip_note("imgproxy", &skipped);
    };
    let s = ChildServer::start(&[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/builders/imgproxy_py.py");
    let signer = || {
        let mut cmd = Command::new(&python);
        cmd.arg(&script);
        cmd
    };
    let cases = [
        (
            json!({"url": "local:///photo.jpg",
                   "params": {"resizing_type": "fit", "width": 300, "height": 300}}),
            Some((SourceFormat::Jpeg, 300, 200)),
        ),
        (
            json!({"url": "local:///photo.jpg", "params": {"resizing_type": "fill",
                   "width": 100, "height": 100, "gravity": "no", "extension": "png"}}),
            Some((SourceFormat::Png, 100, 100)),
        ),
        (
            json!({"url": "local:///badge.png", "advanced": ["q:70", "f:webp"],
                   "params": {"width": 600, "enlarge": true, "gravity": "sm"}}),
            Some((SourceFormat::Webp, 600, 600)),
        ),
        (
            json!({"url": "local:///photo.jpg", "advanced": ["raw:1"]}),
            None,
        ),
    ];
    check(&s, signer, &cases).await;
}
