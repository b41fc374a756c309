#!/usr/bin/env bash
# Installs the pinned peers of bench/definitions-python.sh and
# bench/definitions-typescript.sh (pyright, typescript-language-server with
# typescript, and rxjs's sources as a corpus) from package-lock.json, once
# per lockfile: `npm ci` again only when the lockfile changed.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "peers-node: npm is not installed" >&2; exit 1; }
stamp=node_modules/.loom-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	echo "peers-node: installing pyright, typescript-language-server, typescript, rxjs" >&2
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
	echo "$want" >"$stamp"
fi
