#!/usr/bin/env bash
# The order-tracking soak: N orders (default 100,000) placed and cancelled through the path `run`
# trades on (a BinanceSession: the runtime, WebSocket API order entry, account events through the
# exec ring, reconciliation over REST) against the Venue over loopback TLS, with lost answers,
# 503s, 500s, cut answers, stale status, 429s and 418s, dropped/duplicated/reordered/cut account
# events, dropped sockets, skipped and cut depth diffs injected; then the tracker is compared with
# the venue order by order, fill by fill and balance by balance. Prints the fault counts and exits
# non-zero on any disagreement. MODE rest: the same through the REST order manager.
#   bash perf/soak.sh [orders] [seed] [runtime|rest]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product needletail-perf >/dev/null
mode=soak
[ "${3:-runtime}" = rest ] && mode=soak-rest
exec .build/release/needletail-perf "$mode" "${1:-100000}" "${2:-1}"
