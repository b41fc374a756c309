#!/usr/bin/env bash
# Installs what run.sh needs: the Node LSP client (VS Code's
# vscode-languageserver-protocol), pinned by the committed lockfile.
# Idempotent and quiet: does nothing when the lockfile is already installed.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "lsp e2e: npm is not installed (apt-get install -y nodejs npm)" >&2; exit 1; }
stamp=node_modules/.loom-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
