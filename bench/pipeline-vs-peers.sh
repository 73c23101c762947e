#!/usr/bin/env bash
# aperture's image pipeline against libvips (pyvips), sharp and Pillow, in one run.
#
#   bench/pipeline-vs-peers.sh            3 rounds, up to 25 ops / 3 s per cell (~2 min + builds)
#   bench/pipeline-vs-peers.sh --quick    1 round, up to 8 ops / 1.5 s per cell (~40 s + builds)
#   bench/pipeline-vs-peers.sh --rounds N --tasks "T1 T4"
#
# In-process part: for each task and round, runs aperture's pipeline
# (examples/pipeline_cpu.rs: the server's `pipeline::run`, source already in memory) and
# the peers' own harness (shared/bench/peers/harness: pyvips with VIPS_CONCURRENCY=1,
# sharp with concurrency 1, Pillow with draft()) back to back, in a rotating order, one
# process per cell. The figure compared is the median CPU ms per operation (aperture:
# its thread's CPU time; peers: their process CPU per op, as in peers/RESULTS.md), which
# barely moves with other tenants' load; wall medians are printed too.
# Whole-process part: `aperture convert` on T2 vs `vipsthumbnail` (VIPS_CONCURRENCY=1)
# and the peers' one-shot Pillow script: peak RSS from /usr/bin/time -v, 3 runs, median.
#
# Environment:
#   BENCH_APERTURE_BIN   aperture binary for the convert part (default: cargo build --release)
#   BENCH_PIPELINE_BIN   pipeline_cpu binary (default: cargo build --release --example pipeline_cpu)
#   BENCH_IMAGES         test images (default: ../shared/bench-images)
#   BENCH_PEERS_SRC      the peers' harness, read-only (default: ../shared/bench/peers)
#   BENCH_PEERS_DIR      where it is copied and its venv/node_modules live, reused between
#                        runs (default: ${TMPDIR:-/tmp}/aperture-bench-peers)
# Results: a temp folder (printed at the end; raw JSON lines + summary.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ROUNDS=3; NMAX=25; TMAX=3; RSS_RUNS=3; TASKS="T1 T2 T3 T4 T5"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) ROUNDS=1; NMAX=8; TMAX=1.5 ;;
    --rounds) ROUNDS="$2"; shift ;;
    --tasks) TASKS="$2"; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

IMG="$(cd "${BENCH_IMAGES:-$ROOT/../shared/bench-images}" && pwd)"
PEERS_SRC="$(cd "${BENCH_PEERS_SRC:-$ROOT/../shared/bench/peers}" && pwd)"
PEERS="${BENCH_PEERS_DIR:-${TMPDIR:-/tmp}/aperture-bench-peers}"
RES="$(mktemp -d "${TMPDIR:-/tmp}/pipeline-vs-peers.XXXXXX")"
mkdir -p "$RES/outputs"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- build
if [[ -z "${BENCH_PIPELINE_BIN:-}" ]]; then
  log "cargo build --release --example pipeline_cpu"
  cargo build --release -j2 --quiet --example pipeline_cpu
  BENCH_PIPELINE_BIN="$ROOT/target/release/examples/pipeline_cpu"
fi
if [[ -z "${BENCH_APERTURE_BIN:-}" ]]; then
  # a separate invocation: building it together with the example would unify the
  # dev-dependencies' features into the binary
  log "cargo build --release --bin aperture"
  cargo build --release -j2 --quiet --bin aperture
  BENCH_APERTURE_BIN="$ROOT/target/release/aperture"
fi

# ---------------------------------------------------------------- peers: copy + install
# The shared folder stays read-only: copy its harness next to a reusable venv/node_modules.
mkdir -p "$PEERS/node"
cp -r "$PEERS_SRC/harness" "$PEERS/"
cp "$PEERS_SRC"/requirements-py.txt "$PEERS/"
cp "$PEERS_SRC"/node/package.json "$PEERS_SRC"/node/package-lock.json "$PEERS/node/"
PY="$PEERS/.venv-py/bin/python"
if ! "$PY" -c "import PIL, pyvips" 2>/dev/null; then   # as peers/run.sh does
  log "creating $PEERS/.venv-py (Pillow, pyvips)"
  python3 -m venv "$PEERS/.venv-py"
  "$PY" -m pip install -q -r "$PEERS/requirements-py.txt"
