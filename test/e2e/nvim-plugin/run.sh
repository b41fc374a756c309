#!/usr/bin/env bash
# Drives the Neovim plugin (editors/nvim) in a real headless Neovim (0.7.2
# from apt) from a clean configuration: setup{} with the model in its env,
# a Go file opened, lines selected, :LoomRun with an instruction, the
# scripted model's edit applied by Neovim and written with :w; then
# :LoomExplain, the "Edit with instruction…" code action, and :LoomThreads;
# each edit reviewed as a diff first (accepted; the last one rejected).
# test.lua checks the buffers and the model requests; this script checks
# the file on disk.
#
#   LOOM=/abs/path/to/loom bash test/e2e/nvim-plugin/run.sh   # default: bin/loom, built if missing
#   KEEP=1 keeps the temporary folder; LOOM_TEST_DEBUG=1 also writes
#   Neovim's LSP log there (cache/nvim/lsp.log).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
die() { echo "nvim-plugin e2e: $*" >&2; exit 1; }

command -v nvim >/dev/null || die "nvim is not installed (bash $here/install.sh)"
LOOM=${LOOM:-$repo/bin/loom}
if [ ! -x "$LOOM" ]; then (cd "$repo" && go build -o "$LOOM" ./cmd/loom) || die "cannot build $LOOM"; fi

tmp=$(mktemp -d)
llm_pid=
cleanup() { [ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT

(cd "$repo" && go build -o "$tmp/llmtest" ./llm/llmtest/cmd/llmtest) || die "cannot build llmtest"
# Turns 1-2 answer :LoomRun, 3 :LoomExplain, 4-5 the code action, 6-7 the
# run whose edit is rejected in review.
cat >"$tmp/script.json" <<'JSON'
{"turns": [
  {"tool_calls": [{"name": "edit_file", "arguments": {"path": "greet.go", "old_text": "fmt.Println(\"hi \" + name)", "new_text": "fmt.Printf(\"hello, %s 😀\\n\", name)"}}]},
  {"text": "greet now uses Printf."},
  {"text": "## greet\n\n`greet` prints a greeting for *name*."},
  {"tool_calls": [{"name": "edit_file", "arguments": {"path": "greet.go", "old_text": "greet(\"world\")", "new_text": "greet(\"世界\")"}}]},
  {"text": "main greets the world in Chinese."},
  {"tool_calls": [{"name": "edit_file", "arguments": {"path": "greet.go", "old_text": "// greet prints a greeting.", "new_text": "// GREET PRINTS A GREETING."}}]},
  {"text": "Shouted."}
]}
JSON
"$tmp/llmtest" -script "$tmp/script.json" -record "$tmp/requests.json" >"$tmp/llmtest.out" 2>"$tmp/llmtest.err" &
llm_pid=$!
for _ in $(seq 100); do [ -s "$tmp/llmtest.out" ] && break; sleep 0.1; done
url=$(head -1 "$tmp/llmtest.out")
[ -n "$url" ] || die "llmtest did not start: $(cat "$tmp/llmtest.err")"

mkdir -p "$tmp/proj"
printf 'module demo\n\ngo 1.22\n' >"$tmp/proj/go.mod"
cat >"$tmp/proj/greet.go" <<'GO'
package main

import "fmt"

// greet prints a greeting.
func greet(name string) {
	fmt.Println("hi " + name)
} // 😀 end of greet

func main() { greet("world") }
GO

# The model reaches the server only through setup{env = ...}: nothing
# model-related is left in the environment.
unset LOOM_MODEL LOOM_BASE_URL OPENAI_BASE_URL
export LOOM LOOM_TEST_BASE_URL="$url" LOOM_TEST_REQUESTS="$tmp/requests.json" LOOM_API_KEY= OPENAI_API_KEY=
export LOOM_PLUGIN="$repo/editors/nvim"
export XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state"
status=0
(cd "$tmp/proj" && timeout 60 nvim --headless -u NONE -n -c "luafile $here/test.lua" </dev/null) >"$tmp/nvim.out" 2>&1 || status=$?
cat "$tmp/nvim.out"
[ "$status" -eq 0 ] || die "Neovim exited with $status (124: timed out)"

want='package main

import "fmt"

// greet prints a greeting.
func greet(name string) {
	fmt.Printf("hello, %s 😀\n", name)
} // 😀 end of greet

func main() { greet("世界") }'
got=$(cat "$tmp/proj/greet.go")
[ "$got" = "$want" ] || die "greet.go on disk is"$'\n'"$got"$'\n'"want"$'\n'"$want"
grep -q 'Say hello with Printf' "$tmp/requests.json" || die "no model request carried the :LoomRun instruction"
grep -q 'The code in question: greet.go, lines 6-8' "$tmp/requests.json" || die "the :LoomRun request did not tell the model which lines were selected"
echo "nvim-plugin e2e: ok (setup → :'<,'>LoomRun → review diff, accept → applyEdit → :w; :LoomExplain; Edit with instruction…; :LoomThreads; a rejected review)"
