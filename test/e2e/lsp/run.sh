#!/usr/bin/env bash
# Drives `loom lsp` with VS Code's own LSP client library over stdio
# (node --test lsp.test.mjs), with llmtest as the scripted model.
#
#   LOOM=/abs/path/to/loom bash test/e2e/lsp/run.sh   # default: bin/loom, built if missing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
die() { echo "lsp e2e: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed"
[ -d "$here/node_modules/vscode-languageserver-protocol" ] || die "run bash $here/install.sh first"
LOOM=${LOOM:-$repo/bin/loom}
if [ ! -x "$LOOM" ]; then (cd "$repo" && go build -o "$LOOM" ./cmd/loom) || die "cannot build $LOOM"; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Threads go to a temporary database, never the user's.
export LOOM_DB="$tmp/threads.db"
(cd "$repo" && go build -o "$tmp/llmtest" ./llm/llmtest/cmd/llmtest) || die "cannot build llmtest"
cd "$here"
LOOM=$LOOM LLMTEST=$tmp/llmtest timeout 90 node --test --test-timeout=30000 lsp.test.mjs
