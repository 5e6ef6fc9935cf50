#!/usr/bin/env bash
# Installs the system packages Needletail builds and tests against (Debian 12).
set -euo pipefail
pkgs=(liburing-dev libsimdjson-dev libjemalloc-dev libssl-dev zlib1g-dev libsqlite3-dev pkg-config g++ python3 python3-pip curl openssl ca-certificates)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Python peers for the interop tests, written by others: the `websockets` library and the ccxt
# Binance client (which trades against the venue).
for mod in websockets ccxt; do
  if ! python3 -c "import $mod" >/dev/null 2>&1; then
    echo "installing the Python '$mod' package (interop tests)"
    python3 -m pip install -q "$mod" 2>/dev/null || python3 -m pip install -q --break-system-packages "$mod"
  fi
done
if [ ! -d ../shared/data/market ] && [ -z "${NEEDLETAIL_SHARED:-}" ]; then
  echo "note: ../shared (captures and wire samples) is not beside this checkout; set NEEDLETAIL_SHARED" >&2
fi
