#!/usr/bin/env bash
# Big repositories (issue 20), in one run, Go's source tree ($(go env
# GOROOT)/src) beside a small repository (a dozen files):
#   - `loom run hello` against a scripted model that answers at once: start
#     to first model request, cold (empty index cache) and warm, peak RSS and
#     the process's CPU time;
#   - `loom lsp` and gopls v0.23.0 on Go's tree: initialize to the first
#     non-empty workspace/symbol answer, and peak RSS then (loom's with the
#     whole index loaded);
#   - the repo map of Loom's own tree and of Go's tree, byte for byte against
#     a baseline binary built from BASE_REF (default: where this branch left
#     main).
# Medians of RUNS runs; the driver is bench/bigrepo. Prints `uptime` first:
# the machine may be shared, and wall times follow its load.
#
#   LOOM=path/to/loom BASE_REF=REF bash bench/bigrepo.sh   # default LOOM: ./bin/loom, built if missing
set -euo pipefail

cd "$(dirname "$0")/.."
LOOM=${LOOM:-./bin/loom}
RUNS=${RUNS:-5}
BASE_REF=${BASE_REF:-$(git merge-base HEAD main 2>/dev/null || echo main)}
QUERY=${QUERY:-NewReader}
GOPLS_VERSION=v0.23.0
die() { echo "bigrepo bench: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
SRC=$(go env GOROOT)/src
[ -d "$SRC" ] || die "$SRC is not a folder"
if [ ! -x "$LOOM" ]; then go build -o "$LOOM" ./cmd/loom || die "cannot build $LOOM"; fi
LOOM=$(cd "$(dirname "$LOOM")" && pwd)/$(basename "$LOOM")

# gopls goes into a cache folder outside the clone.
gobin=${XDG_CACHE_HOME:-$HOME/.cache}/loom-bench/gopls-$GOPLS_VERSION
GOPLS=$gobin/gopls
if [ ! -x "$GOPLS" ] || ! "$GOPLS" version 2>/dev/null | grep -q "$GOPLS_VERSION"; then
	echo "bigrepo bench: installing gopls@$GOPLS_VERSION into $gobin" >&2
	GOBIN=$gobin go install "golang.org/x/tools/gopls@$GOPLS_VERSION" || die "cannot install gopls"
fi

tmp=$(mktemp -d)
cleanup() {
	[ -d "$tmp/base-src" ] && git worktree remove --force "$tmp/base-src" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/driver" ./bench/bigrepo || die "cannot build bench/bigrepo"

# The small repository: Loom's workspace package, copied.
mkdir -p "$tmp/small"
cp workspace/*.go "$tmp/small/"

# Go keeps its module and build caches where they were (they follow HOME).
export GOMODCACHE="$(go env GOMODCACHE)" GOCACHE="$(go env GOCACHE)" GOPATH="$(go env GOPATH)"
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" LOOM_DB="$tmp/threads.db"
mkdir -p "$HOME"
cache="$tmp/cache"

median() { printf '%s\n' "$@" | sort -n | awk -v n="$#" 'NR == int((n + 1) / 2) { print $1 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }

# run_medians DIR cold|warm: medians of first-request ms, peak MB, CPU ms.
run_medians() {
	local dir=$1 mode=$2 first=() rss=() cpu=() i a b c
	XDG_CACHE_HOME=$cache "$tmp/driver" run -dir "$dir" -loom "$LOOM" >/dev/null || die "loom run failed in $dir"
	for ((i = 0; i < RUNS; i++)); do
		[ "$mode" = cold ] && rm -rf "$cache"
		read -r a b c < <(XDG_CACHE_HOME=$cache "$tmp/driver" run -dir "$dir" -loom "$LOOM") || die "loom run failed in $dir"
		first+=("$a") rss+=("$b") cpu+=("$c")
	done
	echo "$(median "${first[@]}") $(median "${rss[@]}") $(median "${cpu[@]}")"
}

echo "bigrepo: $(uptime)"
for repo in small go; do
	dir=$tmp/small
	[ "$repo" = go ] && dir=$SRC
	for mode in cold warm; do
		read -r f r c < <(run_medians "$dir" "$mode")
		printf 'bigrepo: loom run, %-5s repo, %s: first model request %7.1f ms, peak RSS %6.1f MB, CPU %7.1f ms\n' "$repo" "$mode" "$f" "$r" "$c"
		eval "${repo}_${mode}_first=$f ${repo}_${mode}_rss=$r"
	done
done
echo "bigrepo: goals: warm <= 100 ms (Go tree: $go_warm_first ms) and <= 100 MB ($go_warm_rss MB); cold <= 1000 ms ($go_cold_first ms)"

# loom lsp with the index warm on disk (the runs above wrote it), and gopls.
lsp_loom=() lsp_gopls=() rss_loom=() rss_gopls=()
for ((i = 0; i < RUNS; i++)); do
	XDG_CACHE_HOME=$cache "$tmp/driver" lsp -dir "$SRC" -query "$QUERY" "loom=$LOOM lsp" "gopls=$GOPLS" >"$tmp/lsp.out" || die "the lsp driver failed"
	read -r _ a b _ < <(grep '^loom ' "$tmp/lsp.out")
	lsp_loom+=("$a") rss_loom+=("$b")
	read -r _ a b _ < <(grep '^gopls ' "$tmp/lsp.out")
	lsp_gopls+=("$a") rss_gopls+=("$b")
done
ll=$(median "${lsp_loom[@]}") lg=$(median "${lsp_gopls[@]}")
rl=$(median "${rss_loom[@]}") rg=$(median "${rss_gopls[@]}")
echo "bigrepo: lsp on Go's tree, initialize to first workspace/symbol ($QUERY): loom $ll ms, gopls $lg ms: loom is $(ratio "$lg" "$ll")x faster (goal >= 5x)"
echo "bigrepo: lsp peak RSS with the index loaded: loom $rl MB (goal < 300 MB), gopls $rg MB"

# The repo map against a baseline binary, on a complete index.
if git rev-parse --verify -q "$BASE_REF^{commit}" >/dev/null; then
	git worktree add --detach "$tmp/base-src" "$BASE_REF" >/dev/null 2>&1 || die "cannot check out $BASE_REF"
	(cd "$tmp/base-src" && go build -o "$tmp/base-loom" ./cmd/loom) || die "cannot build $BASE_REF"
	for dir in "$PWD" "$SRC"; do
		XDG_CACHE_HOME=$tmp/map-base "$tmp/base-loom" analyze map --focus "" --root "$dir" >"$tmp/map-base" 2>/dev/null || die "baseline map of $dir failed"
		XDG_CACHE_HOME=$tmp/map-new "$LOOM" analyze map --focus "" --root "$dir" >"$tmp/map-new" 2>/dev/null || die "map of $dir failed"
		XDG_CACHE_HOME=$tmp/map-new "$LOOM" analyze map --focus "" --root "$dir" >"$tmp/map-kept" 2>/dev/null || die "map of $dir failed"
		if cmp -s "$tmp/map-base" "$tmp/map-new" && cmp -s "$tmp/map-new" "$tmp/map-kept"; then
			echo "bigrepo: repo map of $dir: identical to $BASE_REF's ($(wc -c <"$tmp/map-new") bytes), computed and kept"
		else
			echo "bigrepo: repo map of $dir: DIFFERS from $BASE_REF's"
		fi
	done
else
	echo "bigrepo: no $BASE_REF to compare repo maps with"
fi
