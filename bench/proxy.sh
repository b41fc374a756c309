#!/usr/bin/env bash
# Loom's LLM proxy under load against Portkey's open-source gateway, in
# the same run on loopback: CLIENTS (200) concurrent streaming clients for
# DURATION (30s) per path through (a) the upstream directly, (b) `loom
# server`'s proxy, (c) Portkey's gateway 1.15.2 (bench/portkey, pinned by
# its lockfile), taking turns ROUNDS (3) times. The upstream is the Go
# driver's own (bench/proxyload): it streams 20 chunks, the first 100 ms
# after the request came, then one every 20 ms (due at fixed times, so a
# late timer does not push the rest back), each naming its request, so
# every client checks its stream is whole and its own. Prints p50/p99 of
# the time to the first event and to the end, what each proxy adds to the
# direct figures, the ratio, and the proxies' CPU per stream; then the
# same at LOW (20) streams, where the machine is not saturated and the
# proxy's own cost shows. Goals (judged at CLIENTS): Loom adds at most 1
# ms at p50 and 5 ms at p99, at least 5x less than Portkey. Exits non-zero
# if a server fails or a stream is dropped, cut or mixed up.
#
#   LOOM=path/to/loom DURATION=10s bash bench/proxy.sh   # default: ./bin/loom, built if missing
set -euo pipefail

cd "$(dirname "$0")/.."
LOOM=${LOOM:-./bin/loom}
DURATION=${DURATION:-30s}
CLIENTS=${CLIENTS:-200}
LOW=${LOW:-20}
ROUNDS=${ROUNDS:-3}
die() { echo "proxy bench: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
command -v npm >/dev/null || die "npm is not installed"
if [ ! -x "$LOOM" ]; then go build -o "$LOOM" ./cmd/loom || die "cannot build $LOOM"; fi
LOOM=$(cd "$(dirname "$LOOM")" && pwd)/$(basename "$LOOM")

# Portkey's gateway, pinned; its streams fail (500, "immutable") with the
# @hono/node-server it would pick, hence the overrides in package.json.
stamp=bench/portkey/node_modules/.loom-installed
want=$(sha256sum bench/portkey/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	echo "proxy bench: installing Portkey's gateway" >&2
	(cd bench/portkey && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "cannot install Portkey's gateway"
	echo "$want" >"$stamp"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/proxyload" ./bench/proxyload || die "cannot build bench/proxyload"
"$tmp/proxyload" -loom "$LOOM" -portkey bench/portkey -clients "$CLIENTS" -low "$LOW" -duration "$DURATION" -rounds "$ROUNDS"
