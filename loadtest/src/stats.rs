//! Per-scenario counters and latencies, merged from every client task, and the printed
//! report (one block per scenario plus a markdown table for `loadtest/README.md`).

use std::collections::BTreeMap;
use std::time::Duration;

/// What one client task saw. Tasks keep their own and merge at the end, so the hot path
/// takes no lock.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: u64,
    latencies_us: Vec<u64>,
    /// Latencies of cache hits alone (`X-Cache: HIT`): the carousel's misses make up
    /// 10% of its requests, so its overall p99 is a miss latency; this shows the hits'.
    hit_latencies_us: Vec<u64>,
    pub by_status: BTreeMap<u16, u64>,
    /// `X-Cache` values (HIT, MISS, COALESCED) of processed answers.
    pub x_cache: BTreeMap<String, u64>,
    /// 503s carrying `Retry-After` where the scenario allows them (admission control).
    pub retry_503: u64,
    pub empty: u64,
    pub mismatches: u64,
    pub unexpected: u64,
    pub decoded: u64,
    pub decode_failures: u64,
    pub timeouts: u64,
    /// Complete answers that came later than the server's deadline plus slack
    /// (`http::Limits::late_after`): aperture promises an answer within its deadline.
    pub late: u64,
    /// Statuses per kind of request where a scenario tells them apart (`hostile`: the
    /// corpus rows by rule, and the pool's hits).
    pub by_label: BTreeMap<&'static str, BTreeMap<u16, u64>>,
    /// Connection or body errors (e.g. a connection aborted mid-body).
    pub errors: u64,
    pub bytes: u64,
    /// The first few failures, verbatim, so a red run says what went wrong.
    pub failures: Vec<String>,
}

const MAX_FAILURE_LINES: usize = 10;

impl Stats {
    pub fn latency(&mut self, d: Duration) {
        self.latencies_us.push(d.as_micros() as u64);
    }

    pub fn hit_latency(&mut self, d: Duration) {
        self.hit_latencies_us.push(d.as_micros() as u64);
    }

    /// Counts `status` under `label` (see `by_label`).
    pub fn label(&mut self, label: &'static str, status: u16) {
        *self
            .by_label
            .entry(label)
            .or_default()
            .entry(status)
            .or_default() += 1;
    }

    pub fn fail(&mut self, msg: String) {
        if self.failures.len() < MAX_FAILURE_LINES {
            self.failures.push(msg);
        }
    }

    pub fn merge(&mut self, o: Stats) {
        self.requests += o.requests;
        self.latencies_us.extend(o.latencies_us);
        self.hit_latencies_us.extend(o.hit_latencies_us);
        for (k, v) in o.by_status {
            *self.by_status.entry(k).or_default() += v;
        }
        for (k, v) in o.x_cache {
            *self.x_cache.entry(k).or_default() += v;
        }
        self.retry_503 += o.retry_503;
        self.empty += o.empty;
        self.mismatches += o.mismatches;
        self.unexpected += o.unexpected;
        self.decoded += o.decoded;
        self.decode_failures += o.decode_failures;
        self.timeouts += o.timeouts;
        self.late += o.late;
        for (label, statuses) in o.by_label {
            let mine = self.by_label.entry(label).or_default();
            for (k, v) in statuses {
                *mine.entry(k).or_default() += v;
            }
        }
        self.errors += o.errors;
        self.bytes += o.bytes;
        for f in o.failures {
            self.fail(f);
        }
    }

    /// Latency percentile in milliseconds (nearest rank).
    pub fn percentile_ms(&mut self, p: f64) -> f64 {
        percentile(&mut self.latencies_us, p)
    }

    /// p99 of cache hits, if there were any.
    pub fn hit_p99_ms(&mut self) -> Option<f64> {
        (!self.hit_latencies_us.is_empty()).then(|| percentile(&mut self.hit_latencies_us, 99.0))
    }

    /// Any of the failures the targets forbid.
    pub fn failed(&self) -> bool {
        self.empty
            + self.mismatches
            + self.unexpected
            + self.decode_failures
            + self.timeouts
            + self.late
            > 0
            || self.errors > 0
    }
}

/// `200:12 422:3`, by status.
fn statuses(by_status: &BTreeMap<u16, u64>) -> String {
    let v: Vec<String> = by_status.iter().map(|(s, n)| format!("{s}:{n}")).collect();
    v.join(" ")
}

fn percentile(v: &mut [u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1] as f64 / 1000.0
}

