//! `aperture-loadtest`: a load generator for aperture that speaks real HTTP on loopback,
//! bounded in requests and time, and verifies every response (status, non-empty body,
//! Content-Length, sampled image dimensions). Scenarios and targets are issue 5's; see
//! loadtest/README.md for usage and the latest full-run table.

// The corpus rules of the e2e tests, shared so the two never disagree; the e2e tests
// read fields the load test does not.
#[allow(dead_code)]
#[path = "../../tests/it/support/corpus.rs"]
mod corpus;
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

const SCENARIOS: [&str; 6] = [
    "carousel",
    "cold-burst",
    "range",
    "stampede",
    "hostile",
    "mixed",
];

#[derive(Debug, Parser)]
#[command(
    name = "aperture-loadtest",
    about = "Load test for aperture (issue 5 scenarios)"
)]
struct Args {
    /// carousel, cold-burst, range, stampede, hostile, mixed, or all.
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
    /// The server's request deadline in seconds (its APERTURE_REQUEST_TIMEOUT), for a
    /// --url server: an answer later than this plus 1 s counts as late. Default: the
    /// --server-env APERTURE_REQUEST_TIMEOUT if given, else aperture's 10 s.
    #[arg(long)]
    deadline_secs: Option<f64>,
}

/// aperture's default `APERTURE_REQUEST_TIMEOUT` (config/default.toml).
const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// The server's request deadline: `--deadline-secs`, else the spawned server's
/// `APERTURE_REQUEST_TIMEOUT` from `--server-env` (the last one wins, as in the
/// environment; parsed by aperture's own parser), else the default.
fn deadline(args: &Args) -> Result<Duration, String> {
    if let Some(secs) = args.deadline_secs {
        return Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or(format!(
                "--deadline-secs {secs}: expected a positive number"
            ));
    }
    match args
        .server_env
        .iter()
        .rev()
        .find(|(name, _)| name == "APERTURE_REQUEST_TIMEOUT")
    {
        Some((name, value)) => {
            aperture::config::parse_duration(value).map_err(|e| format!("--server-env {name}: {e}"))
        }
        None => Ok(DEFAULT_DEADLINE),
    }
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
        ("hostile", false) => (32, 100_000),
        ("hostile", true) => (8, 150),
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
    let corpus = if names.iter().any(|n| matches!(*n, "hostile" | "mixed")) {
        load_corpus(&root)?
    } else {
        Arc::from([])
    };
    let limits = http::Limits::for_deadline(deadline(args)?);

    let pairs = if args.key.is_empty() {
        vec![]
    } else {
        vec![(hex(&args.key)?, hex(&args.salt)?)]
    };
    let pool: Vec<Source> = pool.iter().map(|p| source(p)).collect::<Result<_, _>>()?;
    let big: Vec<Source> = big.iter().map(|p| source(p)).collect::<Result<_, _>>()?;
    println!(
        "loadtest: server {}, carousel pool {:?} (think {:?}), large {:?}, {} corpus files, \
         late after {:?}",
        args.url
            .clone()
            .unwrap_or_else(|| args.aperture_bin.display().to_string()),
        pool.iter().map(Source::label).collect::<Vec<_>>(),
        plan("carousel", args).think,
        big.iter().map(Source::label).collect::<Vec<_>>(),
        corpus.len(),
        limits.late_after,
    );
    let mut reports = Vec::new();
    for name in names {
        if *name == "hostile" && corpus.is_empty() {
            continue; // load_corpus said why
        }
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
            limits,
            corpus: corpus.clone(),
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

/// The corpus rows of the `hostile` scenario, copied under `CORPUS_DIR` in `root`;
/// none (with a note, not a failure) where there is no corpus, e.g. on a clone
/// elsewhere.
fn load_corpus(root: &Path) -> Result<Arc<[corpus::Row]>, String> {
    let repo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let dir = match corpus::find(repo) {
        Ok(dir) => dir,
        Err(looked) => {
            println!(
                "note: no corpus (manifest.csv) in {looked:?} (set APERTURE_CORPUS to one \
                 elsewhere): the hostile scenario is skipped"
            );
            return Ok(Arc::from([]));
        }
    };
    let rows = corpus::rows(&dir)?;
    if rows.is_empty() {
        println!(
            "note: {} lists no rows: the hostile scenario is skipped",
            dir.display()
        );
    }
    let to = root.join(scenarios::CORPUS_DIR);
    target::copy_tree(&dir, &to, rows.iter().map(|r| r.path.as_str()))?;
    Ok(rows.into())
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
        "hostile" => {
            let stats = scenarios::hostile(c, plan(name, args)).await;
            vec![(
                name.into(),
                vec![scenarios::still_serving(ctx).await],
                stats,
            )]
        }
        _ => {
            // all at once (hostile only with a corpus); the stampede's miss count
            // cannot be isolated here
            let hostile = async {
                if c.corpus.is_empty() {
                    None
                } else {
                    Some(scenarios::hostile(c.clone(), plan("hostile", args)).await)
                }
            };
            let (a, b, r, (s, _), h) = tokio::join!(
                scenarios::carousel(c.clone(), plan("carousel", args)),
                scenarios::cold_burst(c.clone(), plan("cold-burst", args)),
                scenarios::range(c.clone(), plan("range", args)),
                scenarios::stampede(c.clone(), plan("stampede", args), false),
                hostile,
            );
            let mut out = vec![
                ("mixed/carousel".into(), vec![], a),
                ("mixed/cold-burst".into(), vec![], b),
                ("mixed/range".into(), vec![], r),
                ("mixed/stampede".into(), vec![], s),
            ];
            if let Some(h) = h {
                let check = scenarios::still_serving(ctx).await;
                out.push(("mixed/hostile".into(), vec![check], h));
            }
            out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("aperture-loadtest").chain(extra.iter().copied()))
            .unwrap()
    }

    #[test]
    fn the_default_deadline_is_aperture_s() {
        // nothing set but the (required, existing) source root
        let env = [("APERTURE_LOCAL_ROOT", env!("CARGO_MANIFEST_DIR"))]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let config =
            aperture::config::Config::load(None, &env, &aperture::config::CliOverrides::default())
                .unwrap();
        assert_eq!(config.limits.request_timeout, DEFAULT_DEADLINE);
        assert_eq!(deadline(&args(&[])), Ok(DEFAULT_DEADLINE));
    }

    #[test]
    fn deadline_from_server_env_or_flag() {
        let env = |v: &str| args(&["--server-env", &format!("APERTURE_REQUEST_TIMEOUT={v}")]);
        assert_eq!(deadline(&env("10")), Ok(Duration::from_secs(10)));
        assert_eq!(deadline(&env("10s")), Ok(Duration::from_secs(10)));
        assert_eq!(deadline(&env("500ms")), Ok(Duration::from_millis(500)));
        assert_eq!(deadline(&env("2.5")), Ok(Duration::from_millis(2500)));
        assert!(
            deadline(&env("soon"))
                .unwrap_err()
                .contains("APERTURE_REQUEST_TIMEOUT")
        );
        // other variables do not matter; the last one wins, as in an environment
        let a = args(&[
            "--server-env",
            "APERTURE_REQUEST_TIMEOUT=3",
            "--server-env",
            "APERTURE_QUEUE_TIMEOUT=1",
            "--server-env",
            "APERTURE_REQUEST_TIMEOUT=4s",
        ]);
        assert_eq!(deadline(&a), Ok(Duration::from_secs(4)));
        // the flag (for --url servers) wins
        let a = args(&[
            "--server-env",
            "APERTURE_REQUEST_TIMEOUT=3",
            "--deadline-secs",
            "0.5",
        ]);
        assert_eq!(deadline(&a), Ok(Duration::from_millis(500)));
        assert!(deadline(&args(&["--deadline-secs", "0"])).is_err());
        assert!(deadline(&args(&["--deadline-secs=-1"])).is_err());
    }

    #[test]
    fn hostile_is_bounded_and_part_of_all() {
        assert!(SCENARIOS.contains(&"hostile"));
        let smoke = plan("hostile", &args(&["--smoke"]));
        assert_eq!((smoke.users, smoke.requests), (8, 150));
        assert_eq!(smoke.duration, Duration::from_secs(3));
        let full = plan("hostile", &args(&[]));
        assert_eq!(full.users, 32);
        assert_eq!(full.duration, Duration::from_secs(20));
    }
}
