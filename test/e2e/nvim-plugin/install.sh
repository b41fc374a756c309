#!/usr/bin/env bash
# Installs what run.sh needs: Neovim (0.7.2 from Debian 12's apt; the
# package index is refreshed only when the package is not found).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
command -v nvim >/dev/null && exit 0
if ! apt-get install -y -qq neovim >/dev/null 2>&1; then
	apt-get update -qq
	apt-get install -y -qq neovim >/dev/null
fi
nvim --version | head -1
