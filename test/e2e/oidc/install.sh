#!/usr/bin/env bash
# Installs the OpenID provider the sign-in tests log in through
# (server/auth/oauth/optest starts provider.mjs): oidc-provider pinned by
# the committed lockfile. Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "oidc e2e: npm is not installed (apt-get install -y nodejs npm)" >&2; exit 1; }
stamp=node_modules/.loom-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
