#!/usr/bin/env bash
# Installs the system packages Needletail builds and tests against (Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(liburing-dev libsimdjson-dev libjemalloc-dev libssl-dev zlib1g-dev libsqlite3-dev pkg-config g++ python3 python3-pip python3-venv curl openssl ca-certificates)
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
# hftbacktest 2.4.4, the backtest's reference (differential tests), in a venv of its own: it pins
# numpy/numba versions the other peers need not share. Out of git (.build*).
HBT=.build-peers/hftbacktest
if [ ! -x "$HBT/bin/python" ] || ! "$HBT/bin/python" -c "import hftbacktest" >/dev/null 2>&1; then
  echo "installing hftbacktest 2.4.4 into $HBT (backtest differential tests)"
  rm -rf "$HBT"
  python3 -m venv "$HBT"
  "$HBT/bin/pip" install -q "hftbacktest==2.4.4"
fi
if [ ! -d ../shared/data/market ] && [ -z "${NEEDLETAIL_SHARED:-}" ]; then
  echo "note: ../shared (captures and wire samples) is not beside this checkout; set NEEDLETAIL_SHARED" >&2
fi
