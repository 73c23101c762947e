#!/usr/bin/env bash
# Issue 5's side-by-side figures, in one run on loopback, runs interleaved:
#   1. cache hits: a ~20 KB processed variant (12 MP JPEG -> fit 300x300, q80) under 64
#      connections, against nginx serving the same bytes as a static file (target >= 0.8x);
#   2. uncached: the same variant with a unique cache-buster per request, 4 connections,
#      against ipx 3.1.1 (sharp 0.34.5), the peer ../shared/bench/peers measured, with a
#      unique ignored modifier per request (target >= 2x). aperture reuses the decoded
#      source across those requests (APERTURE_DECODED_CACHE_MB), so a third row asks
#      for a distinct source file (a hard link) on every request: every one decodes,
#      which is the pipeline's own throughput.
# Each row: median req/s over --runs runs (each run's figure in brackets), p50/p99 of
# the median run, non-2xx/errors summed over all runs, and aperture's peak RSS.
# Needs nginx, wrk (Debian) and node + npm (ipx from the npm registry, installed once into
# ~/.cache/aperture-bench/ipx with the lockfile of ../shared/bench/peers/node).
# Usage: bench/serve-vs-peers.sh [--runs N] [--duration SECONDS]
#   BENCH_APERTURE_BIN=/path/to/aperture benchmarks a given build instead of this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
HERE="$PWD"
RUNS=3
DURATION=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2;;
    --duration) DURATION="$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done

IMAGES="$HERE/../shared/bench-images"
PEERS="$HERE/../shared/bench/peers"
[[ -f "$IMAGES/photo-12mp.jpg" ]] || { echo "missing $IMAGES/photo-12mp.jpg" >&2; exit 1; }
command -v nginx >/dev/null && command -v wrk >/dev/null || apt-get install -y -q nginx-light wrk >/dev/null
command -v node >/dev/null || { echo "node is needed for ipx" >&2; exit 1; }

IPX_HOME="${HOME}/.cache/aperture-bench/ipx"
if [[ ! -d "$IPX_HOME/node_modules/ipx" ]]; then
  mkdir -p "$IPX_HOME"
  cp "$PEERS/node/package.json" "$PEERS/node/package-lock.json" "$IPX_HOME/"
  (cd "$IPX_HOME" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

if [[ -z "${BENCH_APERTURE_BIN:-}" ]]; then cargo build --release --quiet; fi
BIN="${BENCH_APERTURE_BIN:-target/release/aperture}"

WORK="$(mktemp -d)"
PIDS=()
trap 'kill "${PIDS[@]}" $(cat "$WORK"/nginx.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
mkdir -p "$WORK/root" "$WORK/www"
cp "$IMAGES/photo-12mp.jpg" "$WORK/root/"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }
APORT=$(free_port); NPORT=$(free_port); IPORT=$(free_port)

# aperture: the issue's memory settings; no key, so the `insecure` signature is accepted
# (wrk cannot compute an HMAC per request; signing costs microseconds either way).
env -u APERTURE_KEY -u APERTURE_SALT APERTURE_LISTEN=127.0.0.1:$APORT \
  APERTURE_LOCAL_ROOT="$WORK/root" APERTURE_MEMORY_BUDGET_MB=256 APERTURE_CACHE_MB=128 \
  APERTURE_LOG_LEVEL=warn "$BIN" serve > "$WORK/aperture.log" 2>&1 &
APID=$!; PIDS+=("$APID")
OPTS="rs:fit:300:300/q:80"
HIT="/insecure/$OPTS/plain/local:///photo-12mp.jpg@jpg"
wait_up "http://127.0.0.1:$APORT/health"
curl -sf -o "$WORK/www/thumb.jpg" "http://127.0.0.1:$APORT$HIT"
VARIANT_BYTES=$(stat -c %s "$WORK/www/thumb.jpg")

cat > "$WORK/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  open_file_cache max=16;
  keepalive_requests 1000000;
  types { image/jpeg jpg; }
  server { listen 127.0.0.1:$NPORT; root $WORK/www; }
}
NGINX
nginx -c "$WORK/nginx.conf"

IPX_HOME="$IPX_HOME" node "$HERE/bench/peers/ipx_server.mjs" "$WORK/root" "$IPORT" > "$WORK/ipx.log" 2>&1 &
PIDS+=("$!")
wait_up "http://127.0.0.1:$IPORT/fit_inside,s_300x300,f_jpeg,q_80/photo-12mp.jpg"

