//! The memory estimate (`Prepared::peak_bytes`) against the process's real peak, for
//! one image and option string: run in a fresh process, it reads the source, notes
//! the peak RSS (`VmHWM`), runs the pipeline once and prints both as one JSON line.
//! RSS counts C allocations (libwebp, mozjpeg, dav1d) that a Rust allocator hook
//! would miss. The estimate must stay above `rss_delta`.
//!
//! ```text
//! cargo run --release --example peak_rss -- FILE OPTIONS [FORMAT]
//! cargo run --release --example peak_rss -- --gif WxHxFRAMES OPTIONS [FORMAT]
//! ```
//!
//! `--gif` makes a noise GIF (each frame different: the worst case for LZW, NeuQuant
//! and libwebp) instead of reading a file.

use aperture::options::{self, OutputFormat, Presets};
use aperture::pipeline::{self, Settings};

fn vm_hwm() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn noise_gif(spec: &str) -> Vec<u8> {
    let n: Vec<u16> = spec
        .split('x')
        .map(|v| v.parse().expect("WxHxFRAMES"))
        .collect();
    let (w, h, frames) = (n[0], n[1], n[2]);
    let mut seed: u32 = 1;
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, w, h, &[]).unwrap();
        enc.set_repeat(gif::Repeat::Infinite).unwrap();
        for _ in 0..frames {
            let mut rgba: Vec<u8> = (0..usize::from(w) * usize::from(h) * 4)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    if i % 4 == 3 { 255 } else { (seed >> 16) as u8 }
                })
                .collect();
            let mut f = gif::Frame::from_rgba_speed(w, h, &mut rgba, 30);
            f.delay = 5;
            enc.write_frame(&f).unwrap();
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (bytes, rest) = match args.first().map(String::as_str) {
        Some("--gif") => (noise_gif(&args[1]), &args[2..]),
        Some(path) => (std::fs::read(path).expect("read the source"), &args[1..]),
        None => panic!("usage: peak_rss FILE|--gif WxHxN OPTIONS [FORMAT]"),
    };
    let segments: Vec<&str> = rest[0].split('/').collect();
    let opts = options::parse(&segments, &Presets::empty()).expect("options");
    let format = rest
        .get(1)
        .map(|f| OutputFormat::from_extension(f).expect("format"));
    let settings = Settings::default();
    let prepared = pipeline::prepare(&bytes, &opts, format, &settings).expect("prepare");
    let estimate = prepared.peak_bytes(bytes.len());
    let before = vm_hwm();
    let variant = prepared.execute(&bytes, &opts).expect("execute");
    let delta = vm_hwm().saturating_sub(before) + bytes.len() as u64;
    println!(
        "{{\"source_bytes\":{},\"output\":\"{}x{}\",\"output_bytes\":{},\"estimate\":{estimate},\"rss_delta\":{delta},\"ok\":{}}}",
        bytes.len(),
        variant.width,
        variant.height,
        variant.bytes.len(),
        estimate >= delta
    );
}
