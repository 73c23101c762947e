//! The load scenarios of issue 5. Every one is bounded by a deadline and a request
//! budget, and every response goes through `http::fetch`'s checks.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aperture::cli::signed_path;
use aperture::pipeline::SourceFormat;
use aperture::url::signature::Signer;
use tokio::task::JoinSet;

use crate::http::{self, Expect, HttpClient, Image};
use crate::stats::Stats;
use crate::target::{BLOB_NAME, BLOB_SIZE};

/// A source image in the server's root and its stored size.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub width: u32,
    pub height: u32,
}

impl Source {
    pub fn label(&self) -> String {
        format!("{} {}x{}", self.name, self.width, self.height)
    }
}

/// What every scenario shares.
pub struct Ctx {
    pub client: HttpClient,
    pub base: String,
    pub signer: Signer,
    /// Carousel images (small to medium uploads).
    pub pool: Vec<Source>,
    /// Large photos for cold-burst and stampede.
    pub big: Vec<Source>,
    /// Makes cache-busters unique across runs against a long-lived `--url` server.
    pub run_id: u64,
    pub next_cb: AtomicU64,
}

/// One scenario's bounds: wall time, request count, concurrent users.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub duration: Duration,
    pub requests: u64,
    pub users: usize,
    /// `carousel`: a user's pause between pages (reading the page). Zero makes every
    /// user a robot that asks for the next page at once: a saturation test, where the
    /// misses arrive faster than two cores can make them and queue.
    pub think: Duration,
}

/// `fill` to these sizes gives exactly W x H from any pool image (all are at least
/// 480 px on each side), so the expected dimensions are known without a model of the
/// planner.
const SIZES: [(u32, u32); 5] = [(120, 120), (200, 150), (300, 200), (160, 90), (240, 240)];
const FORMATS: [&str; 2] = ["webp", "jpg"];
const PAGE: usize = 20;
/// Size of a cold-burst / stampede variant.
const THUMB: (u32, u32) = (300, 200);

impl Ctx {
    fn cache_buster(&self) -> String {
        let n = self.next_cb.fetch_add(1, Ordering::Relaxed);
        format!("cb:{}-{n}", self.run_id)
    }

    /// Signed path of a `fill` variant and the header it must have.
    fn variant(&self, src: &Source, (w, h): (u32, u32), ext: &str, cb: bool) -> (String, Image) {
        let mut opts = format!("rs:fill:{w}:{h}");
        if cb {
            opts.push('/');
            opts.push_str(&self.cache_buster());
        }
        let source = format!("local:///{}", src.name);
        let path = signed_path(&self.signer, &source, &opts, Some(ext), false);
        let format = match ext {
            "webp" => SourceFormat::Webp,
            "png" => SourceFormat::Png,
            _ => SourceFormat::Jpeg,
        };
        let image = Image {
            format,
            width: w,
            height: h,
        };
        (path, image)
    }

    pub async fn misses(&self) -> Result<f64, String> {
        let text = http::get_text(&self.client, &format!("{}/metrics", self.base)).await?;
        http::metric(&text, "aperture_cache_misses_total")
            .ok_or_else(|| "/metrics has no aperture_cache_misses_total".to_owned())
    }
}

/// Shared request budget and deadline of one scenario.
struct Budget {
    deadline: Instant,
    left: AtomicU64,
}

impl Budget {
    fn new(plan: &Plan) -> Arc<Budget> {
        Arc::new(Budget {
            deadline: Instant::now() + plan.duration,
            left: AtomicU64::new(plan.requests),
        })
    }

    /// Takes up to `n` requests; 0 once the time or the count is spent.
    fn take(&self, n: u64) -> u64 {
        if Instant::now() >= self.deadline {
            return 0;
        }
        let mut got = 0;
        let _ = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                got = left.min(n);
                Some(left - got)
            });
        got
    }

    /// Sleeps `d`, or until the deadline if that comes first.
    async fn sleep(&self, d: Duration) {
        let until = (Instant::now() + d).min(self.deadline);
        tokio::time::sleep_until(until.into()).await;
    }
}

/// Small xorshift generator: enough spread for picking pages and ranges, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Runs `users` tasks and merges their stats.
async fn run_users<F, Fut>(users: usize, f: F) -> Stats
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Stats> + Send + 'static,
{
    let mut set = JoinSet::new();
    for i in 0..users {
        set.spawn(f(i));
    }
    let mut total = Stats::default();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(s) => total.merge(s),
            Err(e) => {
                total.errors += 1;
                total.fail(format!("client task failed: {e}"));
            }
        }
    }
    total
}

