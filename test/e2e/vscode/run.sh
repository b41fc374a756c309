#!/usr/bin/env bash
# Builds the VS Code extension as a user would get it: compiles it with
# tsc (strict) and packages it with vsce, offline, then checks the .vsix
# (check.mjs). VS Code itself cannot run here (@vscode/test-electron
# downloads it); the server side of what the extension drives is covered
# by test/e2e/lsp with VS Code's own client library.
#
#   bash test/e2e/vscode/run.sh   (LOOM is not needed: nothing runs the server)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ext=$(cd "$here/../../../editors/vscode" && pwd)
die() { echo "vscode e2e: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed"
[ -x "$ext/node_modules/.bin/vsce" ] || die "run bash $here/install.sh first"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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