fi
if [[ ! -d "$PEERS/node/node_modules/sharp" ]]; then
  log "npm ci in $PEERS/node (sharp)"
  (cd "$PEERS/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
export BENCH_IMAGES="$IMG"   # the harness reads its images from here

# ---------------------------------------------------------------- environment record
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src crates Cargo.toml Cargo.lock 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "cpu: $(nproc) x $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "loadavg_at_start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mode: rounds=$ROUNDS n_max=$NMAX t_max=${TMAX}s"
  echo "pyvips: $("$PY" -c "import pyvips; print(pyvips.__version__, 'libvips %d.%d.%d' % (pyvips.version(0), pyvips.version(1), pyvips.version(2)))" 2>&1)"
  echo "sharp: $(cd "$PEERS/node" && node -e "const s=require('sharp');console.log(s.versions.sharp+' libvips '+s.versions.vips)" 2>&1)"
  echo "pillow: $("$PY" -c "import PIL; print(PIL.__version__)" 2>&1)"
  echo "vipsthumbnail: $(vips --version 2>/dev/null || echo 'not installed')"
} > "$RES/env.txt"
cat "$RES/env.txt" >&2

# ---------------------------------------------------------------- 1. in-process
declare -A SRC=([T1]=photo-12mp.jpg [T2]=photo-24mp.jpg [T3]=photo-12mp.jpg [T4]=alpha-2000.png [T5]=photo-12mp.jpg)
declare -A BOX=([T1]=300 [T2]=300 [T3]=1200 [T4]=400 [T5]=300)
declare -A EXT=([T1]=jpg [T2]=jpg [T3]=jpg [T4]=webp [T5]=webp)

cell() {  # tool task round  -> one JSON line appended to inproc.jsonl
  local tool="$1" T="$2" r="$3" line save="$RES/outputs/$1-$2.${EXT[$2]}"
  case "$tool" in
    aperture)
      line="$(timeout 120 "$BENCH_PIPELINE_BIN" --task "$T" --input "$IMG/${SRC[$T]}" \
        --options "rs:fit:${BOX[$T]}:${BOX[$T]}/q:80" --format "${EXT[$T]}" \
        --n-max "$NMAX" --t-max "$TMAX" --save "$save" 2>>"$RES/stderr.txt" || true)" ;;
    sharp)
      line="$(cd "$PEERS" && timeout 120 node harness/bench_sharp.mjs --task "$T" --conc 1 \
        --n-max "$NMAX" --t-max "$TMAX" --save "$save" 2>>"$RES/stderr.txt" || true)" ;;
    pyvips|pillow)
      line="$(cd "$PEERS" && VIPS_CONCURRENCY=1 timeout 120 "$PY" harness/bench_py.py --tool "$tool" \
        --task "$T" --n-max "$NMAX" --t-max "$TMAX" --save "$save" 2>>"$RES/stderr.txt" || true)" ;;
  esac
  if [[ -n "$line" ]]; then
    printf '%s\n' "$line" | "$PY" -c "import json,sys; r=json.loads(sys.stdin.read()); r['round']=$r; print(json.dumps(r))" >> "$RES/inproc.jsonl"
  else
    log "FAILED: $tool $T (see $RES/stderr.txt)"
    echo "{\"tool\":\"$tool\",\"task\":\"$T\",\"round\":$r,\"failed\":true}" >> "$RES/inproc.jsonl"
  fi
}

TOOLS=(aperture pyvips sharp pillow)
k=0
for r in $(seq 1 "$ROUNDS"); do
  for T in $TASKS; do
    log "round $r/$ROUNDS $T (load $(cut -d' ' -f1 /proc/loadavg))"
    for i in 0 1 2 3; do   # rotate the order so no tool always runs first or last
      cell "${TOOLS[$(( (i + k) % 4 ))]}" "$T" "$r"
    done
    k=$((k + 1))
  done
done

# ---------------------------------------------------------------- 2. whole process, T2
cat > "$RES/timev.py" <<'PYEOF'
import json, re, sys
name, t = sys.argv[1], sys.stdin.read()
def g(key):
    m = re.search(re.escape(key) + r": *([\d.:]+)", t)
    return m.group(1) if m else None
w = g("Elapsed (wall clock) time (h:mm:ss or m:ss)") or "0"
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(w.split(":"))))
print(json.dumps({"name": name, "maxrss_kb": int(g("Maximum resident set size (kbytes)") or 0),
                  "cpu_s": float(g("User time (seconds)") or 0) + float(g("System time (seconds)") or 0),
                  "wall_s": wall, "exit": int(g("Exit status") or -1)}))
PYEOF
rss() {  # name cmd... -> one JSON line per run in cli.jsonl (peak RSS, CPU, wall)
  local name="$1"; shift
  local i
  for i in $(seq 1 "$RSS_RUNS"); do
    timeout 60 /usr/bin/time -v "$@" 2>&1 >/dev/null | "$PY" "$RES/timev.py" "$name" >> "$RES/cli.jsonl" || true
  done
}
log "whole process: T2 peak RSS ($RSS_RUNS runs each)"
O="$RES/outputs"
rss "aperture convert" "$BENCH_APERTURE_BIN" convert "$IMG/photo-24mp.jpg" "$O/cli-aperture-T2.jpg" --options rs:fit:300:300/q:80
if command -v vipsthumbnail >/dev/null; then
  rss "vipsthumbnail (VIPS_CONCURRENCY=1)" env VIPS_CONCURRENCY=1 vipsthumbnail "$IMG/photo-24mp.jpg" -s 300x300 -o "$O/cli-vips-T2.jpg[Q=80]"
