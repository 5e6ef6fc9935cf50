#!/usr/bin/env bash
# Side-by-side hot-path comparisons in one run: Needletail's Swift core against small C/C++
# baselines of our own, on the same data, alternating rounds, printing medians and ratios.
#
#   bash perf/run.sh [ROUNDS]        (default 3; env L2_DIR reuses a generated synthetic stream)
#
# Data: the real Binance captures in ../shared/data/market (exported to pre-parsed arrays by
# needletail-perf) and the synthetic stream of ../shared/tools/gen_l2.py (1,000,000 diffs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SHARED=${NEEDLETAIL_SHARED:-../shared}
OUT=perf/out
L2=${L2_DIR:-$OUT/l2}
mkdir -p "$OUT" perf/baselines/bin

if [ ! -f "$L2/pre/msg_off.i64" ]; then
  echo "generating the synthetic stream (gen_l2.py, ~1 min)..."
  python3 "$SHARED/tools/gen_l2.py" --out "$L2" >/dev/null
fi

echo "building (release)..."
swift build -c release --product needletail-perf >/dev/null
PERF=.build/release/needletail-perf
g++ -O3 -std=c++17 -o perf/baselines/bin/book perf/baselines/book.cpp
g++ -O3 -std=c++17 -DSIMDJSON_THREADS_ENABLED=1 -o perf/baselines/bin/decode perf/baselines/decode.cpp -lsimdjson
g++ -O3 -std=c++17 -DSIMDJSON_THREADS_ENABLED=1 -DNT_RAW_STRINGS -o perf/baselines/bin/decode_raw \
  perf/baselines/decode.cpp -lsimdjson
gcc -O3 -std=c11 -o perf/baselines/bin/ring perf/baselines/ring.c -lpthread
gcc -O2 -shared -fPIC -o perf/baselines/bin/malloc_count.so perf/baselines/malloc_count.c
B=perf/baselines/bin
# The Swift side runs with the allocation-counting shim: each timed loop reports its mallocs.
SWIFTPERF() { LD_PRELOAD=$B/malloc_count.so "$PERF" "$@"; }

REAL=$OUT/real-spot
if [ ! -f "$REAL/msg_off.i64" ]; then
  $PERF export-pre "$REAL" "$SHARED/data/market/binance-spot/btcusdt_20240808.gz" \
    "$SHARED/data/market/binance-spot/btcusdt_20240809.gz"
fi
REALF=$OUT/real-futures
if [ ! -f "$REALF/msg_off.i64" ]; then
  $PERF export-pre "$REALF" "$SHARED/data/market/binance-coinm/btcusd_perp_20240808.gz" \
    "$SHARED/data/market/binance-coinm/btcusd_perp_20240809.gz"
fi

LOG=$OUT/raw.txt
: >"$LOG"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS"
  {
    echo "round=$r"
    echo "# synthetic"; SWIFTPERF book "$L2/pre" 5 | sed 's/^/syn_/'
    $B/book "$L2/pre" ladder 5 | sed 's/^/syn_/'
    $B/book "$L2/pre" map 2 | sed 's/^/syn_/'
    echo "# real spot"; SWIFTPERF book "$REAL" 21 | sed 's/^/real_/'
    $B/book "$REAL" ladder 21 | sed 's/^/real_/'
    $B/book "$REAL" map 5 | sed 's/^/real_/'
    echo "# real coin-m"; SWIFTPERF book "$REALF" 11 | sed 's/^/realf_/'
    $B/book "$REALF" ladder 11 | sed 's/^/realf_/'
    $B/book "$REALF" map 3 | sed 's/^/realf_/'
    SWIFTPERF decode "$L2/btcusdt_depth.jsonl" 3
    $B/decode "$L2/btcusdt_depth.jsonl" 3
    $B/decode_raw "$L2/btcusdt_depth.jsonl" 3
    SWIFTPERF decode-apply "$L2/btcusdt_depth.jsonl" "$L2/pre" 3
    SWIFTPERF path "$SHARED/data/market/binance-spot/btcusdt_20240808.gz" \
      "$SHARED/data/market/binance-spot/btcusdt_20240809.gz"
    $PERF ring 50000000
    $B/ring throughput 50000000
    $PERF pingpong 1000000
    $B/ring pingpong 1000000
  } >>"$LOG" 2>&1
done
python3 perf/summarize.py "$LOG" | tee "$OUT/summary.md"
