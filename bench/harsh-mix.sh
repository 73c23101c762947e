#!/usr/bin/env bash
# A harsh, random load against one aperture with the issue's memory settings
# (APERTURE_MEMORY_BUDGET_MB=256, APERTURE_CACHE_MB=128), driven by wrk rather than our
# own load generator: 20,000 distinct URLs over the photos of ../shared/bench-images and
# (15 %) the files of ../shared/corpus, valid and hostile; rs:{fit,fill,fill-down,force,
# auto} with widths 0-4000 and heights 0-2400, every output format (jpg, webp, png,
# avif, gif, or negotiated), 20 % blurred, 10 % dpr:3/el:1, a unique cb: each, so every
# request is a miss. Prints the answers by status class, empty bodies, latency and the
# server's peak RSS (VmHWM). Fails on any 5xx other than 503, any empty body, or a peak
# over --max-rss-mb (default 512). See docs/memory.md, "Allocator and threads".
# Usage: bench/harsh-mix.sh [--duration SECONDS] [--max-rss-mb N]
#   BENCH_APERTURE_BIN=/path/to/aperture measures a given build instead of this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
HERE="$PWD"
DURATION=30
MAX_RSS_MB=512
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2;;
    --max-rss-mb) MAX_RSS_MB="$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
IMAGES="$HERE/../shared/bench-images"
CORPUS="$HERE/../shared/corpus"
[[ -d "$IMAGES" && -f "$CORPUS/manifest.csv" ]] || { echo "needs ../shared/bench-images and ../shared/corpus" >&2; exit 1; }
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
if [[ -z "${BENCH_APERTURE_BIN:-}" ]]; then cargo build --release --quiet --bin aperture; fi
BIN="${BENCH_APERTURE_BIN:-target/release/aperture}"

WORK="$(mktemp -d)"
APID=""
trap '[[ -n "$APID" ]] && kill "$APID" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/root"
cp "$IMAGES"/*.jpg "$IMAGES"/*.png "$WORK/root/"
cp -r "$CORPUS" "$WORK/root/corpus"

python3 - "$WORK" <<'PY'
import csv, random, sys
work = sys.argv[1]
random.seed(7)
photos = ["photo-12mp.jpg", "photo-24mp.jpg", "photo-2mp.jpg", "alpha-2000.png"]
rows = list(csv.DictReader(open(f"{work}/root/corpus/manifest.csv")))
paths = []
for i in range(20000):
    src = "corpus/" + random.choice(rows)["path"] if random.random() < 0.15 else random.choice(photos)
    w = random.choice([0, 50, 100, 300, 640, 1200, 2000, 4000])
    h = random.choice([0, 80, 300, 900, 2400])
    rt = random.choice(["fit", "fill", "fill-down", "force", "auto"])
    ext = random.choice(["jpg", "webp", "png", "avif", "gif", ""])
    opts = f"rs:{rt}:{w}:{h}/cb:{i}"
    if random.random() < 0.2:
        opts += "/bl:3"
    if random.random() < 0.1:
        opts += "/dpr:3/el:1"
    paths.append(f"/insecure/{opts}/plain/local:///{src}" + (f"@{ext}" if ext else ""))
with open(f"{work}/mix.lua", "w") as f:
    f.write("paths={\n" + ",\n".join('"%s"' % p for p in paths) + "}\n")
    f.write("""
threads = {}
setup = function(t) table.insert(threads, t) end
s2 = 0 s4 = 0 s503 = 0 s5 = 0 empty = 0
request = function()
  return wrk.format("GET", paths[math.random(#paths)], {["Accept"] = "image/webp,image/avif,*/*"})
end
response = function(status, headers, body)
  if status >= 200 and status < 300 then s2 = s2 + 1
  elseif status == 503 then s503 = s503 + 1
  elseif status >= 400 and status < 500 then s4 = s4 + 1
  else s5 = s5 + 1 end
  if body == nil or #body == 0 then empty = empty + 1 end
end
done = function(summary, latency, requests)
  local t = {s2 = 0, s4 = 0, s503 = 0, s5 = 0, empty = 0}
  for _, th in ipairs(threads) do for k, _ in pairs(t) do t[k] = t[k] + th:get(k) end end
  io.write(string.format("RESULT 2xx=%d 4xx=%d 503=%d other=%d empty=%d p50_ms=%.0f p99_ms=%.0f max_ms=%.0f timeouts=%d\\n",
    t.s2, t.s4, t.s503, t.s5, t.empty, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.errors.timeout))
end
""")
PY

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -u APERTURE_KEY -u APERTURE_SALT APERTURE_LISTEN=127.0.0.1:$PORT \
  APERTURE_LOCAL_ROOT="$WORK/root" APERTURE_MEMORY_BUDGET_MB=256 APERTURE_CACHE_MB=128 \
  APERTURE_LOG_LEVEL=error "$BIN" serve > "$WORK/aperture.log" 2>&1 &
APID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
RESULT=$(wrk -t2 -c64 -d"${DURATION}s" --timeout 20s -s "$WORK/mix.lua" "http://127.0.0.1:$PORT" | grep '^RESULT')
PEAK_MB=$(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$APID/status")
echo "$RESULT peak_rss_mb=$PEAK_MB (${DURATION}s, 64 connections, budget 256 MB, cache 128 MB)"
bad=0
[[ "$RESULT" =~ other=0\  && "$RESULT" =~ empty=0\  ]] || { echo "FAIL: a 5xx other than 503, or an empty body" >&2; bad=1; }
(( PEAK_MB < MAX_RSS_MB )) || { echo "FAIL: peak RSS $PEAK_MB MB >= $MAX_RSS_MB MB" >&2; bad=1; }
exit $bad
