//! `aperture-loadtest`: a load generator for aperture that speaks real HTTP on loopback,
//! bounded in requests and time, and verifies every response (status, non-empty body,
//! Content-Length, sampled image dimensions). Scenarios and targets are issue 5's; see
//! loadtest/README.md for usage and the latest full-run table.

mod http;
mod scenarios;
mod stats;
mod target;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant, SystemTime};

use aperture::url::signature::Signer;
use clap::Parser;

use scenarios::{Ctx, Plan, Source};
use stats::Report;
use target::{RssSampler, Spawned};

const SCENARIOS: [&str; 5] = ["carousel", "cold-burst", "range", "stampede", "mixed"];

#[derive(Debug, Parser)]
#[command(
    name = "aperture-loadtest",
    about = "Load test for aperture (issue 5 scenarios)"
)]
struct Args {
    /// carousel, cold-burst, range, stampede, mixed, or all.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Seconds per scenario (default 20; 3 with --smoke).
    #[arg(long)]
    duration: Option<u64>,
    /// Cap on requests per scenario (default: scenario-specific).
    #[arg(long)]
    requests: Option<u64>,
    /// A few seconds per scenario with small counts (what CI runs).
    #[arg(long)]
    smoke: bool,
    /// Test a running server instead of starting one (needs --root).
    #[arg(long)]
    url: Option<String>,
    /// The server's local root, where the test images and blob are put. Default: a
    /// temp dir given to the spawned server.
    #[arg(long)]
    root: Option<PathBuf>,
    /// With --url: the server's PID, to sample its RSS.
    #[arg(long)]
    pid: Option<u32>,
    /// The aperture binary to spawn.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/aperture"))]
    aperture_bin: PathBuf,
    /// Large test photos (photo-24mp.jpg, photo-2mp.jpg); samples/ is used without them.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/bench-images"))]
    images: PathBuf,
    /// Hex key and salt of a --url server that checks signatures.
    #[arg(long, default_value = "")]
    key: String,
    #[arg(long, default_value = "")]
    salt: String,
    /// carousel: milliseconds a user pauses between pages (default 1000; 0 = no pause,
    /// a saturation test; smoke runs use 0).
    #[arg(long)]
    think_ms: Option<u64>,
    /// Fail when a scenario's server peak RSS exceeds this.
    #[arg(long)]
    max_rss_mb: Option<u64>,
    /// Extra environment for the spawned server, as NAME=VALUE (repeatable), e.g.
    /// `--server-env APERTURE_MEMORY_BUDGET_MB=192` to measure a sizing-guide row.
    /// The defaults are the settings (budget 256 MB, cache 128 MB).
    #[arg(long = "server-env", value_parser = parse_env_pair)]
    server_env: Vec<(String, String)>,
}

/// A person looking at a page of thumbnails before asking for the next one.
const DEFAULT_THINK_MS: u64 = 1000;

/// Concurrency and request caps per scenario: the figures for a full run,
/// small ones for smoke (so a debug server in CI finishes in seconds).
fn plan(name: &str, args: &Args) -> Plan {
    let secs = args.duration.unwrap_or(if args.smoke { 3 } else { 20 });
    let (users, requests) = match (name, args.smoke) {
        ("carousel", false) => (64, 2_000_000),
        ("carousel", true) => (16, 2_000),
        ("cold-burst", false) => (64, 100_000),
        ("cold-burst", true) => (16, 32),
        ("range", false) => (32, 2_000_000),
        ("range", true) => (8, 400),
        // coalescing 200 is the point and costs one pipeline run, even in smoke
        ("stampede", false) => (200, 100_000),
        _ => (200, 200),
    };
    Plan {
        duration: Duration::from_secs(secs),
        requests: args.requests.unwrap_or(requests),
        users,
        think: Duration::from_millis(args.think_ms.unwrap_or(if args.smoke {
            0
        } else {
            DEFAULT_THINK_MS
        })),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let names: Vec<&str> = match args.scenario.as_str() {
        "all" => SCENARIOS.to_vec(),
        s if SCENARIOS.contains(&s) => vec![s],
        s => {
            eprintln!(
                "--scenario {s}: expected one of {} or all",
                SCENARIOS.join(", ")
            );
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(&args, &names)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            println!("loadtest: FAILED");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("loadtest: {e}");
            ExitCode::from(2)
        }
    }
}

/// Picks the test images: the shared bench photos when present, else samples/.
fn images(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let mut pool: Vec<PathBuf> = ["sunset.jpg", "badge.png", "checker.webp"]
        .iter()
        .map(|n| samples.join(n))
        .collect();
    let photo2 = dir.join("photo-2mp.jpg");
    if photo2.is_file() {
        pool.push(photo2);
    }
    let photo24 = dir.join("photo-24mp.jpg");
    let big = if photo24.is_file() {
        vec![photo24]
    } else {
        pool[..3].to_vec()
    };
    (pool, big)
}

/// Decodes `--key`/`--salt` hex.
fn hex(s: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("`{s}` is not hex");
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
        .collect()
}

fn source(path: &Path) -> Result<Source, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let p = aperture::pipeline::probe::probe(&bytes, u64::MAX)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    Ok(Source {
        name: name.into_owned(),
        width: p.width,
        height: p.height,
    })
}

