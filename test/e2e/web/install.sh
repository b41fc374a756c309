#!/usr/bin/env bash
# Installs what the web tests need (client/login_e2e_test.go drives the
# server's pages through approve.mjs): Debian's Chromium, and
# playwright-core pinned by the committed lockfile, which downloads no
# browser. Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
	echo "install: chromium"
	if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
	else sudo -E apt-get update -qq && sudo -E apt-get install -y -qq --no-install-recommends chromium >/dev/null
	fi
fi
command -v npm >/dev/null || { echo "web e2e: npm is not installed (apt-get install -y nodejs npm)" >&2; exit 1; }
stamp=node_modules/.loom-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
