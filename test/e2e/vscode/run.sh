#!/usr/bin/env bash
# Builds the VS Code extension as a user would get it: compiles it with
# tsc (strict) and packages it with vsce, offline, then checks the .vsix
# (check.mjs); then installs that .vsix in a real VS Code (code-server,
# installed by install.sh into a cache folder) and drives it through
# Chromium against `loom lsp` and a scripted model (code-server.mjs).
#
#   LOOM=/abs/path/to/loom bash test/e2e/vscode/run.sh   # default: bin/loom, built if missing
#   KEEP=1 keeps the temporary folder; LOOM_ARTIFACTS=DIR puts the
#   screenshots there (else TMP/artifacts, kept when a step fails).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
ext=$repo/editors/vscode
die() { echo "vscode e2e: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed"
[ -x "$ext/node_modules/.bin/vsce" ] || die "run bash $here/install.sh first"
cache=$(bash "$here/install.sh" --print-cache)
[ -f "$cache/.loom-installed" ] || die "code-server is not installed in $cache: run bash $here/install.sh first"
LOOM=${LOOM:-$repo/bin/loom}
if [ ! -x "$LOOM" ]; then (cd "$repo" && go build -o "$LOOM" ./cmd/loom) || die "cannot build $LOOM"; fi
tmp=$(mktemp -d)
keep=${KEEP:-}
trap '[ -n "$keep" ] || rm -rf "$tmp"' EXIT

cd "$ext"
rm -rf out
timeout 60 node_modules/.bin/tsc -p . || die "tsc failed"
# </dev/null: vsce asks questions on a terminal (a missing field, say);
# here any question must fail the run, not wait.
timeout 60 node_modules/.bin/vsce package --skip-license --out "$tmp/loom.vsix" </dev/null >"$tmp/vsce.log" 2>&1 ||
	{ cat "$tmp/vsce.log" >&2; die "vsce package failed"; }
[ -s "$tmp/loom.vsix" ] || die "vsce made no .vsix"
node "$here/check.mjs" "$tmp/loom.vsix" "$ext"
echo "vscode e2e: ok (tsc strict, vsce package: $(du -k "$tmp/loom.vsix" | cut -f1) KB)"

(cd "$repo" && go build -o "$tmp/llmtest" ./llm/llmtest/cmd/llmtest) || die "cannot build llmtest"
mkdir -p "$tmp/work"
LOOM=$LOOM LLMTEST=$tmp/llmtest VSIX=$tmp/loom.vsix CACHE=$cache WORK=$tmp/work \
	timeout 420 node "$here/code-server.mjs" || { keep=1; die "code-server run failed (kept $tmp)"; }
