#!/usr/bin/env bash
# Installs what run.sh needs: Debian 12's Emacs 28 without X (emacs-nox)
# and its Eglot 1.9 (elpa-eglot). The package index is refreshed only when
# a package is not found.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
dpkg -s emacs-nox elpa-eglot >/dev/null 2>&1 && exit 0
apt() {
	if [ "$(id -u)" = 0 ]; then apt-get "$@"
	elif command -v sudo >/dev/null; then sudo -E apt-get "$@"
	else echo "emacs e2e install: need root to apt-get $*" >&2; return 1
	fi
}
echo "install: emacs-nox elpa-eglot"
if ! apt install -y -qq --no-install-recommends emacs-nox elpa-eglot >/dev/null 2>&1; then
	apt update -qq
	apt install -y -qq --no-install-recommends emacs-nox elpa-eglot >/dev/null
fi
