#!/usr/bin/env bash
# Installs what run.sh needs: the VS Code extension's build tools
# (typescript, @vscode/vsce) and its runtime dependency
# (vscode-languageclient), pinned by editors/vscode/package-lock.json.
set -euo pipefail
ext=$(cd "$(dirname "$0")/../../../editors/vscode" && pwd)
command -v npm >/dev/null || { echo "vscode e2e: npm is not installed (apt-get install -y nodejs npm)" >&2; exit 1; }
cd "$ext"
# Idempotent and quiet: nothing to do when the lockfile is installed.
stamp=node_modules/.loom-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