fi
rss "python + Pillow script" "$PY" "$PEERS/harness/bench_py.py" --tool pillow --task T2 --once "$IMG/photo-24mp.jpg" "$O/cli-pillow-T2.jpg"

echo "loadavg_at_end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RES/env.txt"

# ---------------------------------------------------------------- report
"$PY" - "$RES" > "$RES/summary.md" <<'EOF'
import json, statistics as st, sys
res = sys.argv[1]
rows = [json.loads(l) for l in open(f"{res}/inproc.jsonl")]
env = dict(l.rstrip("\n").split(": ", 1) for l in open(f"{res}/env.txt") if ": " in l)
names = {"aperture": "aperture", "pyvips": "libvips", "sharp": "sharp", "pillow": "Pillow"}
peers = ["pyvips", "sharp", "pillow"]
def cells(tool, task):
    return [r for r in rows if r["tool"] == tool and r["task"] == task and not r.get("failed")]
def cpu(tool, task):   # median over every op of every round
    v = [x for r in cells(tool, task) for x in r["cpu_ms"]]
    return st.median(v) if v else None
def wall(tool, task):
    v = [x for r in cells(tool, task) for x in r["times_ms"]]
    return st.median(v) if v else None
def size(tool, task):
    c = cells(tool, task)
    return c[-1]["out_bytes"] if c else None
def n(tool, task):
    return sum(r["n"] for r in cells(tool, task))
f = lambda x, d=1: "-" if x is None else f"{x:.{d}f}"
tasks = sorted({r["task"] for r in rows})
print(f"{env.get('date')}, commit {env.get('commit')}; {env.get('mode')}; "
      f"load average {env.get('loadavg_at_start')} at start, {env.get('loadavg_at_end')} at end\n")
fr = [r["foreign_cpu_frac"] for r in rows if "foreign_cpu_frac" in r]
if fr:
    print(f"Other tenants' CPU during the peers' loops (their harness measures it from /proc/stat): "
          f"median {st.median(fr) * 100:.0f} % of the machine ({min(fr) * 100:.0f}-{max(fr) * 100:.0f} %).\n")
print("CPU ms per operation, median over all ops (aperture: thread CPU; peers: process CPU); "
      "ratio = aperture / best peer; target <= 1.0, goal 0.7.\n")
print("| task | aperture CPU ms/op | best peer | best peer CPU ms/op | ratio | libvips | sharp | Pillow | aperture wall ms | out bytes aperture / best peer |")
print("|---|---|---|---|---|---|---|---|---|---|")
for t in tasks:
    a = cpu("aperture", t)
    pc = {p: cpu(p, t) for p in peers}
    have = {p: v for p, v in pc.items() if v is not None}
    best = min(have, key=have.get) if have else None
    ratio = a / have[best] if (a is not None and best) else None
    print(f"| {t} | **{f(a)}** (n={n('aperture', t)}) | {names.get(best, '-')} | {f(have.get(best))} | "
          f"**{f(ratio, 2)}** | {f(pc['pyvips'])} | {f(pc['sharp'])} | {f(pc['pillow'])} | "
          f"{f(wall('aperture', t))} | {size('aperture', t) or '-'} / {size(best, t) if best else '-'} |")
try:
    cli = [json.loads(l) for l in open(f"{res}/cli.jsonl")]
except FileNotFoundError:
    cli = []
if cli:
    print("\nWhole process, T2 (24 MP JPEG -> fit 300x300 JPEG q80), `/usr/bin/time -v`, median of runs; target: aperture convert peak RSS < 40 MB.\n")
    print("| command | peak RSS MB | CPU ms (user+sys) | wall ms | runs |")
    print("|---|---|---|---|---|")
    for name in dict.fromkeys(r["name"] for r in cli):
        rs = [r for r in cli if r["name"] == name and r["exit"] == 0]
        if not rs:
            print(f"| {name} | failed | | | |"); continue
        print(f"| {name} | **{st.median(r['maxrss_kb'] for r in rs) / 1024:.1f}** "
              "(" + ", ".join("%.1f" % (r["maxrss_kb"] / 1024) for r in rs) + ") | "
              f"{st.median(r['cpu_s'] for r in rs) * 1000:.0f} | {st.median(r['wall_s'] for r in rs) * 1000:.0f} | {len(rs)} |")
EOF
cat "$RES/summary.md"
log "results in $RES"
