#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing.
# As root with apt-get it installs them; otherwise it names what is missing and fails.
set -euo pipefail

needed=()
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
command -v docker-compose >/dev/null 2>&1 || needed+=(docker-compose)
[ -n "${EXTRA_DEBIAN_PACKAGES:-}" ] && needed+=(${EXTRA_DEBIAN_PACKAGES})

[ ${#needed[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${needed[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
else
  echo "Missing system packages: ${needed[*]}" >&2
  echo "Install them with: sudo apt-get install ${needed[*]}" >&2
  exit 1
fi
