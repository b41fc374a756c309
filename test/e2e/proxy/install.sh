#!/usr/bin/env bash
# Installs what the SDK tests need (server/proxy/sdk_e2e_test.go drives
# Loom's LLM proxy with openai.mjs and anthropic.mjs): the official
# `openai` and `@anthropic-ai/sdk` packages pinned by the committed
# lockfile. Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "proxy e2e: npm is not installed (apt-get install -y nodejs npm)" >&2; exit 1; }
stamp=node_modules/.loom-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
# openai 7 declares node >=22 but runs on the machine image's Node 20 (the
# tests show it); engine-strict is off, so npm only warns.
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
