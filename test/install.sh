#!/usr/bin/env bash
# Installs on a Debian machine what `make test` needs, then each end-to-end
# suite's own pinned tools (test/e2e/NAME/install.sh: apt packages, npm ci
# from committed lockfiles). Idempotent and quick when all is there, so
# `make test` runs it every time; .ci/run is only this plus `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# apt-get as root, or through sudo for a developer.
apt() {
	if [ "$(id -u)" = 0 ]; then apt-get "$@"
	elif command -v sudo >/dev/null; then sudo -E apt-get "$@"
	else echo "test/install.sh: need root to apt-get $*" >&2; return 1
	fi
}

need=()
# tmux: the REPL's end-to-end test drives it in a real terminal (cmd/loom/tmux_test.go).
for pkg in git patch make gcc tmux; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# The client suites run on Node (the machine image ships Node 20; Debian's
# own packages are the fallback).
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
# The server's store tests run on a real PostgreSQL (server/db/dbtest starts
# its own cluster from these binaries; the package's own cluster is unused).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# analysis measures its definitions' recall against Universal Ctags.
dpkg -s universal-ctags >/dev/null 2>&1 || need+=(universal-ctags)
if [ ${#need[@]} -gt 0 ]; then
	echo "install: ${need[*]}"
	apt update -qq
	apt install -y -qq "${need[@]}" >/dev/null
fi

# The sign-in tests send mail through a real mailpit (server/auth/mailtest),
# built once and cached outside the clone.
mailpit_bin="${XDG_CACHE_HOME:-$HOME/.cache}/loom-test/bin"
if [ ! -x "$mailpit_bin/mailpit" ]; then
	echo "install: mailpit (go install, about 90 s once)"
	mkdir -p "$mailpit_bin"
	GOBIN="$mailpit_bin" GOFLAGS=-mod=mod go install github.com/axllent/mailpit@v1.33.1
fi

for install in test/e2e/*/install.sh; do
	[ -f "$install" ] || continue
	bash "$install"
done