async fn run(args: &Args, names: &[&str]) -> Result<bool, String> {
    let (pool, big) = images(&args.images);
    let tmp = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let root = args.root.clone().unwrap_or_else(|| tmp.path().join("root"));
    if args.url.is_some() && args.root.is_none() {
        return Err("--url needs --root (the server's local root, for the test files)".into());
    }
    let mut all: Vec<PathBuf> = pool.clone();
    all.extend(big.iter().filter(|b| !pool.contains(b)).cloned());
    target::prepare_root(&root, &all)?;

    let pairs = if args.key.is_empty() {
        vec![]
    } else {
        vec![(hex(&args.key)?, hex(&args.salt)?)]
    };
    let pool: Vec<Source> = pool.iter().map(|p| source(p)).collect::<Result<_, _>>()?;
    let big: Vec<Source> = big.iter().map(|p| source(p)).collect::<Result<_, _>>()?;
    println!(
        "loadtest: server {}, carousel pool {:?} (think {:?}), large {:?}",
        args.url
            .clone()
            .unwrap_or_else(|| args.aperture_bin.display().to_string()),
        pool.iter().map(Source::label).collect::<Vec<_>>(),
        plan("carousel", args).think,
        big.iter().map(Source::label).collect::<Vec<_>>(),
    );
    let mut reports = Vec::new();
    for name in names {
        // A spawned server is fresh for each scenario, so each peak RSS is that
        // scenario's own and not what an earlier one left in the allocator.
        let mut spawned = match &args.url {
            Some(_) => None,
            None => Some(Spawned::start(&args.aperture_bin, &root, &args.server_env)?),
        };
        let (base, pid) = match (&args.url, &spawned) {
            (Some(url), _) => (url.trim_end_matches('/').to_owned(), args.pid),
            (None, Some(s)) => (format!("http://{}", s.addr), Some(s.pid())),
            (None, None) => unreachable!("spawned above"),
        };
        let ctx = Arc::new(Ctx {
            client: http::client(),
            base,
            signer: Signer::new(pairs.clone(), 32, true),
            pool: pool.clone(),
            big: big.clone(),
            run_id: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            next_cb: AtomicU64::new(0),
        });
        let sampler = pid.map(RssSampler::start);
        if let Some(s) = &sampler {
            s.reset();
        }
        let start = Instant::now();
        let mut out = run_scenario(&ctx, name, args).await;
        let elapsed = start.elapsed();
        let peak = sampler.as_ref().map(RssSampler::peak);
        if let Some(s) = spawned.as_mut().and_then(Spawned::exited) {
            out[0]
                .1
                .push((format!("server exited during the scenario ({s})"), false));
        }
        for (label, mut checks, stats) in out {
            if let (Some(max), Some(p)) = (args.max_rss_mb, peak) {
                checks.push((format!("peak RSS < {max} MB"), p < max * 1024 * 1024));
            }
            let mut r = Report {
                name: label,
                stats,
                elapsed,
                peak_rss: peak,
                checks,
            };
            r.print();
            reports.push(r);
        }
    }
    println!("\n{}", Report::table_header());
    for r in &mut reports {
        println!("{}", r.table_row());
    }
    Ok(reports.iter().all(Report::ok))
}

/// One line for the stampede rounds: all must have grown the miss counter by exactly 1.
fn stampede_checks(growth: &[Result<f64, String>]) -> Vec<(String, bool)> {
    let bad: Vec<String> = growth
        .iter()
        .enumerate()
        .filter_map(|(i, g)| match g {
            Ok(d) if *d == 1.0 => None,
            Ok(d) => Some(format!("round {i}: +{d}")),
            Err(e) => Some(format!("round {i}: {e}")),
        })
        .collect();
    let text = if bad.is_empty() {
        format!(
            "{} rounds: aperture_cache_misses_total grew by exactly 1 in each",
            growth.len()
        )
    } else {
        format!(
            "{} of {} rounds did not grow cache misses by exactly 1: {}",
            bad.len(),
            growth.len(),
            bad.join(", ")
        )
    };
    vec![(text, !growth.is_empty() && bad.is_empty())]
}

type Outcome = (String, Vec<(String, bool)>, stats::Stats);

/// Runs one scenario; `mixed` yields one outcome per component.
async fn run_scenario(ctx: &Arc<Ctx>, name: &str, args: &Args) -> Vec<Outcome> {
    let c = ctx.clone();
    match name {
        "carousel" => vec![(
            name.into(),
            vec![],
            scenarios::carousel(c, plan(name, args)).await,
        )],
        "cold-burst" => vec![(
            name.into(),
            vec![],
            scenarios::cold_burst(c, plan(name, args)).await,
        )],
        "range" => vec![(
            name.into(),
            vec![],
            scenarios::range(c, plan(name, args)).await,
        )],
        "stampede" => {
            let (stats, growth) = scenarios::stampede(c, plan(name, args), true).await;
            vec![(name.into(), stampede_checks(&growth), stats)]
        }
        _ => {
            // all four at once; the stampede's miss count cannot be isolated here
            let (a, b, r, (s, _)) = tokio::join!(
                scenarios::carousel(c.clone(), plan("carousel", args)),
                scenarios::cold_burst(c.clone(), plan("cold-burst", args)),
                scenarios::range(c.clone(), plan("range", args)),
                scenarios::stampede(c, plan("stampede", args), false),
            );
            vec![
                ("mixed/carousel".into(), vec![], a),
                ("mixed/cold-burst".into(), vec![], b),
                ("mixed/range".into(), vec![], r),
                ("mixed/stampede".into(), vec![], s),
            ]
        }
    }
}

/// `NAME=VALUE` for `--server-env`.
fn parse_env_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, got `{text}`")),
    }
}
