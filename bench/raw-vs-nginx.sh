#!/usr/bin/env bash
# Raw delivery side by side with nginx, in one run, on loopback:
#   1. streaming a 1 GiB file (curl, MB/s, median of N runs each);
#   2. a 20 KB JPEG under 64 concurrent connections (wrk, requests/s, median of N runs).
# Both servers serve the same folder; aperture with a signed raw URL, nginx as static.
# Needs nginx and wrk (installed from Debian if missing). Usage:
#   bench/raw-vs-nginx.sh [--runs N] [--duration SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
DURATION=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2;;
    --duration) DURATION="$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done

need() { command -v "$1" >/dev/null || { apt-get install -y -q nginx-light wrk >/dev/null; }; }
need nginx; need wrk
# BENCH_APERTURE_BIN=/path/to/aperture benchmarks a given build instead of building this tree.
if [[ -z "${BENCH_APERTURE_BIN:-}" ]]; then cargo build --release --quiet; fi
BIN="${BENCH_APERTURE_BIN:-target/release/aperture}"

WORK="$(mktemp -d)"
trap 'kill $(cat "$WORK"/nginx.pid 2>/dev/null) $APID 2>/dev/null || true; rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
mkdir -p "$WORK/root"
truncate -s 1G "$WORK/root/big.bin"
# 20 KB with a JPEG's first bytes (a truncated sample photo): what an image CDN serves,
# and what content sniffing sees first (random bytes would run every matcher)
head -c 20480 samples/sunset.jpg > "$WORK/root/small.bin"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NPORT=$(free_port); APORT=$(free_port)

cat > "$WORK/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$NPORT; root $WORK/root; }
}
NGINX
nginx -c "$WORK/nginx.conf"

KEY=736563726574 SALT=68656c6c6f
APERTURE_LISTEN=127.0.0.1:$APORT APERTURE_LOCAL_ROOT="$WORK/root" APERTURE_KEY=$KEY \
  APERTURE_SALT=$SALT APERTURE_LOG_LEVEL=warn "$BIN" serve > "$WORK/aperture.log" 2>&1 &
APID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$APORT/health" >/dev/null && break; sleep 0.1; done
sign() { APERTURE_KEY=$KEY APERTURE_SALT=$SALT "$BIN" sign --source "local:///$1" --options raw:1; }
A_BIG="http://127.0.0.1:$APORT$(sign big.bin)"; N_BIG="http://127.0.0.1:$NPORT/big.bin"
A_SMALL="http://127.0.0.1:$APORT$(sign small.bin)"; N_SMALL="http://127.0.0.1:$NPORT/small.bin"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
stream() { curl -s -o /dev/null -w '%{speed_download}\n' "$1" | awk '{printf "%.0f\n", $1/1048576}'; }
rps() { wrk -t2 -c64 -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {printf "%.0f\n", $2}'; }

# Interleave the two servers run by run, so background load hits both alike.
A_S=(); N_S=(); A_R=(); N_R=()
for i in $(seq "$RUNS"); do
  N_S+=("$(stream "$N_BIG")"); A_S+=("$(stream "$A_BIG")")
  N_R+=("$(rps "$N_SMALL")"); A_R+=("$(rps "$A_SMALL")")
done
ms() { printf '%s\n' "$@" | median; }
as=$(ms "${A_S[@]}"); ns=$(ms "${N_S[@]}"); ar=$(ms "${A_R[@]}"); nr=$(ms "${N_R[@]}")
echo "runs=$RUNS (stream MiB/s: aperture ${A_S[*]} | nginx ${N_S[*]}; req/s: aperture ${A_R[*]} | nginx ${N_R[*]})"
printf '| test | aperture | nginx | ratio |\n|---|---|---|---|\n'
printf '| 1 GiB stream (MiB/s, median) | %s | %s | %.2f |\n' "$as" "$ns" "$(awk "BEGIN{print $as/$ns}")"
printf '| 20 KB file, 64 conns (req/s, median) | %s | %s | %.2f |\n' "$ar" "$nr" "$(awk "BEGIN{print $ar/$nr}")"
