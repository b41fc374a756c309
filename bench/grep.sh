#!/usr/bin/env bash
# Compares `loom tool grep` with ripgrep on the Go source tree: the same
# pattern ('func '), both printing every match as path:line:text to a file.
# Prints the median of 5 timed runs (after 1 warm-up) of each, both match
# counts and the ratio loom/rg. Exits non-zero only if a tool is missing or
# fails; a slow ratio is reported, not fatal.
#
#   LOOM=path/to/loom bash bench/grep.sh   # default: ./bin/loom, built if missing
set -euo pipefail

cd "$(dirname "$0")/.."
LOOM=${LOOM:-./bin/loom}
RUNS=${RUNS:-5}
PATTERN='func '
GOAL=1.5

die() { echo "grep bench: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
command -v rg >/dev/null || die "ripgrep (rg) is not installed; e.g. apt-get install -y ripgrep"
SRC=$(go env GOROOT)/src
[ -d "$SRC" ] || die "$SRC is not a folder"
if [ ! -x "$LOOM" ]; then
	echo "building $LOOM" >&2
	go build -o "$LOOM" ./cmd/loom || die "cannot build $LOOM"
fi
LOOM=$(cd "$(dirname "$LOOM")" && pwd)/$(basename "$LOOM")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_rg() {
	# rg exits 1 when nothing matches, which here is a failure too.
	(cd "$SRC" && rg -n "$PATTERN" .) >"$tmp/rg.out" 2>"$tmp/rg.err"
}
run_loom() {
	"$LOOM" tool grep --root "$SRC" --args "{\"pattern\":\"$PATTERN\",\"max_results\":1000000}" >"$tmp/loom.out" 2>"$tmp/loom.err"
}

run_rg || die "rg failed: $(head -c 500 "$tmp/rg.err")"
run_loom || die "loom tool grep failed: $(head -c 500 "$tmp/loom.err")"

# count_matches FILE: lines shaped path:line:text (not loom's trailing notes).
count_matches() { grep -cE '^[^:]+:[0-9]+:' "$1" || true; }
rg_count=$(count_matches "$tmp/rg.out")
loom_count=$(count_matches "$tmp/loom.out")

# median_seconds NAME: times `run_NAME` RUNS times, prints the median.
median_seconds() {
	local fn=run_$1 times=() i start end
	for ((i = 0; i < RUNS; i++)); do
		start=$(date +%s%N)
		"$fn" || die "$1 failed on run $((i + 1))"
		end=$(date +%s%N)
		times+=($(((end - start) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2) { printf "%.3f", $1 / 1e6 }'
}

if command -v hyperfine >/dev/null; then
	export -f run_rg run_loom
	export LOOM SRC PATTERN tmp
	hyperfine --warmup 1 --runs "$RUNS" --shell bash --style basic \
		--export-json "$tmp/hf.json" -n ripgrep run_rg -n loom run_loom >&2 ||
		die "hyperfine failed"
	# The medians, in the order the commands were given.
	mapfile -t medians < <(grep -oE '"median": *[0-9.eE+-]+' "$tmp/hf.json" | grep -oE '[0-9.eE+-]+$')
	[ "${#medians[@]}" -eq 2 ] || die "cannot read medians from hyperfine's JSON"
	rg_s=$(awk -v s="${medians[0]}" 'BEGIN { printf "%.3f", s }')
	loom_s=$(awk -v s="${medians[1]}" 'BEGIN { printf "%.3f", s }')
else
	rg_s=$(median_seconds rg)
	loom_s=$(median_seconds loom)
fi

ratio=$(awk -v a="$loom_s" -v b="$rg_s" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "grep matches: loom $loom_count, ripgrep $rg_count (pattern '$PATTERN' in $SRC)"
echo "grep: loom $loom_s s, ripgrep $rg_s s, ratio ${ratio}x (goal <= ${GOAL}x; median of $RUNS runs after 1 warm-up)"
if awk -v r="$ratio" -v g="$GOAL" 'BEGIN { exit !(r > g) }'; then
	echo "grep: slower than the goal (the machine may be busy: compare with 'uptime')" >&2
fi
