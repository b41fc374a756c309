#!/usr/bin/env bash
# Compares MCP startup: spawn -> initialize -> tools/list of `loom mcp`
# against @modelcontextprotocol/server-filesystem (Node), both over stdio
# with raw JSON-RPC lines, on the same folder. Each run spawns a fresh
# process and is timed from spawn to the tools/list response; prints the
# median of RUNS runs (after 1 warm-up) of each and the ratio. Goal: Loom at
# least 10x faster. Exits non-zero only if a server is missing or fails.
#
#   LOOM=path/to/loom bash bench/mcp.sh   # default: ./bin/loom, built if missing
# The peer is installed by test/e2e/mcp/install.sh (npm ci, pinned).
set -euo pipefail

cd "$(dirname "$0")/.."
LOOM=${LOOM:-./bin/loom}
RUNS=${RUNS:-9}
GOAL=10
PEER=test/e2e/mcp/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js

die() { echo "mcp bench: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed"
[ -f "$PEER" ] || die "$PEER is missing; run bash test/e2e/mcp/install.sh"
if [ ! -x "$LOOM" ]; then
	echo "building $LOOM" >&2
	go build -o "$LOOM" ./cmd/loom || die "cannot build $LOOM"
fi
LOOM=$(cd "$(dirname "$LOOM")" && pwd)/$(basename "$LOOM")
ROOT=$(pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The driver spawns each server, writes initialize, initialized and
# tools/list, and stops the clock when the tools/list response arrives.
cat >"$tmp/driver.mjs" <<'JS'
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const [runs, name, cmd, ...args] = process.argv.slice(2);
const lines = [
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', id: 2, method: 'tools/list' },
].map((m) => JSON.stringify(m) + '\n').join('');

function once() {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = '';
    let done = false;
    child.on('error', reject);
    child.on('exit', (code) => { if (!done) reject(new Error(`${name} exited (${code}) before answering tools/list`)); });
    child.stdout.on('data', (d) => {
      buf += d;
      for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
        const msg = JSON.parse(buf.slice(0, i));
        if (msg.id !== 2) continue;
        const ms = performance.now() - start;
        if (!msg.result || !Array.isArray(msg.result.tools)) reject(new Error(`${name}: bad tools/list answer`));
        done = true;
        child.kill();
        resolve({ ms, tools: msg.result.tools.length });
      }
    });
    child.stdin.write(lines);
  });
}

await once(); // warm-up: page cache, JIT of the driver
const times = [];
let tools = 0;
for (let i = 0; i < Number(runs); i++) {
  const r = await once();
  times.push(r.ms);
  tools = r.tools;
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ name, median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1], tools }));
JS

peer=$(node "$tmp/driver.mjs" "$RUNS" server-filesystem node "$PEER" "$ROOT")
loom=$(XDG_CACHE_HOME="$tmp/cache" node "$tmp/driver.mjs" "$RUNS" loom "$LOOM" mcp --root "$ROOT")

node -e '
const [peer, loom, goal, runs] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const f = (r) => `${r.name.padEnd(18)} median ${r.median.toFixed(1).padStart(7)} ms  (min ${r.min.toFixed(1)}, max ${r.max.toFixed(1)}; ${r.tools} tools)`;
console.log(`MCP spawn -> initialize -> tools/list, median of ${runs} runs after a warm-up`);
console.log(f(peer));
console.log(f(loom));
const ratio = peer.median / loom.median;
console.log(`loom is ${ratio.toFixed(1)}x faster than server-filesystem (goal: ${goal}x) ${ratio >= goal ? "ok" : "BELOW GOAL"}`);
' "$peer" "$loom" "$GOAL" "$RUNS"
