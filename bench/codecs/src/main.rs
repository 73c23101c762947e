//! Codec benchmark harness.
//!
//! ```text
//! codecs [all|T1|T2|T3|T4|T5|E1 ...] [--ops N] [--no-rss]   median CPU ms/op table
//! codecs one <task> <dec+enc>          one op in this (fresh) process, prints VmHWM
//! codecs convert <in> <out> <box>      file -> file with the prototype pipeline
//! codecs ssim                          shrink-on-load vs full-decode reference
//! codecs corrupt [dir]                 every decoder on every file, each in a child
//! ```

use std::process::Command;
use std::time::Instant;

use codecs::candidates::{JpegDec, JpegEnc, PngDec, source_size};
use codecs::pipeline_proto::{self as pp, Bitmap, Resizer, fit_within};

const IMAGES: &str = "/work/shared/bench-images";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Out {
    Jpeg,
    Webp,
    Avif,
}

#[derive(Clone, Copy)]
struct Task {
    id: &'static str,
    file: &'static str,
    bx: u32,
    out: Out,
}

const TASKS: &[Task] = &[
    Task { id: "T1", file: "photo-12mp.jpg", bx: 300, out: Out::Jpeg },
    Task { id: "T2", file: "photo-24mp.jpg", bx: 300, out: Out::Jpeg },
    Task { id: "T3", file: "photo-12mp.jpg", bx: 1200, out: Out::Jpeg },
    Task { id: "T4", file: "alpha-2000.png", bx: 400, out: Out::Webp },
    Task { id: "T5", file: "photo-12mp.jpg", bx: 300, out: Out::Webp },
    Task { id: "E1", file: "photo-2mp.jpg", bx: 300, out: Out::Jpeg },
    Task { id: "E2", file: "photo-12mp.jpg", bx: 300, out: Out::Avif },
];

/// Best peer's CPU ms/op (one thread), from shared/bench/peers/RESULTS.md.
fn best_peer(id: &str) -> Option<(f64, &'static str)> {
    match id {
        "T1" => Some((29.0, "Pillow")),
        "T2" => Some((55.9, "Pillow")),
        "T3" => Some((63.0, "sharp")),
        "T4" => Some((221.0, "sharp")),
        "T5" => Some((33.7, "Pillow")),
        "E1" => Some((13.8, "Pillow")),
        "E2" => Some((359.0, "libvips")),
        _ => None,
    }
}

fn candidates(t: &Task) -> Vec<&'static str> {
    match (t.id, t.out) {
        ("T4", _) => vec!["png+webp", "zune-png+webp", "image(png)+webp"],
        (_, Out::Avif) => vec!["mozjpeg+avif-s6", "mozjpeg+avif-s8", "turbojpeg+avif-s6"],
        (_, Out::Webp) => vec!["mozjpeg+webp", "turbojpeg+webp", "jpeg-decoder+webp"],
        ("T1", _) => vec![
            "mozjpeg+mozjpeg",
            "mozjpeg+mozjpeg-stdhuff",
            "mozjpeg+mozjpeg-max",
            "mozjpeg+turbojpeg",
            "mozjpeg+jpeg-encoder",
            "mozjpeg+image",
            "turbojpeg+turbojpeg",
            "jpeg-decoder+jpeg-encoder",
            "zune-jpeg-full+jpeg-encoder",
            "mozjpeg-full+mozjpeg",
            "turbojpeg-full+turbojpeg",
        ],
        _ => vec![
            "mozjpeg+mozjpeg",
            "mozjpeg+turbojpeg",
            "mozjpeg+jpeg-encoder",
            "turbojpeg+turbojpeg",
            "jpeg-decoder+jpeg-encoder",
            "zune-jpeg-full+jpeg-encoder",
            "mozjpeg-full+mozjpeg",
            "turbojpeg-full+turbojpeg",
        ],
    }
}

enum Dec {
    Jpeg(JpegDec),
    Png(PngDec),
}
enum Enc {
    Jpeg(JpegEnc),
    Webp,
    Avif(u8),
}

