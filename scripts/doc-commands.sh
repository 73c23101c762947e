#!/usr/bin/env bash
# doc-commands.sh — run the shell commands of the guides in docs/*.md against a freshly
# started aperture, and fail on any non-zero exit. CI runs it after the tests.
#
# Convention (in the Markdown):
#   <!-- doc-test -->             the next fenced ```sh block is run
#   <!-- doc-test file=NAME -->   the next fenced block (any language) is written to NAME
#                                 in the document's working folder, for later blocks
#   <!-- doc-test skip: REASON --> the next ```sh block is not run (REASON says why)
# In the guides (GUIDES below) every ```sh block must carry one of these markers, so a new
# command cannot go untested by accident; in the other docs only marked blocks run.
#
# How the blocks run: per document, all its runnable blocks in order, in one
# `bash -euo pipefail` (so a variable set in one block is seen by the next), in a fresh
# temporary folder holding that document's `file=` blocks. Environment:
#   IMGPROXY_ENDPOINT  http://127.0.0.1:PORT of the server (a free port, picked by it)
#   IMGPROXY_KEY, IMGPROXY_SALT, APERTURE_KEY, APERTURE_SALT   the server's key and salt
#                      (hex of "secret" and "hello", the README's example)
#   APERTURE_LOCAL_ROOT  the repository's samples/ (what the server serves)
#   PATH               with the aperture binary first (so `aperture sign` works)
# The server: target/debug/aperture (built by `cargo test`; APERTURE_BIN overrides), on
# 127.0.0.1, stopped at exit. Needs curl, python3; ruby for docs/rails.md, node and npm
# (the npm registry) for docs/javascript.md: a missing tool is an error naming it.
#
# usage: doc-commands.sh [docs/FILE.md ...]     (default: every docs/*.md)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
GUIDES="docs/rails.md docs/javascript.md docs/configuration.md docs/operations.md docs/cdn.md"
KEY=736563726574 SALT=68656c6c6f
log() { printf 'doc-commands: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bin="${APERTURE_BIN:-${CARGO_TARGET_DIR:-target}/debug/aperture}"
[[ -x "$bin" ]] || die "$bin not found: run \`cargo test --locked\` (or cargo build) first, or set APERTURE_BIN"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
bindir="$(mktemp -d "${TMPDIR:-/tmp}/doc-commands.XXXXXX")"
ln -s "$bin" "$bindir/aperture"

(( $# )) || set -- docs/*.md

# --- extract: one folder per document with run.sh and its files --------------------------
python3 - "$bindir" "$GUIDES" "$@" <<'PY' || die "extracting the blocks failed (above)"
import os, re, sys
out, guides, docs = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
marker = re.compile(r"^<!--\s*doc-test(?:\s+file=(\S+)|\s+skip:\s*(.+?)|)\s*-->\s*$")
bad = []
for doc in docs:
    lines = open(doc).read().split("\n")
    name = os.path.basename(doc)[:-3]
    d = os.path.join(out, "docs", name)
    script, files, pending, i = [], {}, None, 0
    while i < len(lines):
        line = lines[i]
        m = marker.match(line.strip())
        if m:
            pending = ("file", m.group(1)) if m.group(1) else ("skip", m.group(2)) if m.group(2) else ("run", None)
            i += 1
            continue
        fence = re.match(r"^(\s*)(```+)(\S*)", line)
        if fence:
            lang, start = fence.group(3), i + 1
            j = start
            while j < len(lines) and not lines[j].strip().startswith(fence.group(2)):
                j += 1
            body = "\n".join(lines[start:j]) + "\n"
            kind = pending[0] if pending else None
            if kind == "file":
                files[pending[1]] = body
            elif kind == "run":
                if lang not in ("sh", "bash"):
                    bad.append(f"{doc}:{i+1}: doc-test marks a ```{lang} block; only sh runs")
                script.append(f"echo '== {doc}:{i+1}' >&2\n{body}")
            elif kind is None and lang in ("sh", "bash") and doc in guides:
                bad.append(f"{doc}:{i+1}: a ```{lang} block without a doc-test marker")
            pending, i = None, j + 1
            continue
        if pending and line.strip():
            bad.append(f"{doc}:{i+1}: a doc-test marker not followed by a fenced block")
            pending = None
        i += 1
    if script:
        os.makedirs(d)
        for fname, body in files.items():
            with open(os.path.join(d, fname), "w") as f:
                f.write(body)
        with open(os.path.join(d, "run.sh"), "w") as f:
            f.write("".join(script))
        print(f"{doc}: {len(script)} block(s), {len(files)} file(s)", file=sys.stderr)
if bad:
    sys.exit("\n".join(bad))
PY

# --- the server ----------------------------------------------------------------------
server_log="$bindir/server.log"
clean_env=(env)
for v in $(compgen -e); do
  [[ "$v" == APERTURE_* || "$v" == PORT || "$v" == AWS_* || "$v" == IMGPROXY_* ]] && clean_env+=(-u "$v")
done
"${clean_env[@]}" APERTURE_LISTEN=127.0.0.1:0 APERTURE_KEY=$KEY APERTURE_SALT=$SALT \
  APERTURE_LOCAL_ROOT="$repo/samples" APERTURE_LOG_LEVEL=warn "$bin" serve >"$server_log" 2>&1 &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$bindir"
}
trap cleanup EXIT
addr=""
for _ in $(seq 1 150); do
  addr="$(sed -n 's|^aperture listening on http://||p' "$server_log" | head -n1)"
  [[ -n "$addr" ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$server_log" >&2; die "aperture exited at start"; }
  sleep 0.2
done
[[ -n "$addr" ]] || die "aperture did not start within 30 s"
log "aperture at http://$addr (pid $server)"

# --- run -----------------------------------------------------------------------------
failed=()
for d in "$bindir"/docs/*/; do
  [[ -f "$d/run.sh" ]] || continue
  name="$(basename "$d")"
  start=$SECONDS
  if ( cd "$d" && "${clean_env[@]}" PATH="$bindir:$PATH" IMGPROXY_ENDPOINT="http://$addr" \
        IMGPROXY_KEY=$KEY IMGPROXY_SALT=$SALT APERTURE_KEY=$KEY APERTURE_SALT=$SALT \
        APERTURE_LOCAL_ROOT="$repo/samples" timeout 300 bash -euo pipefail run.sh ); then
    log "docs/$name.md: ok ($((SECONDS - start)) s)"
  else
    log "docs/$name.md: FAILED (the block named last above)"
    failed+=("docs/$name.md")
  fi
done
kill -0 "$server" 2>/dev/null || { cat "$server_log" >&2; die "aperture died during the run"; }
(( ${#failed[@]} == 0 )) || die "failed: ${failed[*]}"
log "all documented commands passed"
