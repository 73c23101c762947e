//! The load scenarios of issue 5. Every one is bounded by a deadline and a request
//! budget, and every response goes through `http::fetch`'s checks.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aperture::cli::signed_path;
use aperture::pipeline::SourceFormat;
use aperture::url::signature::Signer;
use tokio::task::JoinSet;

use crate::corpus::{Row, Rule};
use crate::http::{self, Accept, Expect, HttpClient, Image, Limits};
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
    /// Late mark and client timeout of every request.
    pub limits: Limits,
    /// `hostile`: the corpus rows, copied under [`CORPUS_DIR`] in the source root.
    pub corpus: Arc<[Row]>,
}

/// Where the corpus goes in the server's source root.
pub const CORPUS_DIR: &str = "corpus";

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
/// `hostile`: the box corpus files are fitted into.
const HOSTILE_FIT: (u32, u32) = (300, 300);
/// `hostile`: the output formats asked for in turn (`None`: the server picks).
const HOSTILE_EXTS: [Option<&str>; 3] = [Some("jpg"), Some("webp"), None];
/// `hostile`: the size of the pool variants that are asked for again and again, so
/// all but the first of each are cache hits.
const HOSTILE_HIT: (u32, u32) = SIZES[0];

/// The format of an answer asked for with extension `ext`.
fn ext_format(ext: &str) -> SourceFormat {
    match ext {
        "webp" => SourceFormat::Webp,
        "png" => SourceFormat::Png,
        _ => SourceFormat::Jpeg,
    }
}

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
        (path, Image::exactly(ext_format(ext), w, h))
    }

    /// Signed path of a fresh `rs:fit:300:300` variant of a corpus row (`ext`: the
    /// output format asked for, if any) and what its answer must be, by the row's rule.
    fn corpus_variant(&self, row: &Row, ext: Option<&str>) -> (String, Expect) {
        let (w, h) = HOSTILE_FIT;
        let opts = format!("rs:fit:{w}:{h}/{}", self.cache_buster());
        let source = format!("local:///{CORPUS_DIR}/{}", row.path);
        let path = signed_path(&self.signer, &source, &opts, ext, false);
        let expect = Expect {
            accept: accept(row.rule),
            allow_503: true,
            image: Some(Image::within(ext.map(ext_format), w, h)),
            // a header probe is cheap next to the pipeline run: every image answer
            decode: true,
            range: None,
        };
        (path, expect)
    }

    /// `http::fetch` against this server, with its limits.
    async fn fetch(
        &self,
        path: &str,
        range: Option<(u64, u64)>,
        expect: &Expect,
        stats: &mut Stats,
    ) -> Option<u16> {
        http::fetch(
            &self.client,
            &self.base,
            path,
            range,
            expect,
            self.limits,
            stats,
        )
        .await
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
                    ctx.fetch(&path, None, &expect, &mut stats).await;
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
                ctx.fetch(&path, None, &expect, &mut stats).await;
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
                    accept: Accept::Status(206),
                    allow_503: false,
                    image: None,
                    decode: false,
                    range: Some((a, b, BLOB_SIZE)),
                };
                ctx.fetch(&path, Some((a, b)), &expect, &mut stats).await;
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
                ctx.fetch(&path, None, &expect, &mut stats).await;
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

/// Which statuses a corpus row accepts: the e2e corpus test's rules (`corpus::Rule`),
/// with any 4xx as a refusal (the manifest's "a 4xx") where that test wants 422.
pub fn accept(rule: Rule) -> Accept {
    match rule {
        Rule::Decodes => Accept::Status(200),
        Rule::Rejects => Accept::Refusal,
        Rule::MayDecode | Rule::NotDecoded => Accept::ImageOrRefusal,
    }
}

/// The corpus request number `k` (counted across users): which row, in a shuffled
/// order that visits every row once per pass, and which output format, turning on
/// every pass so each row gets each of [`HOSTILE_EXTS`] in time.
fn corpus_pick(order: &[usize], k: usize) -> (usize, Option<&'static str>) {
    let len = order.len();
    (
        order[k % len],
        HOSTILE_EXTS[(k + k / len) % HOSTILE_EXTS.len()],
    )
}

