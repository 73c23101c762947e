#!/usr/bin/env bash
# build-release.sh — the release build steps, shared by the Dockerfile (builder stage)
# and scripts/docker-build.sh (the same steps in a plain shell), so they cannot drift.
#
# usage:
#   build-release.sh deps        # build the dependencies (the Dockerfile's cached layer)
#   build-release.sh build       # build target/release/aperture
#   build-release.sh stage DIR   # lay out the runtime image's files under DIR
#
# `deps` is run by the Dockerfile with only the manifests (Cargo.toml, Cargo.lock, the
# workspace members' manifests and crates/) copied in: it puts stub sources where the
# real ones are missing, builds (so every dependency is compiled into that layer, which
# stays cached until a manifest changes), then removes the stubs and their artifacts.
# In a full checkout nothing is missing, so `deps` is simply the release build.
#
# Runtime layout (DIR is / in the image):
#   DIR/usr/local/bin/aperture          the binary (also the HEALTHCHECK: `aperture health`)
#   DIR/etc/aperture/default.toml       the documented defaults (also compiled in)
#   DIR/app/samples/                    the sample images (the default local_root,
#                                        relative to WORKDIR /app); mount your own there
#                                        or set APERTURE_LOCAL_ROOT
# Env: CARGO_TARGET_DIR (default target), CARGO_BUILD_JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=(cargo build --release --locked --package aperture --bin aperture)
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

# workspace members' sources that the manifests need to exist: path -> stub content
STUBS=("src/main.rs:fn main() {}" "src/lib.rs:" "loadtest/src/main.rs:fn main() {}")

case "${1:-}" in
  deps)
    made=()
    for entry in "${STUBS[@]}"; do
      path="${entry%%:*}"
      if [[ ! -e "$path" ]]; then
        mkdir -p "$(dirname "$path")"
        printf '%s\n' "${entry#*:}" > "$path"
        made+=("$path")
      fi
    done
    "${BUILD[@]}"
    if (( ${#made[@]} )); then
      rm -f "${made[@]}"
      # the stub build's own artifacts must not count as up to date for the real sources
      rm -rf "$TARGET_DIR"/release/.fingerprint/aperture-[0-9a-f]* \
        "$TARGET_DIR"/release/deps/aperture-[0-9a-f]* "$TARGET_DIR"/release/deps/libaperture-* \
        "$TARGET_DIR"/release/aperture
    fi
    ;;
  build)
    "${BUILD[@]}"
    ;;
  stage)
    dir="${2:?usage: build-release.sh stage DIR}"
    install -D -m 0755 "$TARGET_DIR/release/aperture" "$dir/usr/local/bin/aperture"
    install -D -m 0644 config/default.toml "$dir/etc/aperture/default.toml"
    mkdir -p "$dir/app/samples"
    cp -R samples/. "$dir/app/samples/"
    chmod -R a+rX "$dir/app" "$dir/etc/aperture"
    ;;
  *)
    sed -n '2,/^set -e/p' "$0" | sed '$d' >&2
    exit 2
    ;;
esac
