#!/usr/bin/env bash
# docker-build.sh — the Dockerfile's build and run, checked without a Docker daemon.
#
# Reads the Dockerfile and does what `docker build` + `docker run` would, in a plain shell:
#   1. runs the builder stage's RUN lines that call scripts/build-release.sh (the stage's
#      only build steps: deps, build, stage), in this checkout, with the runtime root
#      `/staging` replaced by a temporary folder; target/ is reused, so only what changed
#      is compiled (CARGO_TARGET_DIR is honoured);
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

# --- parse the Dockerfile: shell assignments, values quoted --------------------------
eval "$(python3 - Dockerfile "$staging" <<'PY'
import json, re, shlex, sys
path, staging = sys.argv[1], sys.argv[2]
lines, cur = [], ""
for raw in open(path):
    s = raw.rstrip("\n")
    if not cur and (not s.strip() or s.lstrip().startswith("#")):
        continue
    if cur and s.lstrip().startswith("#"):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    lines.append((cur + s).strip())
    cur = ""
stages, stage = [], None
for l in lines:
    word, _, rest = l.partition(" ")
    word = word.upper()
    if word == "FROM":
        stage = {"from": rest, "run": [], "env": {}, "workdir": "/", "user": "",
                 "expose": [], "cmd": None, "health": None}
        stages.append(stage)
    elif word == "RUN":
        stage["run"].append(rest)
    elif word == "ENV":
        for tok in shlex.split(rest):
            k, _, v = tok.partition("=")
            stage["env"][k] = v
    elif word == "WORKDIR":
        stage["workdir"] = rest
    elif word == "USER":
        stage["user"] = rest
    elif word == "EXPOSE":
        stage["expose"] += rest.split()
    elif word == "CMD":
        stage["cmd"] = json.loads(rest)
    elif word == "HEALTHCHECK":
        m = re.search(r"\bCMD\s+(\[.*\])\s*$", rest)
        stage["health"] = json.loads(m.group(1)) if m else None
build = [r for st in stages[:-1] for r in st["run"] if "scripts/build-release.sh" in r]
rt = stages[-1]
assert build, "no builder RUN line calls scripts/build-release.sh"
assert rt["cmd"] and rt["health"], "runtime stage needs CMD and HEALTHCHECK CMD (exec form)"
q = shlex.quote
print("build_steps=(" + " ".join(q(r.replace("/staging", staging)) for r in build) + ")")
print("image_env=(" + " ".join(q(f"{k}={v}") for k, v in rt["env"].items()) + ")")
print(f"workdir={q(rt['workdir'])} user={q(rt['user'].split(':')[0])}")
print("expose=(" + " ".join(q(p.split('/')[0]) for p in rt["expose"]) + ")")
print("cmd=(" + " ".join(map(q, rt["cmd"])) + ")")
print("health=(" + " ".join(map(q, rt["health"])) + ")")
print(f"image_port={q(rt['env'].get('PORT', ''))}")
PY
)"
[[ -n "$image_port" && " ${expose[*]} " == *" $image_port "* ]] \
  || die "EXPOSE (${expose[*]}) does not include the image's PORT ($image_port)"

# --- 1. the builder stage's steps ------------------------------------------------------
start=$SECONDS
for step in "${build_steps[@]}"; do
  log "RUN $step"
  bash -euo pipefail -c "$step"
done
log "build + stage: $((SECONDS - start)) s"
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