/// One scenario's outcome as printed.
pub struct Report {
    pub name: String,
    pub stats: Stats,
    pub elapsed: Duration,
    /// Peak RSS of the server in bytes (max of VmHWM and the 100 ms VmRSS samples).
    pub peak_rss: Option<u64>,
    /// Extra verdicts (e.g. the stampede's miss count): text and whether it passed.
    pub checks: Vec<(String, bool)>,
}

impl Report {
    pub fn ok(&self) -> bool {
        !self.stats.failed() && self.checks.iter().all(|(_, ok)| *ok)
    }

    fn statuses(&self) -> String {
        statuses(&self.stats.by_status)
    }

    fn rss(&self) -> String {
        self.peak_rss
            .map_or("n/a".into(), |b| format!("{} MB", b / (1024 * 1024)))
    }

    pub fn print(&mut self) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let s = &mut self.stats;
        let (p50, p95, p99) = (
            s.percentile_ms(50.0),
            s.percentile_ms(95.0),
            s.percentile_ms(99.0),
        );
        let hit_p99 = s
            .hit_p99_ms()
            .map_or(String::new(), |v| format!("  (hits p99 {v:.1} ms)"));
        println!("== {} ({:.1} s)", self.name, secs);
        println!(
            "  requests {}  req/s {:.0}  p50 {p50:.1} ms  p95 {p95:.1} ms  p99 {p99:.1} ms{hit_p99}  bytes {}",
            s.requests,
            s.requests as f64 / secs,
            s.bytes
        );
        let cache: Vec<String> = s.x_cache.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        println!(
            "  status {}  (503+Retry-After {})  x-cache {}",
            self.statuses(),
            self.stats.retry_503,
            cache.join(" ")
        );
        let s = &self.stats;
        println!(
            "  empty {}  length-mismatch {}  unexpected {}  decode-fail {}/{} checked  timeouts {}  late {}  errors {}",
            s.empty,
            s.mismatches,
            s.unexpected,
            s.decode_failures,
            s.decoded,
            s.timeouts,
            s.late,
            s.errors
        );
        for (label, by_status) in &s.by_label {
            println!("  {label}: {}", statuses(by_status));
        }
        println!("  server peak RSS {}", self.rss());
        for (text, ok) in &self.checks {
            println!("  {} {text}", if *ok { "ok  " } else { "FAIL" });
        }
        for f in &s.failures {
            println!("  ! {f}");
        }
    }

    pub fn table_header() -> &'static str {
        "| scenario | requests | req/s | p50 ms | p95 ms | p99 ms | hits p99 ms | statuses | 503+RA | empty | len mismatch | decode fail/checked | timeouts | late | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    }

    pub fn table_row(&mut self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let (p50, p95, p99) = (
            self.stats.percentile_ms(50.0),
            self.stats.percentile_ms(95.0),
            self.stats.percentile_ms(99.0),
        );
        let hit_p99 = self
            .stats
            .hit_p99_ms()
            .map_or("-".to_owned(), |v| format!("{v:.1}"));
        let s = &self.stats;
        format!(
            "| {} | {} | {:.0} | {p50:.1} | {p95:.1} | {p99:.1} | {hit_p99} | {} | {} | {} | {} | {}/{} | {} | {} | {} |",
            self.name,
            s.requests,
            s.requests as f64 / secs,
            self.statuses(),
            s.retry_503,
            s.empty,
            s.mismatches,
            s.decode_failures,
            s.decoded,
            s.timeouts,
            s.late,
            self.rss()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_answers_fail_and_merge() {
        let mut a = Stats::default();
        assert!(!a.failed());
        let mut b = Stats {
            late: 1,
            ..Stats::default()
        };
        b.label("reject rows", 422);
        b.label("reject rows", 422);
        a.label("reject rows", 415);
        assert!(b.failed());
        a.merge(b);
        assert_eq!(a.late, 1);
        assert!(a.failed());
        assert_eq!(statuses(&a.by_label["reject rows"]), "415:1 422:2");
    }

    #[test]
    fn table_rows_have_the_header_s_columns() {
        let mut r = Report {
            name: "hostile".into(),
            stats: Stats {
                late: 2,
                ..Stats::default()
            },
            elapsed: Duration::from_secs(1),
            peak_rss: None,
            checks: vec![],
        };
        let header = Report::table_header().lines().next().unwrap();
        let row = r.table_row();
        assert_eq!(header.matches('|').count(), row.matches('|').count());
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let late = header.split('|').map(str::trim).position(|c| c == "late");
        assert_eq!(late.map(|i| cells[i]), Some("2"));
        assert!(!r.ok());
    }
}
