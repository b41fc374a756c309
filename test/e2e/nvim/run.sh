#!/usr/bin/env bash
# Drives `loom lsp` from a real Neovim (0.7.2 from apt, headless): code
# actions on a Go file, the "Loom: Fix" command run by Neovim, the scripted
# model's edit applied by Neovim's own workspace/applyEdit handler, the
# buffer written with :w, and the file on disk checked.
#
#   LOOM=/abs/path/to/loom bash test/e2e/nvim/run.sh   # default: bin/loom, built if missing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
die() { echo "nvim e2e: $*" >&2; exit 1; }

command -v nvim >/dev/null || die "nvim is not installed (bash $here/install.sh)"
LOOM=${LOOM:-$repo/bin/loom}
if [ ! -x "$LOOM" ]; then (cd "$repo" && go build -o "$LOOM" ./cmd/loom) || die "cannot build $LOOM"; fi

tmp=$(mktemp -d)
llm_pid=
cleanup() { [ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

(cd "$repo" && go build -o "$tmp/llmtest" ./llm/llmtest/cmd/llmtest) || die "cannot build llmtest"
# The model edits the string after an emoji, so Neovim must read the
# server's UTF-16 positions right.
cat >"$tmp/script.json" <<'JSON'
{"turns": [
  {"tool_calls": [{"name": "edit_file", "arguments": {"path": "greet.go", "old_text": "return \"hi 😀\"", "new_text": "return \"hello 😀 世界\""}}]},
  {"text": "Fixed the greeting."}
]}
JSON
"$tmp/llmtest" -script "$tmp/script.json" -record "$tmp/requests.json" >"$tmp/llmtest.out" 2>"$tmp/llmtest.err" &
llm_pid=$!
for _ in $(seq 100); do [ -s "$tmp/llmtest.out" ] && break; sleep 0.1; done
url=$(head -1 "$tmp/llmtest.out")
[ -n "$url" ] || die "llmtest did not start: $(cat "$tmp/llmtest.err")"

mkdir -p "$tmp/proj"
printf 'module demo\n\ngo 1.22\n' >"$tmp/proj/go.mod"
printf 'package main\n\n// 😀 greeting says hello.\nfunc greeting() string { return "hi 😀" }\n' >"$tmp/proj/greet.go"

export LOOM LOOM_MODEL=llmtest LOOM_BASE_URL="$url" LOOM_API_KEY= OPENAI_API_KEY=
export XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state"
# Threads go to a temporary database, never the user's.
export LOOM_DB="$tmp/threads.db"
status=0
(cd "$tmp/proj" && timeout 60 nvim --headless -u NONE -n greet.go -c "luafile $here/test.lua" </dev/null) >"$tmp/nvim.out" 2>&1 || status=$?
cat "$tmp/nvim.out"
[ "$status" -eq 0 ] || die "Neovim exited with $status (124: timed out)"

want=$'package main\n\n// 😀 greeting says hello.\nfunc greeting() string { return "hello 😀 世界" }'
got=$(cat "$tmp/proj/greet.go")
[ "$got" = "$want" ] || die "greet.go on disk is"$'\n'"$got"$'\n'"want"$'\n'"$want"
grep -q 'greeting is too terse' "$tmp/requests.json" || die "the Fix instruction did not carry the diagnostic"
# The Fix run is recorded as a done thread in $LOOM_DB. A failing `loom
# threads list` is a failure, not an empty answer.
threads=$("$LOOM" threads list --json --status done) || die "loom threads list failed: $threads"
tr -d '\n' <<<"$threads" | grep -Eq '^\[.*"title": *"Fix these problems in greet\.go' ||
	die "the Fix run was not recorded as a done thread in \$LOOM_DB: $threads"
echo "nvim e2e: ok (code action → loom.run → applyEdit by Neovim → :w)"
