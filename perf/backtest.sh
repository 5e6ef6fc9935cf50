#!/usr/bin/env bash
# The backtest against hftbacktest 2.4.4 on the same capture and strategy, in the same run: the
# fixed-grid quoter (every 100 ms re-quote one lot a tick outside the BBO, post-only, 1 ms latency
# each way, no partial fills, the risk-averse queue unless MODEL says otherwise), each engine on
# its own prepared input (ours: rows in memory; hftbacktest: its converted array, numba warm).
#   bash perf/backtest.sh [CAPTURE] [MODEL] [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
CAP=${1:-../shared/data/market/binance-usdm/btcusdt_20240808.gz}
MODEL=${2:-risk_averse}
REPS=${3:-5}
bash scripts/setup.sh >/dev/null
swift build -c release --product needletail-perf >/dev/null
echo "== needletail"
.build/release/needletail-perf backtest-grid "$CAP" "$MODEL" "$REPS"
echo "== hftbacktest"
.build-peers/hftbacktest/bin/python perf/baselines/hbt_grid_timing.py "$CAP" "$MODEL" "$REPS"
