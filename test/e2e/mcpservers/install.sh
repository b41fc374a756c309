#!/usr/bin/env bash
# Installs the third-party MCP servers that Loom's MCP client is tested
# against (cmd/loom/mcpservers_test.go starts them with node): the
# reference servers server-everything and server-filesystem, pinned by the
# committed lockfile. Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "mcpservers e2e: npm is not installed (apt-get install -y nodejs npm)" >&2; exit 1; }
stamp=node_modules/.loom-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
