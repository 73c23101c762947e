//! CPU time per operation of aperture's real image pipeline, in process.
//!
//! ```text
//! pipeline_cpu --input FILE --options rs:fit:300:300/q:80 --format jpg
//!              [--task T1] [--n-max 25] [--n-min 5] [--t-max 3] [--warmup 2] [--save OUT]
//! ```
//!
//! Same protocol as the peers' harness (`shared/bench/peers/harness/bench_py.py`): the
//! source is read into memory once, then each operation is the call the server makes on
//! a cache miss (`pipeline::run(bytes, opts, None, settings)`, options parsed by the URL
//! grammar, format as the URL's extension sets it), bytes in -> encoded bytes out,
//! nothing written to disk inside the loop. Two warm-ups, then up to `--n-max`
//! operations or `--t-max` seconds (at least `--n-min`). Prints one JSON line;
//! `cpu_ms` is this thread's CPU time per operation (CLOCK_THREAD_CPUTIME_ID), which
//! barely depends on other tenants' load; `proc_cpu_ms` is the whole process's.
//! Used by `bench/pipeline-vs-peers.sh`.

use std::time::Instant;

use aperture::options::{self, OutputFormat, Presets};
use aperture::pipeline::{self, Settings};

struct Args {
    task: String,
    input: String,
    options: String,
    format: String,
    n_max: usize,
    n_min: usize,
    t_max: f64,
    warmup: usize,
    save: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        task: String::new(),
        input: String::new(),
        options: String::new(),
        format: String::new(),
        n_max: 25,
        n_min: 5,
        t_max: 3.0,
        warmup: 2,
        save: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|e| format!("{k}: {e}"));
        match k.as_str() {
            "--task" => a.task = v,
            "--input" => a.input = v,
            "--options" => a.options = v,
            "--format" => a.format = v,
            "--n-max" => a.n_max = num(&v)? as usize,
            "--n-min" => a.n_min = num(&v)? as usize,
            "--t-max" => a.t_max = num(&v)?,
            "--warmup" => a.warmup = num(&v)? as usize,
            "--save" => a.save = Some(v),
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    if a.input.is_empty() {
        return Err("--input is required".into());
    }
    Ok(a)
}

fn cpu_ms(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

fn status_kb(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:.3}")).collect();
    format!("[{}]", items.join(","))
}

fn main() {
    let a = parse_args().unwrap_or_else(|e| {
        eprintln!("pipeline_cpu: {e}");
        std::process::exit(2);
    });
    let segments: Vec<&str> = a.options.split('/').filter(|s| !s.is_empty()).collect();
    let mut opts = options::parse(&segments, &Presets::empty()).unwrap_or_else(|e| {
        eprintln!("pipeline_cpu: --options: {e}");
        std::process::exit(2);
    });
    if !a.format.is_empty() {
        opts.format = Some(OutputFormat::from_extension(&a.format).unwrap_or_else(|| {
            eprintln!("pipeline_cpu: unknown --format {}", a.format);
            std::process::exit(2);
        }));
    }
    let settings = Settings::default();
    let bytes = std::fs::read(&a.input).unwrap_or_else(|e| {
        eprintln!("pipeline_cpu: {}: {e}", a.input);
        std::process::exit(1);
    });
    let op = || {
        pipeline::run(&bytes, &opts, None, &settings).unwrap_or_else(|e| {
            eprintln!("pipeline_cpu: {}: {e}", a.input);
            std::process::exit(1);
        })
    };

    let mut out = op();
    for _ in 1..a.warmup {
        out = op();
    }
    let rss_after_warmup = status_kb("VmRSS");

    let (mut cpu, mut pcpu, mut wall) = (Vec::new(), Vec::new(), Vec::new());
    let start = Instant::now();
    while cpu.len() < a.n_max && (cpu.len() < a.n_min || start.elapsed().as_secs_f64() < a.t_max) {
        let (w0, c0, p0) = (
            Instant::now(),
            cpu_ms(libc::CLOCK_THREAD_CPUTIME_ID),
            cpu_ms(libc::CLOCK_PROCESS_CPUTIME_ID),
        );
        out = op();
        cpu.push(cpu_ms(libc::CLOCK_THREAD_CPUTIME_ID) - c0);
        pcpu.push(cpu_ms(libc::CLOCK_PROCESS_CPUTIME_ID) - p0);
        wall.push(w0.elapsed().as_secs_f64() * 1e3);
    }
    let n = cpu.len();
    if let Some(path) = &a.save
        && let Err(e) = std::fs::write(path, &out.bytes)
    {
        eprintln!("pipeline_cpu: {path}: {e}");
    }
    println!(
        concat!(
            "{{\"tool\":\"aperture\",\"task\":\"{}\",\"options\":\"{}\",\"format\":\"{}\",\"n\":{},",
            "\"cpu_per_op_ms\":{:.3},\"cpu_median_ms\":{:.3},\"proc_cpu_median_ms\":{:.3},",
            "\"wall_per_op_ms\":{:.3},\"wall_median_ms\":{:.3},\"cpu_ms\":{},\"proc_cpu_ms\":{},",
            "\"times_ms\":{},\"out_w\":{},\"out_h\":{},\"out_bytes\":{},",
            "\"rss_after_warmup_kb\":{},\"peak_rss_kb\":{},\"loadavg1_end\":\"{}\"}}"
        ),
        a.task,
        a.options,
        out.format.extension(),
        n,
        cpu.iter().sum::<f64>() / n as f64,
        median(&cpu),
        median(&pcpu),
        wall.iter().sum::<f64>() / n as f64,
        median(&wall),
        list(&cpu),
        list(&pcpu),
        list(&wall),
        out.width,
        out.height,
        out.bytes.len(),
        rss_after_warmup,
        status_kb("VmHWM"),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or(""),
    );
}
