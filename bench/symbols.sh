#!/usr/bin/env bash
# Compares `loom analyze symbols` with Universal Ctags on the Go source tree
# ($(go env GOROOT)/src): wall time cold (empty index cache) and warm (the
# cache from the previous run present), and the number of definitions each
# found. Medians of RUNS runs; the ratios are loom/ctags.
#
#   LOOM=path/to/loom bash bench/symbols.sh   # default: ./bin/loom, built if missing
set -euo pipefail

cd "$(dirname "$0")/.."
LOOM=${LOOM:-./bin/loom}
RUNS=${RUNS:-5}
COLD_GOAL=4
WARM_GOAL=20

die() { echo "symbols bench: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
command -v ctags >/dev/null || die "ctags is not installed; e.g. apt-get install -y universal-ctags"
ctags --version | grep -q Universal || die "ctags is not Universal Ctags; apt-get install -y universal-ctags"
SRC=$(go env GOROOT)/src
[ -d "$SRC" ] || die "$SRC is not a folder"
if [ ! -x "$LOOM" ]; then
	go build -o "$LOOM" ./cmd/loom || die "cannot build $LOOM"
fi
LOOM=$(cd "$(dirname "$LOOM")" && pwd)/$(basename "$LOOM")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_ctags() { ctags -R --languages=Go -f "$tmp/tags" "$SRC"; }
run_loom() { XDG_CACHE_HOME="$tmp/cache" "$LOOM" analyze symbols "$SRC" >"$tmp/loom.out" 2>"$tmp/loom.err"; }
run_loom_cold() { rm -rf "$tmp/cache"; run_loom; }
# The index alone, as an editor opening the repository needs it.
run_loom_index() { XDG_CACHE_HOME="$tmp/cache" "$LOOM" analyze symbols --count "$SRC" >/dev/null 2>"$tmp/loom.err"; }

# median_ms FN: runs FN RUNS times, prints the median in milliseconds.
median_ms() {
	local times=() i start end
	for ((i = 0; i < RUNS; i++)); do
		start=$(date +%s%N)
		"$1" || die "$1 failed: $(head -c 500 "$tmp/loom.err" 2>/dev/null)"
		end=$(date +%s%N)
		times+=($(((end - start) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2) { print $1 }'
}

# elapsed_ms FN: runs FN once, prints its wall time in milliseconds.
elapsed_ms() {
	local start end
	start=$(date +%s%N)
	"$1" || die "$1 failed: $(head -c 500 "$tmp/loom.err" 2>/dev/null)"
	end=$(date +%s%N)
	echo $(((end - start) / 1000000))
}
median() { printf '%s\n' "$@" | sort -n | awk -v n="$#" 'NR == int((n + 1) / 2) { print $1 }'; }

run_ctags # warm the page cache for both
# ctags and the cold index take turns, so a machine that speeds up or slows
# down during the run moves both alike.
ctags_runs=() cold_runs=()
for ((i = 0; i < RUNS; i++)); do
	ctags_runs+=("$(elapsed_ms run_ctags)")
	cold_runs+=("$(elapsed_ms run_loom_cold)")
done
ctags_ms=$(median "${ctags_runs[@]}")
cold_ms=$(median "${cold_runs[@]}")
run_loom # the cache for the warm runs
warm_ms=$(median_ms run_loom)
index_ms=$(median_ms run_loom_index)

ctags_defs=$(grep -vc '^!_TAG_' "$tmp/tags" || true)
loom_defs=$(wc -l <"$tmp/loom.out")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "symbols: $(tail -1 "$tmp/loom.err")"
echo "symbols: definitions: loom $loom_defs, ctags $ctags_defs (tags, all kinds) in $SRC"
echo "symbols: ctags $ctags_ms ms; loom cold $cold_ms ms ($(ratio "$cold_ms" "$ctags_ms")x ctags, goal <= ${COLD_GOAL}x)"
echo "symbols: warm index (--count) $index_ms ms: ctags is $(ratio "$ctags_ms" "$index_ms")x slower (goal >= ${WARM_GOAL}x); warm full listing $warm_ms ms ($(ratio "$ctags_ms" "$warm_ms")x); medians of $RUNS"
