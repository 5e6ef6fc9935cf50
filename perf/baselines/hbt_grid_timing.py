"""hftbacktest 2.4.4 side of perf/backtest.sh: converts the capture once (timed), then runs the
fixed-grid quoter of Tests/BacktestTests/Peers/hbt_grid.py from the converted array REPS+1 times
(the first includes numba's compilation and is not counted); prints rows, fills and the median
warm run time.   usage: hbt_grid_timing.py CAPTURE.gz [MODEL] [REPS]"""
import importlib.util
import os
import sys
import time

import numpy as np

capture = sys.argv[1]
model = sys.argv[2] if len(sys.argv) > 2 else 'risk_averse'
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    'hbt_grid_lib', os.path.join(here, '..', '..', 'Tests', 'BacktestTests', 'Peers', 'hbt_grid.py'))
sys.argv = ['hbt_grid.py', capture, '/dev/null/', ]  # the peer's main loop runs no model with these
lib = importlib.util.module_from_spec(spec)
t0 = time.perf_counter()
spec.loader.exec_module(lib)  # converts the capture (its module-level code, no models to run)
convert_s = time.perf_counter() - t0
from hftbacktest import FILLED, HashMapMarketDepthBacktest
runs = []
fills = 0
for i in range(reps + 1):
    hbt = HashMapMarketDepthBacktest([lib.asset(lib.data, model)])
    log = np.zeros((200_000, 5), np.int64)
    s = time.perf_counter()
    n = lib.run(hbt, log)
    e = time.perf_counter()
    hbt.close()
    fills = int((log[:n, 3] == FILLED).sum())
    if i > 0:
        runs.append(e - s)
runs.sort()
print(f'hbt_rows={len(lib.data)} hbt_fills={fills} model={model}')
print(f'hbt_convert_s={convert_s:.3f} hbt_run_median_s={runs[len(runs) // 2]:.3f} hbt_run_min_s={runs[0]:.3f} '
      f'ns_per_row={runs[len(runs) // 2] * 1e9 / len(lib.data):.0f}')
