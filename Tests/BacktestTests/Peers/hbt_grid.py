"""hftbacktest 2.4.4 side of the grid-quoter differential test (the strategy of
docs/backtest/grid_quoter.py): converts a Binance futures capture with hftbacktest's converter,
then for each queue model named runs the fixed-grid quoter — every 100 ms forget finished orders,
cancel the working ones, quote 0.001 post-only one tick outside the local best bid and ask —
with 1 ms order latency each way, no partial fills, tick 0.1, lot 0.001; and writes every order
as `id,side,tick,status,exch_ts` (sorted by exch_ts, then id) to OUT_PREFIX<model>.csv.

usage: hbt_grid.py CAPTURE.gz OUT_PREFIX MODEL...   (models: risk_averse, log, log2, power:N,
power2:N, power3:N)
prints READY when done.
"""
import sys

import numpy as np
from numba import njit

from hftbacktest import (BUY, CANCELED, EXPIRED, FILLED, GTX, LIMIT, BacktestAsset,
                         HashMapMarketDepthBacktest)
from hftbacktest.data.utils import binancefutures


@njit
def run(hbt, log):
    tick = hbt.depth(0).tick_size
    n = 0
    next_id = 1
    while hbt.elapse(100_000_000) == 0:
        values = hbt.orders(0).values()
        while values.has_next():
            o = values.get()
            if o.status == FILLED or o.status == EXPIRED or o.status == CANCELED:
                log[n, 0] = o.order_id
                log[n, 1] = o.side
                log[n, 2] = o.price_tick
                log[n, 3] = o.status
                log[n, 4] = o.exch_timestamp
                n += 1
        hbt.clear_inactive_orders(0)
        values = hbt.orders(0).values()
        while values.has_next():
            o = values.get()
            if o.cancellable:
                hbt.cancel(0, o.order_id, False)
        depth = hbt.depth(0)
        if np.isfinite(depth.best_bid) and np.isfinite(depth.best_ask):
            hbt.submit_buy_order(0, next_id, (depth.best_bid_tick - 1) * tick, 0.001, GTX, LIMIT, False)
            hbt.submit_sell_order(0, next_id + 1, (depth.best_ask_tick + 1) * tick, 0.001, GTX, LIMIT, False)
            next_id += 2
    return n


def asset(data, model):
    a = BacktestAsset().data([data]).linear_asset(1.0).constant_order_latency(1_000_000, 1_000_000)
    name, _, n = model.partition(':')
    a = {
        'risk_averse': lambda: a.risk_adverse_queue_model(),
        'log': lambda: a.log_prob_queue_model(),
        'log2': lambda: a.log_prob_queue_model2(),
        'power': lambda: a.power_prob_queue_model(float(n)),
        'power2': lambda: a.power_prob_queue_model2(float(n)),
        'power3': lambda: a.power_prob_queue_model3(float(n)),
    }[name]()
    return (a.no_partial_fill_exchange().trading_value_fee_model(0.0002, 0.0005).tick_size(0.1)
            .lot_size(0.001).last_trades_capacity(0))


capture, prefix, models = sys.argv[1], sys.argv[2], sys.argv[3:]
data = binancefutures.convert(capture, output_filename=None)
for model in models:
    hbt = HashMapMarketDepthBacktest([asset(data, model)])
    log = np.zeros((200_000, 5), np.int64)
    n = run(hbt, log)
    hbt.close()
    log = log[:n]
    log = log[np.lexsort((log[:, 0], log[:, 4]))]
    with open(prefix + model.replace(':', '') + '.csv', 'w') as f:
        for r in log:
            status = {int(FILLED): 'FILLED', int(EXPIRED): 'EXPIRED', int(CANCELED): 'CANCELED'}[int(r[3])]
            f.write(f'{int(r[0])},{"BUY" if r[1] == BUY else "SELL"},{int(r[2])},{status},{int(r[4])}\n')
print('READY', flush=True)
