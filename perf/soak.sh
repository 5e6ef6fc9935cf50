#!/usr/bin/env bash
# The order-tracking soak: N orders (default 100,000) placed and cancelled through the Binance
# connector against the Venue over loopback TLS, with lost responses, 503s, 500s, stale status,
# 429s and 418s injected; then the tracker is compared with the venue order by order and fill by
# fill. Prints the fault counts and exits non-zero on any disagreement.
#   bash perf/soak.sh [orders] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product needletail-perf >/dev/null
exec .build/release/needletail-perf soak "${1:-100000}" "${2:-1}"