fn parse(c: &str) -> (Dec, Enc) {
    let (d, e) = c.split_once('+').expect("dec+enc");
    let dec = [
        JpegDec::Moz,
        JpegDec::MozFull,
        JpegDec::Turbo,
        JpegDec::TurboFull,
        JpegDec::JpegDecoder,
        JpegDec::ZuneFull,
        JpegDec::ImageFull,
    ]
    .into_iter()
    .find(|x| x.name() == d)
    .map(Dec::Jpeg)
    .or_else(|| {
        [PngDec::Png, PngDec::Zune, PngDec::Image]
            .into_iter()
            .find(|x| x.name() == d)
            .map(Dec::Png)
    })
    .unwrap_or_else(|| panic!("unknown decoder {d}"));
    let enc = if e == "webp" {
        Enc::Webp
    } else if let Some(sp) = e.strip_prefix("avif-s") {
        Enc::Avif(sp.parse().expect("speed"))
    } else {
        Enc::Jpeg(
            [
                JpegEnc::Moz,
                JpegEnc::MozStdHuff,
                JpegEnc::MozMax,
                JpegEnc::Turbo,
                JpegEnc::JpegEncoder,
                JpegEnc::Image,
            ]
            .into_iter()
            .find(|x| x.name() == e)
            .unwrap_or_else(|| panic!("unknown encoder {e}")),
        )
    };
    (dec, enc)
}

fn available(c: &str) -> bool {
    let (d, e) = parse(c);
    let d_ok = match d {
        Dec::Jpeg(d) => d.available(),
        Dec::Png(_) => true,
    };
    let e_ok = match e {
        Enc::Jpeg(e) => e.available(),
        Enc::Webp => true,
        Enc::Avif(_) => cfg!(feature = "avif"),
    };
    d_ok && e_ok
}

