#!/usr/bin/env bash
# docker-build.sh — the Dockerfile's build and run, checked without a Docker daemon.
#
# Reads the Dockerfile and does what `docker build` + `docker run` would, in a plain shell:
#   1. replays the builder stage: each COPY (from the build context: the files git knows
#      of, less .dockerignore) into a folder standing for its WORKDIR, and each RUN that
#      calls scripts/build-release.sh (deps with stub sources, build, stage), with the
#      runtime root `/staging` replaced by a temporary folder. Only the apt-get RUNs are
#      skipped (nasm is installed by .ci/run). target/ (or CARGO_TARGET_DIR) serves as the
#      builder's target dir, so dependencies are reused and a rerun compiles only aperture;
#   2. takes the runtime stage's WORKDIR, ENV, USER, EXPOSE, CMD and HEALTHCHECK, and runs
#      CMD from the staged files with exactly that environment (nothing else of the
#      caller's) and PORT set to a free port, as the USER's uid when run as root
#      (setpriv), so a file the image's user cannot read fails here too;
#   3. waits until the HEALTHCHECK command passes, GETs /health and a sample image
#      through the listening port, sends SIGTERM, expects a clean exit 0 and the
#      HEALTHCHECK to fail afterwards.
# Exits non-zero on any difference. Prints how long the build took.
#
# usage: docker-build.sh [--keep]      (--keep: leave the staging folder and the log)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'docker-build: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
keep=""; [[ "${1:-}" == --keep ]] && keep=1

staging="$(mktemp -d "${TMPDIR:-/tmp}/aperture-image.XXXXXX")"
chmod 755 "$staging"
server=""
cleanup() {
  if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server" 2>/dev/null || true; fi
  if [[ -z "$keep" ]]; then rm -rf "$staging"; else log "kept $staging"; fi
}
trap cleanup EXIT

# --- parse the Dockerfile -------------------------------------------------------------
eval "$(python3 scripts/lib/dockerfile.py parse Dockerfile "$staging")"
[[ -n "$image_port" && " ${expose[*]} " == *" $image_port "* ]] \
  || die "EXPOSE (${expose[*]}) does not include the image's PORT ($image_port)"

# --- 1. the builder stage's COPY and build steps -------------------------------------------
# A fixed folder (inside target/, so ignored) stands for the builder's WORKDIR: a stable
# path keeps cargo's artifacts of the copied crates reusable from one run to the next.
target_dir="$(mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)"
build_dir="$target_dir/docker-build$build_workdir"
rm -rf "$build_dir" && mkdir -p "$build_dir"
for s in "${skipped[@]}"; do log "skipped (system packages, provided by .ci/run): RUN ${s:0:60}..."; done
start=$SECONDS
for step in "${steps[@]}"; do
  log "$step"
  case "$step" in
    COPY\ *)
      read -r -a copy_args <<<"${step#COPY }"
      python3 scripts/lib/dockerfile.py copy "$PWD" "$build_dir" "${copy_args[@]}";;
    RUN\ *)
      ( cd "$build_dir" && env "${build_env[@]}" CARGO_TARGET_DIR="$target_dir" \
          bash -euo pipefail -c "${step#RUN }" );;
  esac
done
log "builder stage: $((SECONDS - start)) s"
[[ -x "$staging/usr/local/bin/aperture" ]] || die "the stage step left no usr/local/bin/aperture"

# --- 2. run CMD as the image would --------------------------------------------------
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
env_run=(env -i "PATH=$staging/usr/local/bin:/usr/local/bin:/usr/bin:/bin" "HOME=$workdir"
  "${image_env[@]}" "PORT=$port")
as_user=()
if [[ $(id -u) -eq 0 && -n "$user" && "$user" != root && "$user" != 0 ]] && command -v setpriv >/dev/null; then
  as_user=(setpriv "--reuid=$user" "--regid=$user" --clear-groups)
fi
logfile="$staging/server.log"
( cd "$staging$workdir" && exec "${as_user[@]}" "${env_run[@]}" "${cmd[@]}" ) >"$logfile" 2>&1 &
server=$!
log "started ${cmd[*]} (PID $server${as_user:+, uid $user}) with PORT=$port in $workdir"

# --- 3. HEALTHCHECK, /health, an image, SIGTERM --------------------------------------
healthy=""
for _ in $(seq 1 100); do
  kill -0 "$server" 2>/dev/null || { cat "$logfile" >&2; die "the server exited during start-up"; }
  if (cd "$staging$workdir" && "${env_run[@]}" "${health[@]}") 2>/dev/null; then healthy=1; break; fi
  sleep 0.2
done
[[ -n "$healthy" ]] || { cat "$logfile" >&2; die "HEALTHCHECK (${health[*]}) did not pass within 20 s"; }
log "HEALTHCHECK ${health[*]}: passes"
body="$(curl -sS --max-time 5 "http://127.0.0.1:$port/health")"
[[ "$body" == ok ]] || die "GET /health answered '$body'"
code="$(curl -sS --max-time 10 -o "$staging/sunset.jpg" -w '%{http_code}' \
  "http://127.0.0.1:$port/insecure/rs:fit:64:64/plain/local:///sunset.jpg")"
[[ "$code" == 200 && -s "$staging/sunset.jpg" ]] || die "sample image answered $code"
log "GET /health: ok; a sample thumbnail from WORKDIR's samples/: 200"
kill -TERM "$server"
rc=0; wait "$server" || rc=$?
server=""
[[ $rc -eq 0 ]] || { cat "$logfile" >&2; die "the server exited with $rc after SIGTERM"; }
if (cd "$staging$workdir" && "${env_run[@]}" "${health[@]}") 2>/dev/null; then
  die "HEALTHCHECK still passes with the server stopped"
fi
grep -q 'aperture stopped' "$logfile" || die "no clean-stop line in the log"
log "SIGTERM: clean exit 0; HEALTHCHECK fails once stopped. OK"
