#!/usr/bin/env bash
# The ACP TypeScript client SDK drives the built binary ($LOOM) over stdio
# (client.test.mjs, node --test): edits through the editor's fs after a
# permission request, the same edit without fs, cancellation, session/load,
# a session's own MCP server (npm server-everything, from test/e2e/mcpservers),
# and a start with nothing but PATH in the environment. The model is
# llmtest: one process per scenario, each playing a script from scripts/.
# install.sh installs what this needs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
: "${LOOM:?LOOM must name the loom binary}"
if [ ! -d "$here/node_modules/@agentclientprotocol/sdk" ]; then
	echo "acp e2e: run test/e2e/acp/install.sh first" >&2
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

(cd "$repo" && go build -o "$tmp/llmtest" ./llm/llmtest/cmd/llmtest)

# model NAME: start llmtest on scripts/NAME.json and print its base URL.
model() {
	"$tmp/llmtest" -script "$here/scripts/$1.json" >"$tmp/$1.out" 2>"$tmp/$1.err" &
	pids+=($!)
	for _ in $(seq 100); do
		url=$(head -n1 "$tmp/$1.out")
		if [ -n "$url" ]; then echo "$url"; return 0; fi
		sleep 0.1
	done
	echo "acp e2e: llmtest for $1 did not start:" >&2
	cat "$tmp/$1.err" >&2
	return 1
}
# Not in $(...): the llmtest processes must stay children of this shell
# for cleanup to kill them.
for name in edit nofs cancel load bare mcp; do
	model "$name" >/dev/null
done
for name in edit nofs cancel load bare mcp; do
	export "LLM_${name^^}=$(head -n1 "$tmp/$name.out")"
done

cd "$here"
LOOM="$LOOM" node --test --test-reporter=spec client.test.mjs
