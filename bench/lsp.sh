#!/usr/bin/env bash
# Compares `loom lsp` with gopls v0.23.0 on the same small Go module, in the
# same run: spawn → initialize answered, and didOpen → first codeAction
# answered. Medians of RUNS runs (after one warm-up each) by the Go driver
# bench/lspbench; the ratios are gopls/loom (goal: loom at least 5x faster).
#
#   LOOM=path/to/loom bash bench/lsp.sh   # default: ./bin/loom, built if missing
set -euo pipefail

cd "$(dirname "$0")/.."
LOOM=${LOOM:-./bin/loom}
RUNS=${RUNS:-7}
GOAL=5
GOPLS_VERSION=v0.23.0
die() { echo "lsp bench: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
if [ ! -x "$LOOM" ]; then go build -o "$LOOM" ./cmd/loom || die "cannot build $LOOM"; fi
LOOM=$(cd "$(dirname "$LOOM")" && pwd)/$(basename "$LOOM")

# gopls goes into a bench-local GOBIN (bin/ is ignored by git).
gobin=$PWD/bin/bench
GOPLS=$gobin/gopls
if [ ! -x "$GOPLS" ] || ! "$GOPLS" version 2>/dev/null | grep -q "$GOPLS_VERSION"; then
	echo "lsp bench: installing gopls@$GOPLS_VERSION into $gobin" >&2
	GOBIN=$gobin go install "golang.org/x/tools/gopls@$GOPLS_VERSION" || die "cannot install gopls"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/lspbench" ./bench/lspbench || die "cannot build bench/lspbench"
mkdir -p "$tmp/mod"
printf 'module demo\n\ngo 1.22\n' >"$tmp/mod/go.mod"
cat >"$tmp/mod/main.go" <<'GO'
package main

import "fmt"

// greeting says hello to name.
func greeting(name string) string {
	return fmt.Sprintf("hello, %s", name)
}

func main() {
	fmt.Println(greeting("world"))
}
GO

export XDG_CACHE_HOME="$tmp/cache" XDG_CONFIG_HOME="$tmp/config"
"$tmp/lspbench" -dir "$tmp/mod" -file main.go -runs 1 "loom=$LOOM lsp" "gopls=$GOPLS" >/dev/null # warm-up
"$tmp/lspbench" -dir "$tmp/mod" -file main.go -runs "$RUNS" "loom=$LOOM lsp" "gopls=$GOPLS" >"$tmp/out" || die "the driver failed"

read -r _ loom_init loom_action < <(grep '^loom ' "$tmp/out")
read -r _ gopls_init gopls_action < <(grep '^gopls ' "$tmp/out")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
echo "lsp: initialize: loom $loom_init ms, gopls $gopls_init ms: loom is $(ratio "$gopls_init" "$loom_init")x faster (goal >= ${GOAL}x)"
echo "lsp: first codeAction: loom $loom_action ms, gopls $gopls_action ms: loom is $(ratio "$gopls_action" "$loom_action")x faster (goal >= ${GOAL}x)"
echo "lsp: medians of $RUNS runs on a one-file module"
