#!/usr/bin/env bash
# Measures `loom lsp`'s textDocument/definition and references on
# TypeScript against typescript-language-server 5.1.3 with typescript 5.9.3
# (bench/peers-node, pinned by its lockfile; its syntax server off, which
# would answer imports instead of what they name while the project loads)
# as ground truth. The corpus is other people's code: rxjs 7.8.2's sources
# (src/, 251 .ts files, from the same lockfile), copied into a temporary
# folder. Sampling and categories as bench/definitions-python.sh: N
# identifier uses with a fixed seed, each categorised by what the peer's
# answer declares. Prints per category the share Loom answers right /
# wrong / unanswered, and the references' precision and recall for REFS
# uses (goal: wrong under 5%).
#
#   bash bench/definitions-typescript.sh             # N=2000 REFS=100 SEED=1
#   LOOM=path/to/loom N=500 bash bench/definitions-typescript.sh
set -euo pipefail

cd "$(dirname "$0")/.."
N=${N:-2000}
REFS=${REFS:-100}
SEED=${SEED:-1}
die() { echo "definitions-typescript bench: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
bash bench/peers-node/install.sh || die "cannot install the peers"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${LOOM:-}" ]; then
	LOOM=$tmp/loom
	go build -o "$LOOM" ./cmd/loom || die "cannot build loom"
fi
peers=$PWD/bench/peers-node/node_modules
cp -r "$peers/rxjs/src" "$tmp/corpus"

go build -o "$tmp/defbench" ./bench/defbench || die "cannot build bench/defbench"
echo "definitions-typescript bench: $(uptime)" >&2
XDG_CACHE_HOME=$tmp/cache "$tmp/defbench" -lang typescript -dir "$tmp/corpus" -n "$N" -refs "$REFS" -seed "$SEED" \
	-loom "$LOOM lsp" -peer "$peers/.bin/typescript-language-server --stdio" \
	-init "{\"tsserver\":{\"path\":\"$peers/typescript/lib/tsserver.js\",\"useSyntaxServer\":\"never\"}}"
