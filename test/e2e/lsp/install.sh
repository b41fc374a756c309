#!/usr/bin/env bash
# Installs what run.sh needs: the Node LSP client (VS Code's
# vscode-languageserver-protocol), pinned by the committed lockfile.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "lsp e2e: npm is not installed (apt-get install -y nodejs npm)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error >/dev/null
