#!/usr/bin/env bash
# url-builders.sh — install the published imgproxy URL builders that
# tests/it/builders.rs checks against a real aperture, once, into ~/.cache/url-builders:
#   npm  @imgproxy/imgproxy-node   (the official Node builder)
#   PyPI imgproxy                  (the `imgproxy` Python package)
# (django-imgproxy needs Python >= 3.12; it is installed too when python3 is that new.)
#
# usage: url-builders.sh install
# prints one line per builder, read by the test:
#   node_modules=DIR        NODE_PATH for `require('@imgproxy/imgproxy-node')`
#   python=PATH             a python with `import imgproxy`
#   django=PATH             a python with `import django_imgproxy` (python3 >= 3.12 only)
#   skip=NAME: REASON       the install tool itself (npm, python3) is missing
# An install that fails although its tool exists exits non-zero with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE_TOOL=url-builders
# shellcheck source=scripts/lib/cache-install.sh
. scripts/lib/cache-install.sh

NODE_SPEC="@imgproxy/imgproxy-node@${IMGPROXY_NODE_VERSION:-1.1.0}"
PY_SPEC="imgproxy==${IMGPROXY_PY_VERSION:-1.0.0}"
DJANGO_SPEC="django-imgproxy==${DJANGO_IMGPROXY_VERSION:-0.2.0}"
home="$(cache_dir url-builders)"

[[ "${1:-}" == install ]] || { sed -n '2,/^set -e/p' "$0" | sed '$d' >&2; exit 2; }

if command -v npm >/dev/null && command -v node >/dev/null; then
  d="$home/node-${NODE_SPEC//[@\/]/_}"
  cached_install "$d" "cd '$d' && node -e \"require('@imgproxy/imgproxy-node')\"" npm_into "$NODE_SPEC"
  echo "node_modules=$d/node_modules"
else
  echo "skip=imgproxy-node: npm or node is not installed"
fi

if command -v python3 >/dev/null && python3 -m venv --help >/dev/null 2>&1; then
  d="$home/py-${PY_SPEC//=/_}"
  cached_install "$d" "'$d/venv/bin/python' -c 'import imgproxy'" pip_into "$PY_SPEC"
  echo "python=$d/venv/bin/python"
  if python3 -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    d="$home/py-${DJANGO_SPEC//=/_}"
    cached_install "$d" "'$d/venv/bin/python' -c 'import django_imgproxy'" pip_into "$DJANGO_SPEC"
    echo "django=$d/venv/bin/python"
  else
    echo "skip=django-imgproxy: needs Python >= 3.12, python3 is $(python3 -c 'import platform; print(platform.python_version())')"
  fi
else
  echo "skip=imgproxy (PyPI): python3 with venv is not installed"
fi