/// `0..len` shuffled (Fisher-Yates).
fn shuffled(len: usize, rng: &mut Rng) -> Vec<usize> {
    let mut v: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        v.swap(i, rng.below(i as u64 + 1) as usize);
    }
    v
}

/// `hostile`: users alternate at random between a fresh `rs:fit:300:300` variant of a
/// corpus file (valid ones and hostile ones: bombs, truncations, random bytes, empty
/// files; every row once per pass, in a shuffled order; JPEG, WebP or the server's
/// pick in turn), each a pipeline run, and an ordinary variant of the pool (a cache
/// hit once warm), so the hits' latency shows what the hostile traffic does to
/// everyone else.
pub async fn hostile(ctx: Arc<Ctx>, plan: Plan) -> Stats {
    let budget = Budget::new(&plan);
    let order: Arc<[usize]> = shuffled(ctx.corpus.len(), &mut Rng::new(ctx.run_id)).into();
    let next = Arc::new(AtomicUsize::new(0));
    run_users(plan.users, |user| {
        let (ctx, budget, order, next) = (ctx.clone(), budget.clone(), order.clone(), next.clone());
        async move {
            let mut rng = Rng::new(ctx.run_id ^ (user as u64 + 2000));
            let mut stats = Stats::default();
            let mut n = 0u64;
            while budget.take(1) == 1 {
                if ctx.corpus.is_empty() || rng.below(2) == 0 {
                    let src = &ctx.pool[rng.below(ctx.pool.len() as u64) as usize];
                    let ext = FORMATS[rng.below(2) as usize];
                    let (path, image) = ctx.variant(src, HOSTILE_HIT, ext, false);
                    let expect = Expect::image(image, n.is_multiple_of(10));
                    if let Some(status) = ctx.fetch(&path, None, &expect, &mut stats).await {
                        stats.label("pool variants", status);
                    }
                } else {
                    let (i, ext) = corpus_pick(&order, next.fetch_add(1, Ordering::Relaxed));
                    let row = &ctx.corpus[i];
                    let (path, expect) = ctx.corpus_variant(row, ext);
                    if let Some(status) = ctx.fetch(&path, None, &expect, &mut stats).await {
                        stats.label(row.rule.label(), status);
                    }
                }
                n += 1;
            }
            stats
        }
    })
    .await
}

/// After the hostile traffic: the server still answers a pool variant with 200.
pub async fn still_serving(ctx: &Ctx) -> (String, bool) {
    let (path, image) = ctx.variant(&ctx.pool[0], HOSTILE_HIT, FORMATS[0], false);
    let mut stats = Stats::default();
    let status = ctx
        .fetch(&path, None, &Expect::image(image, true), &mut stats)
        .await;
    let ok = status == Some(200) && !stats.failed();
    let text = if ok {
        "the server still answers after the hostile traffic".to_owned()
    } else {
        format!(
            "the server does not answer a pool variant after the hostile traffic: status {status:?} {}",
            stats.failures.join("; ")
        )
    };
    (text, ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_rules_map_to_status_classes() {
        assert_eq!(accept(Rule::Decodes), Accept::Status(200));
        assert_eq!(accept(Rule::Rejects), Accept::Refusal);
        assert_eq!(accept(Rule::MayDecode), Accept::ImageOrRefusal);
        assert_eq!(accept(Rule::NotDecoded), Accept::ImageOrRefusal);
    }

    #[test]
    fn corpus_picks_visit_every_row_once_per_pass_in_every_format() {
        let order = shuffled(6, &mut Rng::new(7));
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..6).collect::<Vec<_>>());
        let mut seen = std::collections::BTreeSet::new();
        for pass in 0..3 {
            let rows: std::collections::BTreeSet<usize> = (0..6)
                .map(|k| corpus_pick(&order, pass * 6 + k).0)
                .collect();
            assert_eq!(rows.len(), 6, "pass {pass}");
            for k in 0..6 {
                seen.insert(corpus_pick(&order, pass * 6 + k));
            }
        }
        // 6 rows (a multiple of 3 formats) x 3 formats over three passes
        assert_eq!(seen.len(), 18);
    }
}