# run NAME CONNS URL [PREFIX SUFFIX]: one wrk run; appends "rps p50 p99 bad" to $WORK/NAME
run() {
  local name=$1 conns=$2 url=$3 unique=0
  [[ $# -gt 3 ]] && unique=1
  UNIQUE=$unique PATH_PREFIX="${4:-}" PATH_SUFFIX="${5:-}" \
    wrk -t2 -c"$conns" -d"${DURATION}s" -s "$HERE/bench/peers/wrk-stats.lua" "$url" |
    awk '/^STATS/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                    print v["rps"], v["p50_ms"], v["p99_ms"], v["non2xx"] + v["errors"] }' \
    >> "$WORK/$name"
}

A="http://127.0.0.1:$APORT"; N="http://127.0.0.1:$NPORT"; I="http://127.0.0.1:$IPORT"
# Unique URLs carry the run number: wrk's counters restart with every run, and a URL
# repeated from an earlier run would be a cache hit.
# Distinct sources: hard links named as wrk's unique paths (THREADxCOUNTER), more than
# two threads at ~200 req/s can ask for in one run.
LINKS=$((DURATION * 200))
python3 - "$WORK/root" "$RUNS" "$LINKS" <<'PY'
import os, sys
root, runs, links = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(1, runs + 1):
    os.makedirs(f"{root}/r{i}")
    for t in (1, 2):
        for n in range(1, links + 1):
            os.link(f"{root}/photo-12mp.jpg", f"{root}/r{i}/{t}x{n}.jpg")
PY
for i in $(seq "$RUNS"); do
  run nginx-hit 64 "$N/thumb.jpg"
  run aperture-hit 64 "$A$HIT"
  run ipx-cold 4 "$I/" "/fit_inside,s_300x300,f_jpeg,q_80,v_r$i-" "/photo-12mp.jpg"
  run aperture-cold 4 "$A/" "/insecure/$OPTS/cb:r$i-" "/plain/local:///photo-12mp.jpg@jpg"
  run aperture-distinct 4 "$A/" "/insecure/$OPTS/plain/local:///r$i/" ".jpg@jpg"
done
PEAK_MB=$(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$APID/status")

# summary NAME -> "median_rps|runs|p50|p99|bad" (p50/p99 of the median run)
summary() {
  sort -g "$WORK/$1" | awk -v n="$RUNS" '{r[NR]=$1; p5[NR]=$2; p9[NR]=$3; bad+=$4; all=all (NR>1?", ":"") sprintf("%.0f",$1)}
    END { m=int((NR+1)/2); printf "%.0f|%s|%s|%s|%d", r[m], all, p5[m], p9[m], bad }'
}
row() {
  IFS='|' read -r rps all p50 p99 bad <<< "$(summary "$2")"
  printf '| %s | %s | %s (%s) | %s | %s | %s |\n' "$1" "$3" "$rps" "$all" "$p50" "$p99" "$bad"
  echo "$rps" > "$WORK/$2.median"
}
ratio() { awk "BEGIN { printf \"%.2f\", $(cat "$WORK/$1.median") / $(cat "$WORK/$2.median") }"; }

echo "variant: $VARIANT_BYTES bytes; $RUNS runs of ${DURATION}s each, interleaved; $(nproc) cores"
printf '| server | conns | req/s median (runs) | p50 ms | p99 ms | non-2xx+errors |\n|---|---|---|---|---|---|\n'
row "nginx static, same bytes" nginx-hit 64
row "aperture cache hit" aperture-hit 64
row "ipx 3.1.1, unique URL" ipx-cold 4
row "aperture uncached, unique cb (decode reused)" aperture-cold 4
row "aperture uncached, distinct sources (decodes)" aperture-distinct 4
echo
echo "cache hits / nginx: $(ratio aperture-hit nginx-hit) (target >= 0.8)"
echo "uncached / ipx:     $(ratio aperture-cold ipx-cold) (target >= 2; same source, unique cachebuster)"
echo "decoding / ipx:     $(ratio aperture-distinct ipx-cold) (every request decodes its source)"
echo "aperture peak RSS:  ${PEAK_MB} MB"
