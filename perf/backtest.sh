#!/usr/bin/env bash
# The backtest against hftbacktest 2.4.4 on the same capture and strategy, in the same run: the
# fixed-grid quoter (every 100 ms re-quote one lot a tick outside the BBO, post-only, 1 ms latency
# each way, no partial fills, the risk-averse queue unless MODEL says otherwise).
# - needletail: `backtest-live` is what `needletail backtest` runs (the tape through Binance's book
#   sync, the book ring, the strategy host, the tracker and the Clock against the simulated
#   exchange), from its prepared input (the memory-mapped tape) and from the raw gzip file (record
#   the tape, then run), beside zlib inflating the same file alone; `backtest-grid` is the bare
#   event loop on rows in memory (no book sync, host or tracker), for reference.
# - hftbacktest: its converted array, numba warm.
#   bash perf/backtest.sh [CAPTURE] [MODEL] [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
CAP=${1:-../shared/data/market/binance-usdm/btcusdt_20240808.gz}
MODEL=${2:-risk_averse}
REPS=${3:-9}
bash scripts/setup.sh >/dev/null
swift build -c release --product needletail-perf >/dev/null
pkill -f needletail-perf || true
echo "== needletail (live path)"
.build/release/needletail-perf backtest-live "$CAP" "$MODEL" "$REPS"
.build/release/needletail-perf backtest-live "$CAP" "$MODEL" 21 run
echo "== needletail (bare event loop)"
.build/release/needletail-perf backtest-grid "$CAP" "$MODEL" "$REPS"
echo "== hftbacktest"
.build-peers/hftbacktest/bin/python perf/baselines/hbt_grid_timing.py "$CAP" "$MODEL" 21
