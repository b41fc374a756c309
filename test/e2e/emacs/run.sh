#!/usr/bin/env bash
# Runs Loom's code actions in Emacs 28 through Eglot 1.9 (Debian's
# emacs-nox and elpa-eglot), batch mode: test.el loads the Eglot
# configuration of editors/emacs/README.md, opens a buggy Python file,
# starts `loom lsp` with eglot-ensure, executes "Loom: Fix" and checks the
# buffer; this script
# answers Eglot's "Proceed?" and checks the file on disk after the save.
#
#   LOOM=/abs/path/to/loom bash test/e2e/emacs/run.sh   # default: bin/loom, built if missing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
die() { echo "emacs e2e: $*" >&2; exit 1; }

command -v emacs >/dev/null || die "emacs is not installed (bash $here/install.sh)"
LOOM=${LOOM:-$repo/bin/loom}
if [ ! -x "$LOOM" ]; then (cd "$repo" && go build -o "$LOOM" ./cmd/loom) || die "cannot build $LOOM"; fi

tmp=$(mktemp -d)
llm_pid=
cleanup() { [ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT

(cd "$repo" && go build -o "$tmp/llmtest" ./llm/llmtest/cmd/llmtest) || die "cannot build llmtest"
cat >"$tmp/script.json" <<'JSON'
{"turns": [
  {"tool_calls": [{"name": "edit_file", "arguments": {"path": "calc.py", "old_text": "range(1, len(xs))", "new_text": "range(0, len(xs))"}}]},
  {"text": "The loop skipped the first number."}
]}
JSON
"$tmp/llmtest" -script "$tmp/script.json" -record "$tmp/requests.json" >"$tmp/llmtest.out" 2>"$tmp/llmtest.err" &
llm_pid=$!
for _ in $(seq 100); do [ -s "$tmp/llmtest.out" ] && break; sleep 0.1; done
url=$(head -1 "$tmp/llmtest.out")
[ -n "$url" ] || die "llmtest did not start: $(cat "$tmp/llmtest.err")"

mkdir -p "$tmp/proj" "$tmp/bin" "$tmp/home"
ln -s "$LOOM" "$tmp/bin/loom"
cat >"$tmp/proj/calc.py" <<'PY'
def total(xs):
    s = 0
    # add every number
    for i in range(1, len(xs)):
        s += xs[i]
    return s
PY

# `loom` only through PATH, as the README's ("loom" "lsp") expects; a
# scratch HOME and threads database, never the user's.
export PATH="$tmp/bin:$PATH" HOME="$tmp/home" LOOM_README="$repo/editors/emacs/README.md"
export LOOM_MODEL=llmtest LOOM_BASE_URL="$url" LOOM_API_KEY= OPENAI_API_KEY= LOOM_DB="$tmp/threads.db"
export XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache"
status=0
# "y": Eglot's confirmation of the server's edit, read from stdin in batch mode.
(cd "$tmp/proj" && echo y | timeout 60 emacs --batch -l "$here/test.el") >"$tmp/emacs.out" 2>&1 || status=$?
grep -v '^Loading\|^\[eglot\] Connected\|^$' "$tmp/emacs.out" || true
[ "$status" -eq 0 ] || die "Emacs exited with $status (124: timed out)"
grep -q 'range(0, len(xs))' "$tmp/proj/calc.py" || die "calc.py on disk was not fixed after the save"
grep -q 'Server wants to edit' "$tmp/emacs.out" || die "Eglot did not ask before applying the edit"
grep -q 'calc.py, line 4' "$tmp/requests.json" || die "the model was not told which line: $(head -c 600 "$tmp/requests.json")"
