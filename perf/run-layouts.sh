#!/usr/bin/env bash
# `needletail run` itself, on its layouts and with and without jemalloc: a live run against a
# `needletail venue` (synthetic flow, loopback TLS), event-driven pure market making re-quoting on
# every mid move, for SECS seconds each. Each run prints its own tick-to-trade (book change
# received → the order it caused sent, from the stamps the orders carry) and its peak RSS.
#   bash perf/run-layouts.sh [SECS]        (default 30)
# Builds the release binary twice: linked with jemalloc (the product) and on glibc's malloc
# (NEEDLETAIL_MALLOC=glibc, in .build-glibc). Writes perf/out/run-layouts/ and prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
OUT=perf/out/run-layouts
rm -rf "$OUT"
mkdir -p "$OUT"
swift build -c release --product needletail 2>/dev/null >/dev/null
NEEDLETAIL_MALLOC=glibc swift build -c release --product needletail --build-path .build-glibc 2>/dev/null >/dev/null
JE=.build/release/needletail
GL=.build-glibc/release/needletail
NCPU=$(nproc)
VCPU=0                      # the venue shares CPU 0 with the wire thread (it blocks too)
port=$((33000 + RANDOM % 1000))
cat >"$OUT/venue.yml" <<YML
listen: { host: 127.0.0.1, port: $port }
data_dir: $OUT/venue
symbols:
  - { name: BTCUSDT, base: BTC, quote: USDT, tick_size: "0.01", lot_size: "0.00001", min_qty: "0.00001", max_qty: "9000", min_notional: "5", max_num_orders: 200, maker_fee: "0.001", taker_fee: "0.001" }
accounts:
  - { api_key: perf-key, secret_env: PERF_VENUE_SECRET, balances: { USDT: "1000000", BTC: "20" } }
market:
  synthetic: { seed: 7, start_price: "60000", volatility_ticks_per_second: 4 }
YML
export PERF_VENUE_SECRET=perf-secret-0123 PERF_KEY=perf-key
taskset -c $VCPU $JE venue --config "$OUT/venue.yml" >"$OUT/venue.log" 2>&1 &
venue=$!
trap 'kill $venue 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "listening" "$OUT/venue.log" 2>/dev/null && break; sleep 0.1; done
cat >"$OUT/run.yml" <<YML
mode: live
exchange: { host: 127.0.0.1, port: $port, server_name: localhost, ca_file: $OUT/venue/ca.pem, api_key_env: PERF_KEY, secret_env: PERF_VENUE_SECRET }
market: BTCUSDT
clock_tick: 0.1
status_every: 3600
strategy: pure_market_making
pure_market_making: { bid_spread: 0.01, ask_spread: 0.01, order_amount: "0.001", order_refresh_time: 2, order_refresh_tolerance_pct: 0, event_driven: true }
YML
last=$((NCPU - 1))
layouts=(
  "one-thread|--layout one-thread --idle block --wire-cpu $last"
  "one-thread-spin|--layout one-thread --idle spin --wire-cpu $last"
  "two-threads|--layout two-threads --idle spin --wire-cpu 0 --strategy-cpu $last"
)
echo "| layout | malloc | orders timed | tick-to-trade p50 / p99 / p99.9 / max (µs) | stages p50: decoded / applied / decided / queued / sent (µs) | peak RSS (MiB) |"
echo "|---|---|---|---|---|---|"
for entry in "${layouts[@]}"; do
  name=${entry%%|*}
  flags=${entry#*|}
  for alloc in jemalloc glibc; do
    bin=$JE
    [ "$alloc" = glibc ] && bin=$GL
    log="$OUT/$name-$alloc.log"
    # shellcheck disable=SC2086
    $bin run "$OUT/run.yml" --db "$OUT/$name-$alloc.sqlite" --duration "$SECS" $flags >"$log" 2>&1 || {
      echo "run $name $alloc failed: see $log" >&2
      tail -5 "$log" >&2
      continue
    }
    t=$(grep "tick-to-trade" "$log" || echo "")
    m=$(grep "^memory:" "$log" || echo "")
    python3 - "$name" "$alloc" "$t" "$m" <<'PY'
import re, sys
name, alloc, t, m = sys.argv[1:5]
n = re.search(r"(\d+) orders", t)
tt = re.search(r"p50 ([\d.]+) µs, p99 ([\d.]+), p99\.9 ([\d.]+), max ([\d.]+)", t)
d = re.search(r"decoded ([\d.]+), applied ([\d.]+), decided ([\d.]+), queued ([\d.]+) \(signed, framed, sealed\), sent ([\d.]+)", t)
rss = re.search(r"peak RSS ([\d.]+) MiB \(([^)]*)\)", m)
print(f"| {name} | {rss.group(2) if rss else alloc} | {n.group(1) if n else '-'} | "
      + (" / ".join(tt.groups()) if tt else "-") + " | "
      + (" / ".join(d.groups()) if d else "-") + f" | {rss.group(1) if rss else '-'} |")
PY
  done
done