/// `carousel`: each user views pages of 20 variants of the pool, pausing `plan.think`
/// after each page; one request in ten carries a fresh cache-buster (a miss), the rest
/// hit the cache once warm.
pub async fn carousel(ctx: Arc<Ctx>, plan: Plan) -> Stats {
    let budget = Budget::new(&plan);
    run_users(plan.users, |user| {
        let (ctx, budget) = (ctx.clone(), budget.clone());
        async move {
            let mut catalog = Vec::new();
            for src in &ctx.pool {
                for size in SIZES {
                    for ext in FORMATS {
                        catalog.push((src, size, ext));
                    }
                }
            }
            let mut rng = Rng::new(ctx.run_id ^ user as u64);
            let mut stats = Stats::default();
            let mut n = 0u64;
            'pages: loop {
                let first = rng.below(catalog.len() as u64) as usize;
                for k in 0..PAGE {
                    if budget.take(1) == 0 {
                        break 'pages;
                    }
                    let (src, size, ext) = catalog[(first + k) % catalog.len()];
                    let miss = rng.below(10) == 0;
                    let (path, image) = ctx.variant(src, size, ext, miss);
                    let expect = Expect::image(image, n.is_multiple_of(10));
                    http::fetch(&ctx.client, &ctx.base, &path, None, &expect, &mut stats).await;
                    n += 1;
                }
                if !plan.think.is_zero() {
                    budget.sleep(plan.think).await;
                }
            }
            stats
        }
    })
    .await
}

/// `cold-burst`: rounds of `users` simultaneous requests, each for a distinct uncached
/// variant (unique cache-buster) of a large photo.
pub async fn cold_burst(ctx: Arc<Ctx>, plan: Plan) -> Stats {
    let budget = Budget::new(&plan);
    let mut total = Stats::default();
    loop {
        let n = budget.take(plan.users as u64) as usize;
        if n == 0 {
            break;
        }
        let round = run_users(n, |i| {
            let ctx = ctx.clone();
            async move {
                let src = &ctx.big[i % ctx.big.len()];
                let (path, image) = ctx.variant(src, THUMB, FORMATS[i % 2], true);
                let expect = Expect::image(image, i.is_multiple_of(10));
                let mut stats = Stats::default();
                http::fetch(&ctx.client, &ctx.base, &path, None, &expect, &mut stats).await;
                stats
            }
        })
        .await;
        total.merge(round);
    }
    total
}

/// `range`: users read random single ranges (1 byte to 1 MiB) of the 200 MB blob.
pub async fn range(ctx: Arc<Ctx>, plan: Plan) -> Stats {
    let budget = Budget::new(&plan);
    let path = signed_path(
        &ctx.signer,
        &format!("local:///{BLOB_NAME}"),
        "raw:1",
        None,
        false,
    );
    run_users(plan.users, |user| {
        let (ctx, budget, path) = (ctx.clone(), budget.clone(), path.clone());
        async move {
            let mut rng = Rng::new(ctx.run_id ^ (user as u64 + 1000));
            let mut stats = Stats::default();
            while budget.take(1) == 1 {
                let a = rng.below(BLOB_SIZE);
                let len = 1 + rng.below(1024 * 1024);
                let b = (a + len - 1).min(BLOB_SIZE - 1);
                let expect = Expect {
                    status: 206,
                    allow_503: false,
                    image: None,
                    decode: false,
                    range: Some((a, b, BLOB_SIZE)),
                };
                http::fetch(
                    &ctx.client,
                    &ctx.base,
                    &path,
                    Some((a, b)),
                    &expect,
                    &mut stats,
                )
                .await;
            }
            stats
        }
    })
    .await
}

/// `stampede`: rounds of `users` simultaneous requests for one uncached variant. With
/// `exact` (nothing else running), each round must grow `aperture_cache_misses_total`
/// by exactly 1: one pipeline run shared by all. Returns the per-round growth.
pub async fn stampede(ctx: Arc<Ctx>, plan: Plan, exact: bool) -> (Stats, Vec<Result<f64, String>>) {
    let budget = Budget::new(&plan);
    let mut total = Stats::default();
    let mut growth = Vec::new();
    loop {
        let n = budget.take(plan.users as u64) as usize;
        if n == 0 {
            break;
        }
        let before = if exact { ctx.misses().await } else { Ok(0.0) };
        let (path, image) = ctx.variant(&ctx.big[0], THUMB, "webp", true);
        let path = Arc::new(path);
        let round = run_users(n, |i| {
            let (ctx, path) = (ctx.clone(), path.clone());
            async move {
                let expect = Expect::image(image, i.is_multiple_of(10));
                let mut stats = Stats::default();
                http::fetch(&ctx.client, &ctx.base, &path, None, &expect, &mut stats).await;
                stats
            }
        })
        .await;
        total.merge(round);
        if exact {
            let after = ctx.misses().await;
            growth.push(before.and_then(|b| after.map(|a| a - b)));
        }
        // a short gap keeps rounds distinct stampedes rather than one continuous load
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (total, growth)
}
