#!/usr/bin/env bash
# Measures `loom lsp`'s textDocument/definition and references against
# gopls v0.23.0 as ground truth on Loom's own module, in one run: N
# identifier uses sampled with a fixed seed (go/types gives each its
# category), every file opened in both servers first as an editor would,
# the definition of each use and the references of REFS of them asked of
# both. Prints per category the share right / wrong / unanswered and the
# references' precision and recall (goals: wrong under 2%; locals and
# parameters right >= 95%; package-qualified members right >= 90%;
# references precision and recall >= 0.95).
#
#   bash bench/definitions.sh                  # N=3000 REFS=200 SEED=1
#   GOPLS=path/to/gopls LOOM=path/to/loom bash bench/definitions.sh
set -euo pipefail

cd "$(dirname "$0")/.."
N=${N:-3000}
REFS=${REFS:-200}
SEED=${SEED:-1}
GOPLS_VERSION=v0.23.0
die() { echo "definitions bench: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${LOOM:-}" ]; then
	LOOM=$tmp/loom
	go build -o "$LOOM" ./cmd/loom || die "cannot build loom"
fi

# gopls goes into a cache outside the clone, built once.
gobin=${XDG_CACHE_HOME:-$HOME/.cache}/loom-bench/gopls-$GOPLS_VERSION
GOPLS=${GOPLS:-$gobin/gopls}
if [ ! -x "$GOPLS" ] || ! "$GOPLS" version 2>/dev/null | grep -q "$GOPLS_VERSION"; then
	echo "definitions bench: installing gopls@$GOPLS_VERSION into $gobin" >&2
	GOBIN=$gobin go install "golang.org/x/tools/gopls@$GOPLS_VERSION" || die "cannot install gopls"
	GOPLS=$gobin/gopls
fi

go build -o "$tmp/defbench" ./bench/defbench || die "cannot build bench/defbench"
echo "definitions bench: $(uptime)" >&2
GOCACHE=$(go env GOCACHE) XDG_CACHE_HOME=$tmp/cache "$tmp/defbench" -dir . -n "$N" -refs "$REFS" -seed "$SEED" -loom "$LOOM lsp" -peer "$GOPLS"
