#!/usr/bin/env bash
# The system packages aperture builds against, installed with apt when missing (as root,
# or through sudo): what README's two commands run first, and what .ci/run runs.
#   nasm                   mozjpeg's and rav1e's SIMD (without it: slower C fallbacks)
#   libdav1d-dev pkg-config AVIF decoding (dav1d-sys 0.7 links the system libdav1d 1.0-1.2)
# Idempotent and quiet when everything is there.
set -euo pipefail
missing=()
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists dav1d 2>/dev/null || missing+=(libdav1d-dev)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]} (apt)" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -q >&2
  $SUDO apt-get install -y -q "${missing[@]}" >&2
fi
