#!/usr/bin/env bash
# Measures `loom lsp`'s textDocument/definition and references on Python
# against pyright 1.1.414 (bench/peers-node, pinned by its lockfile) as
# ground truth. The corpus is other people's code: packages of the Python
# standard library on this machine (PKGS, default json email http asyncio
# unittest logging concurrent urllib
# from /usr/lib/python3.11, Debian's), copied into a temporary folder as
# top-level packages. N identifier uses are sampled with a fixed seed
# (imports left out; a name the peer answers with its own position is a
# declaration and left out too); each use's category is what the peer's
# answer declares: a local, a parameter, a module-level name of the same
# file, a name imported from another file of the corpus, an attribute or a
# method (the name after a dot), or something outside the corpus (a
# builtin, typeshed's stubs: "external", "member of external type").
# Prints per category the share Loom answers right / wrong / unanswered,
# and the references' precision and recall for REFS uses (goal: wrong
# under 5%).
#
#   bash bench/definitions-python.sh                 # N=2000 REFS=100 SEED=1
#   PYLIB=/usr/lib/python3.11 PKGS="json email" LOOM=path/to/loom bash bench/definitions-python.sh
set -euo pipefail

cd "$(dirname "$0")/.."
N=${N:-2000}
REFS=${REFS:-100}
SEED=${SEED:-1}
PYLIB=${PYLIB:-/usr/lib/python3.11}
PKGS=${PKGS:-json email http asyncio unittest logging concurrent urllib}
die() { echo "definitions-python bench: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
[ -d "$PYLIB" ] || die "no Python standard library at $PYLIB (set PYLIB)"
bash bench/peers-node/install.sh || die "cannot install the peers"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${LOOM:-}" ]; then
	LOOM=$tmp/loom
	go build -o "$LOOM" ./cmd/loom || die "cannot build loom"
fi
mkdir -p "$tmp/corpus"
for p in $PKGS; do
	cp -r "$PYLIB/$p" "$tmp/corpus/" || die "no package $p in $PYLIB"
done
find "$tmp/corpus" -name __pycache__ -prune -exec rm -rf {} +

go build -o "$tmp/defbench" ./bench/defbench || die "cannot build bench/defbench"
peers=$PWD/bench/peers-node/node_modules
echo "definitions-python bench: $(uptime)" >&2
XDG_CACHE_HOME=$tmp/cache "$tmp/defbench" -lang python -dir "$tmp/corpus" -n "$N" -refs "$REFS" -seed "$SEED" \
	-loom "$LOOM lsp" -peer "$peers/.bin/pyright-langserver --stdio"
