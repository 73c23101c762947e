#!/usr/bin/env bash
# S3 raw delivery through aperture vs straight from the S3 server, same client (curl),
# same objects, one run, on loopback against SeaweedFS (scripts/s3-server.sh):
#   1. full stream of a 256 MiB object (MiB/s, median of --runs);
#   2. 100-byte ranges: median latency over --requests keep-alive requests each.
# Direct requests are SigV4-signed by curl (--aws-sigv4); aperture signs its own.
# For reference the same client also goes through nginx as a plain reverse proxy to the S3
# server (the request signed by curl, passed through unchanged): on a 2-core machine the
# S3 server and the client already fill both cores, so any proxy's copies cost throughput,
# and nginx shows what a minimal one costs here.
# Needs nginx (installed from Debian if missing).
# Usage: bench/s3-vs-direct.sh [--runs N] [--requests N]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
REQS=300
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2;;
    --requests) REQS="$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
# BENCH_APERTURE_BIN=/path/to/aperture benchmarks a given build instead of building this tree.
command -v nginx >/dev/null || apt-get install -y -q nginx-light >/dev/null
if [[ -z "${BENCH_APERTURE_BIN:-}" ]]; then cargo build --release --quiet; fi
BIN="${BENCH_APERTURE_BIN:-target/release/aperture}"
WORK="$(mktemp -d)"
cleanup() {
  [[ -n "${APID:-}" ]] && kill "$APID" 2>/dev/null || true
  [[ -f "$WORK/nginx.pid" ]] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  bash scripts/s3-server.sh stop --data "$WORK/s3" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
bash scripts/s3-server.sh start --data "$WORK/s3" --bucket bench >/dev/null
# shellcheck disable=SC1091
source "$WORK/s3/s3-server.env"
SIG=(--aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY")
head -c $((256 << 20)) /dev/zero > "$WORK/big.bin"
head -c 4096 /dev/urandom > "$WORK/small.bin"
for f in big.bin small.bin; do
  curl -sf "${SIG[@]}" -T "$WORK/$f" "$S3_ENDPOINT/bench/$f" >/dev/null
done
rm -f "$WORK/big.bin"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
APORT=$(free_port)
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_REGION=$S3_REGION
APERTURE_LISTEN=127.0.0.1:$APORT APERTURE_S3_ENDPOINT=$S3_ENDPOINT APERTURE_LOG_LEVEL=warn \
  "$BIN" serve > "$WORK/aperture.log" 2>&1 &
APID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$APORT/health" >/dev/null && break; sleep 0.1; done
NPORT=$(free_port)
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK; proxy_temp_path $WORK;
  upstream s3 { server 127.0.0.1:$S3_PORT; keepalive 8; }
  server {
    listen 127.0.0.1:$NPORT;
    location / {
      proxy_pass http://s3; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_set_header Host \$http_host;
      proxy_buffers 16 64k; proxy_max_temp_file_size 0;
    }
  }
}
NGINX
nginx -c "$WORK/nginx.conf" -p "$WORK"
A_BIG="http://127.0.0.1:$APORT$("$BIN" sign --source s3://bench/big.bin --options raw:1)"
A_SMALL="http://127.0.0.1:$APORT$("$BIN" sign --source s3://bench/small.bin --options raw:1)"
D_BIG="$S3_ENDPOINT/bench/big.bin"; D_SMALL="$S3_ENDPOINT/bench/small.bin"
N_BIG="http://127.0.0.1:$NPORT/bench/big.bin"; N_SMALL="http://127.0.0.1:$NPORT/bench/small.bin"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
stream() { curl -sf -o /dev/null -w '%{speed_download}\n' "$@" | awk '{printf "%.0f\n", $1/1048576}'; }
# N keep-alive requests in one curl process; per-request total times in ms
latency() {
  local url="$1"; shift
  local args=()
  for _ in $(seq "$REQS"); do args+=(-r 0-99 -o /dev/null "$url"); done
  curl -sf "$@" -w '%{time_total}\n' "${args[@]}" | awk '{print $1*1000}' | median
}
# warm each event loop's connection pool (and nginx's upstream keep-alive) first
for _ in 1 2 3 4; do curl -sf -o /dev/null "$A_SMALL"; curl -sf -o /dev/null "${SIG[@]}" "$N_SMALL"; done
A_S=(); D_S=(); N_S=(); A_L=(); D_L=(); N_L=()
for _ in $(seq "$RUNS"); do
  D_S+=("$(stream "${SIG[@]}" "$D_BIG")"); A_S+=("$(stream "$A_BIG")"); N_S+=("$(stream "${SIG[@]}" "$N_BIG")")
  D_L+=("$(latency "$D_SMALL" "${SIG[@]}")"); A_L+=("$(latency "$A_SMALL")"); N_L+=("$(latency "$N_SMALL" "${SIG[@]}")")
done
ms() { printf '%s\n' "$@" | median; }
as=$(ms "${A_S[@]}"); ds=$(ms "${D_S[@]}"); ns=$(ms "${N_S[@]}")
al=$(ms "${A_L[@]}"); dl=$(ms "${D_L[@]}"); nl=$(ms "${N_L[@]}")
echo "runs=$RUNS requests=$REQS (MiB/s aperture ${A_S[*]} | direct ${D_S[*]} | nginx proxy ${N_S[*]}; 100 B range ms aperture ${A_L[*]} | direct ${D_L[*]} | nginx proxy ${N_L[*]})"
printf '| test | via aperture | direct to S3 | ratio / added | via nginx proxy | ratio / added |\n|---|---|---|---|---|---|\n'
printf '| 256 MiB stream (MiB/s, median) | %s | %s | %.2f | %s | %.2f |\n' "$as" "$ds" \
  "$(awk "BEGIN{print $as/$ds}")" "$ns" "$(awk "BEGIN{print $ns/$ds}")"
printf '| 100-byte range (ms, median) | %.3f | %.3f | +%.3f ms | %.3f | +%.3f ms |\n' "$al" "$dl" \
  "$(awk "BEGIN{print $al-$dl}")" "$nl" "$(awk "BEGIN{print $nl-$dl}")"
