#!/usr/bin/env bash
# Counts the files of real, valid code nobody here wrote that Loom flags
# with syntax errors (what `loom lsp` publishes when a file is opened and
# what syntax_check reports), per corpus: Go's standard library, Python's,
# JavaScript and TypeScript from npm packages (the end-to-end suites'
# node_modules and TypeScript's own lib .d.ts files), C (the C files of Go's
# tree and of the tree-sitter runtime and grammars Loom is built on) and C++
# (spdlog and fmt, from apt). Per corpus: files flagged when `loom lsp`
# opens them, by syntax_check on the untouched file, and by tree-sitter's
# parse (what Loom reported before); then how many of the files that parse
# cleanly still show an error injected by an edit. The goal is no file
# flagged on open and every injected error caught; the script exits
# non-zero otherwise.
#
#   bash bench/syntax.sh       # VERBOSE=1 lists the files flagged or missed
set -euo pipefail

cd "$(dirname "$0")/.."
die() { echo "syntax bench: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
command -v npm >/dev/null || die "npm is not installed; e.g. apt-get install -y nodejs npm"
apt() {
	if [ "$(id -u)" = 0 ]; then apt-get "$@"
	elif command -v sudo >/dev/null; then sudo -E apt-get "$@"
	else die "need root to apt-get $*"
	fi
}
# spdlog's headers (export macros such as SPDLOG_API) and fmt's, which it
# depends on.
if ! dpkg -s libspdlog-dev >/dev/null 2>&1; then
	echo "install: libspdlog-dev"
	DEBIAN_FRONTEND=noninteractive apt install -y -qq libspdlog-dev >/dev/null
fi
(cd bench/syntax && [ -d node_modules/typescript ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/syntaxcorpus" ./bench/syntaxcorpus

GOROOT=$(go env GOROOT)
TS_GRAMMARS=$(go list -m -f '{{.Dir}}' github.com/smacker/go-tree-sitter)
PYLIB=""
for d in /root/.pyenv/versions/3.11.7/lib/python3.11 /usr/lib/python3.11; do
	[ -d "$d" ] && { PYLIB=$d; break; }
done
[ -n "$PYLIB" ] || die "no Python 3.11 standard library found"

status=0
# corpus NAME: the paths on stdin.
corpus() {
	local out
	out=$("$tmp/syntaxcorpus" -name "$1" ${VERBOSE:+-v})
	echo "$out"
	grep -q 'flagged on open 0,' <<<"$out" || status=1
	grep -Eq 'caught ([0-9]+)/\1$' <<<"$out" || status=1
}

corpus go < <(find "$GOROOT/src" -name '*.go' -not -path '*/testdata/*' | sort)
# Python's test data that is invalid on purpose: files named bad*, the
# tokenizer's and lib2to3's Python 2 samples.
corpus python < <(find "$PYLIB" -name '*.py' -not -path '*/site-packages/*' \
	-not -name 'badsyntax_*' -not -name 'bad_coding*' -not -name 'bad_getattr*' \
	-not -path '*/lib2to3/tests/data/*' -not -path '*/test/tokenizedata/*' | sort)
corpus javascript < <(find test/e2e/*/node_modules -type f \( -name '*.js' -o -name '*.mjs' -o -name '*.cjs' \) | sort)
corpus typescript < <({ find test/e2e/*/node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' \); find bench/syntax/node_modules/typescript -name '*.ts'; } | sort)
corpus c < <({ find "$GOROOT/src" -name '*.c' -not -path '*/testdata/*'; find "$TS_GRAMMARS" -name '*.c' -not -name parser.c; } | sort)
corpus cpp < <(find /usr/include/spdlog /usr/include/fmt -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cc' -o -name '*.cpp' \) | sort)
exit $status
