//! Property-style robustness: pseudo-random segments (known names with
//! hostile arguments, and pure noise) must never panic, and whatever parses
//! must have a canonical form that re-parses to itself.

use super::super::parse::{OPTIONS, PRESET_OPTION};
use super::super::{Presets, parse};
use super::presets;

/// xorshift64*: deterministic, so a failure reproduces from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PIECES: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "90",
    "-90",
    "0.5",
    "1e308",
    "-0",
    "NaN",
    "inf",
    "16384",
    "16385",
    "18446744073709551616",
    "t",
    "false",
    "fit",
    "fill-down",
    "ce",
    "sm",
    "fp",
    "re",
    "no",
    "jpg",
    "best",
    "fff",
    "zz",
    "%",
    "%3A",
    "%ff",
    "%C3%A9",
    "é",
    "💥",
    "=",
    "/",
    " ",
    "\0",
    "thumb",
    "loop",
    "aGVsbG8",
    "_-",
    "+5",
    ".",
    "..",
    "0x10",
];

fn arg(rng: &mut Rng) -> String {
    (0..rng.below(3) + 1).map(|_| rng.pick(PIECES)).collect()
}

fn segment(rng: &mut Rng, names: &[&str]) -> String {
    let name = if rng.below(10) == 0 {
        rng.pick(PIECES)
    } else {
        rng.pick(names)
    };
    let mut seg = name.to_owned();
    for _ in 0..rng.below(10) {
        seg.push(':');
        seg.push_str(&arg(rng));
    }
    seg
}

#[test]
fn garbage_never_panics_and_canonical_is_stable() {
    let mut names: Vec<&str> = OPTIONS
        .iter()
        .flat_map(|(n, _)| n.iter().copied())
        .collect();
    names.extend(PRESET_OPTION);
    let sets = [
        Presets::empty(),
        presets(&["thumb=rs:fill:10:10", "default=q:50/pr:thumb"]),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for i in 0..30_000 {
        let segs: Vec<String> = (0..rng.below(6))
            .map(|_| segment(&mut rng, &names))
            .collect();
        let refs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let ps = &sets[i % 2];
        if let Ok(mut po) = parse(&refs, ps) {
            parsed += 1;
            let c = po.canonical();
            let again: Vec<&str> = if c.is_empty() {
                vec![]
            } else {
                c.split('/').collect()
            };
            let re = parse(&again, &Presets::empty()).unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!(re.canonical(), c, "from {refs:?}");
            let _ = po.apply_extension(rng.pick(PIECES));
        }
    }
    assert!(
        parsed > 1_000,
        "generator too hostile: only {parsed} parsed"
    );
}

#[test]
fn noise_presets_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..5_000 {
        let entries: Vec<String> = (0..rng.below(4))
            .map(|_| {
                let mut e: String = (0..rng.below(4)).map(|_| rng.pick(PIECES)).collect();
                if rng.below(2) == 0 {
                    e = format!("{}={}", rng.pick(&["a", "b", "default"]), e);
                }
                e
            })
            .collect();
        let _ = Presets::parse(&entries);
    }
}