fn cpu_ms(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid pointer to a timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}
fn thread_ms() -> f64 {
    cpu_ms(libc::CLOCK_THREAD_CPUTIME_ID)
}
fn proc_ms() -> f64 {
    cpu_ms(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn status_kb(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct OpTimes {
    dec: f64,
    rsz: f64,
    enc: f64,
    thread_total: f64,
    proc_total: f64,
    out_len: usize,
    dec_size: (u32, u32),
}

fn run_op(
    dec: &Dec,
    enc: &Enc,
    bytes: &[u8],
    tw: u32,
    th: u32,
    resizer: &mut Resizer,
) -> (OpTimes, Vec<u8>) {
    let p0 = proc_ms();
    let t0 = p0;
    let img: Bitmap = match dec {
        Dec::Jpeg(d) => d.decode(bytes, tw, th),
        Dec::Png(d) => d.decode(bytes),
    }
    .expect("decode");
    let t1 = proc_ms();
    let dec_size = (img.width, img.height);
    let small = if (img.width, img.height) == (tw, th) {
        img
    } else {
        resizer.resize_owned(img, tw, th).expect("resize")
    };
    let t2 = proc_ms();
    let out = match enc {
        Enc::Jpeg(e) => e.encode(&small, 80),
        Enc::Webp => pp::encode_webp(&small, 80, 4),
        Enc::Avif(speed) => encode_avif(&small, 50, *speed),
    }
    .expect("encode");
    let t3 = proc_ms();
    let _ = thread_ms();
    let p1 = t3;
    (
        OpTimes {
            dec: t1 - t0,
            rsz: t2 - t1,
            enc: t3 - t2,
            thread_total: t3 - t0,
            proc_total: p1 - p0,
            out_len: out.len(),
            dec_size,
        },
        out,
    )
}

#[cfg(feature = "avif")]
fn encode_avif(img: &Bitmap, q: u8, speed: u8) -> Result<Vec<u8>, pp::Error> {
    let px: Vec<ravif::RGB8> =
        img.pixels.chunks_exact(3).map(|c| ravif::RGB8::new(c[0], c[1], c[2])).collect();
    let enc = ravif::Encoder::new()
        .with_quality(q as f32)
        .with_speed(speed)
        .with_num_threads(Some(1));
    enc.encode_rgb(ravif::Img::new(&px[..], img.width as usize, img.height as usize))
        .map(|e| e.avif_file)
        .map_err(|e| pp::Error::Encode(e.to_string()))
}
#[cfg(not(feature = "avif"))]
fn encode_avif(_: &Bitmap, _: u8, _: u8) -> Result<Vec<u8>, pp::Error> {
    Err(pp::Error::Unsupported("built without avif".into()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn task_by_id(id: &str) -> Task {
    *TASKS.iter().find(|t| t.id == id).unwrap_or_else(|| panic!("unknown task {id}"))
}

fn read_input(t: &Task) -> Vec<u8> {
    let dir = std::env::var("BENCH_IMAGES").unwrap_or_else(|_| IMAGES.to_string());
    std::fs::read(format!("{dir}/{}", t.file)).expect("read input")
}

/// `one` subcommand: one op in a fresh process, report peak RSS.
fn one(task: &str, cand: &str) {
    let t = task_by_id(task);
    let base_before_input = status_kb("VmHWM:");
    let bytes = read_input(&t);
    let base = status_kb("VmHWM:");
    let (sw, sh) = source_size(&bytes).expect("size");
    let (tw, th) = fit_within(sw, sh, t.bx, t.bx);
    let (dec, enc) = parse(cand);
    let mut resizer = Resizer::new();
    let (times, out) = run_op(&dec, &enc, &bytes, tw, th, &mut resizer);
    let ext = match t.out {
        Out::Jpeg => "jpg",
        Out::Webp => "webp",
        Out::Avif => "avif",
    };
    let _ = std::fs::create_dir_all("out");
    let _ = std::fs::write(format!("out/{}-{}.{ext}", t.id, cand.replace(['+', '(', ')'], "_")), &out);
    println!(
        "VmHWM_kB={} base_kB={} base_before_input_kB={} out={} dec={}x{} cpu_ms={:.1}",
        status_kb("VmHWM:"),
        base,
        base_before_input,
        times.out_len,
        times.dec_size.0,
        times.dec_size.1,
        times.proc_total
    );
}

fn rss_of(task: &str, cand: &str) -> Option<(f64, f64)> {
    let exe = std::env::current_exe().ok()?;
    let o = Command::new(exe).args(["one", task, cand]).output().ok()?;
    let s = String::from_utf8_lossy(&o.stdout);
    let get = |k: &str| -> Option<f64> {
        s.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((get("VmHWM_kB=")? / 1024.0, get("base_kB=")? / 1024.0))
}

fn bench(tasks: &[Task], ops: usize, rss: bool) {
    let r = Resizer::new();
    println!(
        "fast_image_resize CPU extensions: {}; ops per cell: {ops} after 2 warm-ups; CPU = CLOCK_PROCESS_CPUTIME_ID per op (median)",
        r.cpu_extensions()
    );
    println!();
    println!(
        "| task | candidate (decoder+encoder) | decoded at | CPU ms/op | vs RESULTS.md best peer (busy host) | decode | resize | encode | out bytes | peak RSS MB (1 op, fresh process; input buffer incl.) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for t in tasks {
        let bytes = read_input(t);
        let (sw, sh) = source_size(&bytes).expect("size");
        let (tw, th) = fit_within(sw, sh, t.bx, t.bx);
        for cand in candidates(t) {
            if !available(cand) {
                continue;
            }
            let (dec, enc) = parse(cand);
            let mut resizer = Resizer::new();
            let n = if cand.contains("full") || cand.contains("mozjpeg-max") { ops.min(10) } else { ops };
            for _ in 0..2 {
                run_op(&dec, &enc, &bytes, tw, th, &mut resizer);
            }
            let mut v = Vec::new();
            let wall0 = Instant::now();
            for _ in 0..n {
                v.push(run_op(&dec, &enc, &bytes, tw, th, &mut resizer).0);
            }
            let _wall = wall0.elapsed();
            let m = |f: &dyn Fn(&OpTimes) -> f64| median(v.iter().map(f).collect());
            let total = m(&|o| o.proc_total);
            let _thr = m(&|o| o.thread_total);
            let ratio = best_peer(t.id)
                .map(|(p, who)| format!("{:.2}x {who}", total / p))
                .unwrap_or_default();
            let rss_s = if rss {
                rss_of(t.id, cand)
                    .map(|(p, b)| format!("{p:.1} (base {b:.1})"))
                    .unwrap_or("?".into())
            } else {
                "-".into()
            };
            println!(
                "| {} | {} | {}x{} | **{:.1}** | {} | {:.1} | {:.1} | {:.1} | {} | {} |",
                t.id,
                cand,
                v[0].dec_size.0,
                v[0].dec_size.1,
                total,
                ratio,
                m(&|o| o.dec),
                m(&|o| o.rsz),
                m(&|o| o.enc),
                v[0].out_len,
                rss_s
            );
        }
    }
}

fn ssim_report() {
    let mut resizer = Resizer::new();
    {
        let t = task_by_id("T4");
        let bytes = read_input(&t);
        let img = pp::decode_png(&bytes).unwrap();
        let a = resizer.resize(&img, 400, 400).unwrap();
        let b = resizer.resize_owned(img, 400, 400).unwrap();
        let maxdiff = a.pixels.iter().zip(&b.pixels).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        println!(
            "T4 alpha: resize (fir MulDiv copy) vs resize_owned (in place): SSIM {:.5}, max abs diff {maxdiff}",
            codecs::ssim::ssim(&a, &b).unwrap()
        );
        println!();
    }
    println!("| task | decoder | shrink | decoded | SSIM vs full-decode+Lanczos3 reference |");
    println!("|---|---|---|---|---|");
    for id in ["T1", "T2", "T3", "E1"] {
        let t = task_by_id(id);
        let bytes = read_input(&t);
        let (sw, sh) = source_size(&bytes).unwrap();
        let (tw, th) = fit_within(sw, sh, t.bx, t.bx);
        let full_dec = if JpegDec::MozFull.available() { JpegDec::MozFull } else { JpegDec::Turbo };
        let full = full_dec.decode(&bytes, 0, 0).unwrap();
        let reference = resizer.resize(&full, tw, th).unwrap();
        drop(full);
        for d in [JpegDec::Moz, JpegDec::Turbo, JpegDec::JpegDecoder, JpegDec::ZuneFull] {
            if !d.available() {
                continue;
            }
            let img = d.decode(&bytes, tw, th).unwrap();
            let dsz = (img.width, img.height);
            let small = resizer.resize(&img, tw, th).unwrap();
            let s = codecs::ssim::ssim(&small, &reference).unwrap();
            println!(
                "| {id} | {} | 1/{} | {}x{} | {:.4} |",
                d.name(),
                (sw as f64 / dsz.0 as f64).round(),
                dsz.0,
                dsz.1,
                s
            );
        }
        // and after the JPEG q80 round trip, for context
        #[cfg(feature = "mozjpeg")]
        {
        let img = pp::decode_jpeg_scaled(&bytes, tw, th).unwrap();
        let small = resizer.resize(&img, tw, th).unwrap();
        let enc = pp::encode_jpeg(&small, 80).unwrap();
        let back = pp::decode_jpeg_scaled(&enc, 0, 0).unwrap();
        println!(
            "| {id} | mozjpeg, after q80 encode+decode | | | {:.4} |",
            codecs::ssim::ssim(&back, &reference).unwrap()
        );
        }
    }
}

/// Runs every decoder on one file, catching panics; prints one line per decoder.
fn corrupt_one(path: &str) {
    // keep a bogus header from eating the machine's memory
    // SAFETY: setrlimit with a valid struct.
    unsafe {
        let lim = libc::rlimit { rlim_cur: 4 << 30, rlim_max: 4 << 30 };
        libc::setrlimit(libc::RLIMIT_AS, &lim);
    }
    std::panic::set_hook(Box::new(|_| {}));
    let bytes = std::fs::read(path).expect("read");
    let is_png = bytes.starts_with(b"\x89PNG");
    let mut results = Vec::new();
    let mut rec = |name: &str, f: &dyn Fn() -> Result<Bitmap, pp::Error>| {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let s = match r {
            Ok(Ok(b)) => format!("ok {}x{}", b.width, b.height),
            Ok(Err(e)) => {
                let mut m = e.to_string();
                m.truncate(60);
                format!("err({m})")
            }
            Err(p) => {
                let m = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                format!("PANIC({})", m.chars().take(60).collect::<String>())
            }
        };
        results.push(format!("{name}: {s}"));
    };
    if is_png {
        for d in [PngDec::Png, PngDec::Zune, PngDec::Image] {
            rec(d.name(), &|| d.decode(&bytes));
        }
    } else {
        for d in [
            JpegDec::Moz,
            JpegDec::MozFull,
            JpegDec::Turbo,
            JpegDec::JpegDecoder,
            JpegDec::ZuneFull,
        ] {
            if !d.available() {
                continue;
            }
            rec(d.name(), &|| d.decode(&bytes, 300, 225));
        }
    }
    println!("{}", results.join(" | "));
}

fn corrupt(dirs: &[String]) {
    let exe = std::env::current_exe().unwrap();
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let o = Command::new(&exe)
                .args(["corrupt-one", f.to_str().unwrap()])
                .output()
                .unwrap();
            let status = if o.status.success() {
                "exit 0".to_string()
            } else {
                format!("**ABNORMAL {:?}** {}", o.status, String::from_utf8_lossy(&o.stderr).chars().take(200).collect::<String>())
            };
            println!(
                "{} [{}] {}",
                f.to_string_lossy().replace("/work/shared/corpus/", ""),
                status,
                String::from_utf8_lossy(&o.stdout).trim()
            );
        }
    }
}

#[cfg(feature = "mozjpeg")]
/// Product-like file -> file conversion with the prototype pipeline only.
fn convert(input: &str, output: &str, bx: u32) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = std::fs::read(input)?;
    let mut resizer = Resizer::new();
    let img = if bytes.starts_with(b"\x89PNG") {
        let img = pp::decode_png(&bytes)?;
        let (tw, th) = fit_within(img.width, img.height, bx, bx);
        resizer.resize_owned(img, tw, th)?
    } else {
        let (tw, th) = pp::jpeg_target(&bytes, bx, bx)?;
        let img = pp::decode_jpeg_scaled(&bytes, tw, th)?;
        if (img.width, img.height) == (tw, th) { img } else { resizer.resize_owned(img, tw, th)? }
    };
    drop(bytes);
    let out = if output.ends_with(".webp") {
        pp::encode_webp(&img, 80, 4)?
    } else {
        pp::encode_jpeg(&img, 80)?
    };
    std::fs::write(output, out)?;
    if std::env::var_os("APERTURE_PRINT_RSS").is_some() {
        eprintln!("VmHWM_kB={}", status_kb("VmHWM:"));
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("one") => one(&args[1], &args[2]),
        Some("ssim") => ssim_report(),
        Some("corrupt-one") => corrupt_one(&args[1]),
        Some("corrupt") => {
            let dirs = if args.len() > 1 {
                args[1..].to_vec()
            } else {
                vec!["/work/shared/corpus/invalid/jpeg".to_string()]
            };
            corrupt(&dirs)
        }
        #[cfg(feature = "mozjpeg")]
        Some("convert") => {
            let bx = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(300);
            if let Err(e) = convert(&args[1], &args[2], bx) {
                eprintln!("convert: {e}");
                std::process::exit(1);
            }
        }
        _ => {
            let mut ops = 20;
            let mut rss = true;
            let mut ids = Vec::new();
            let mut it = args.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--ops" => ops = it.next().and_then(|s| s.parse().ok()).unwrap_or(20),
                    "--no-rss" => rss = false,
                    "all" => ids.extend(TASKS.iter().map(|t| t.id)),
                    id => ids.push(TASKS.iter().find(|t| t.id == id).map(|t| t.id).expect("task")),
                }
            }
            if ids.is_empty() {
                ids.extend(TASKS.iter().map(|t| t.id));
            }
            let tasks: Vec<Task> = ids.iter().map(|id| task_by_id(id)).collect();
            bench(&tasks, ops, rss);
        }
    }
}
