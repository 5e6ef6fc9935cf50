"""Fixed-grid two-sided quoter for the differential test (hftbacktest 2.4.4).

Every STEP_NS (100 ms) of backtest time:
  1. record every local order that is FILLED / EXPIRED / CANCELED (then clear_inactive_orders),
  2. cancel every cancellable (status NEW, no pending request) order,
  3. if the *local* book has both a best bid and a best ask, submit
       BUY  GTX LIMIT qty 0.001 @ best_bid_tick - 1   (order id = next counter)
       SELL GTX LIMIT qty 0.001 @ best_ask_tick + 1   (order id = next counter)
Constant order latency 1 ms entry / 1 ms response, risk-averse queue, no partial fills.

Usage: venv/bin/python grid_quoter.py [hashmap|roivec] [offset_ticks=1] [queue: riskaverse|log|log2|power:N|power2:N|power3:N] [fixed|sticky]
(sticky = keep a resting order if its price still equals the target, else cancel/re-quote; default fixed =
 the brief's strategy: cancel everything and re-quote every step)
(offset 1 = the brief's strategy: bid at best_bid-1 tick, ask at best_ask+1 tick; 0 = join the BBO)
"""
import sys
import time

import numpy as np
from numba import njit

from hftbacktest import (
    BacktestAsset, HashMapMarketDepthBacktest, ROIVectorMarketDepthBacktest,
    BUY, SELL, GTX, LIMIT, NEW, FILLED, EXPIRED, CANCELED,
)

DATA = '/work/hbt-research/btcusdt_20240808.npz'
STEP_NS = 100_000_000
ENTRY_NS = 1_000_000
RESP_NS = 1_000_000
QTY = 0.001
MAKER_FEE = 0.0002
TAKER_FEE = 0.0005

# columns of the order log (one row per order, written when it becomes inactive)
# (all int64) 0 order_id, 1 side(+1/-1), 2 price_tick, 3 qty in lots, 4 status(2 expired,3 filled,4 canceled),
# 5 exch_timestamp (exchange time of the final event: fill / expiry / cancel ack),
# 6 local_timestamp (local time of the last request sent for it: submit or cancel),
# 7 exec_price_tick, 8 exec_qty in lots, 9 maker(0/1), 10 seen_at (strategy step ts when observed),
# 11 submit_ts (strategy step ts when submitted)
NCOL = 12


@njit
def run(hbt, log, submit_ts_by_id, steps_out, offset, sticky):
    asset_no = 0
    tick = hbt.depth(asset_no).tick_size
    lot = hbt.depth(asset_no).lot_size
    n = 0
    next_id = 1
    steps = 0
    while hbt.elapse(STEP_NS) == 0:
        steps += 1
        now = hbt.current_timestamp
        # 1. harvest inactive orders
        values = hbt.orders(asset_no).values()
        while values.has_next():
            o = values.get()
            st = o.status
            if st == FILLED or st == EXPIRED or st == CANCELED:
                log[n, 0] = o.order_id
                log[n, 1] = o.side
                log[n, 2] = o.price_tick
                log[n, 3] = np.int64(np.round(o.qty / lot))
                log[n, 4] = st
                log[n, 5] = o.exch_timestamp
                log[n, 6] = o.local_timestamp
                log[n, 7] = o.exec_price_tick
                log[n, 8] = np.int64(np.round(o.exec_qty / lot))
                log[n, 9] = 1 if o.arr[0].maker else 0
                log[n, 10] = now
                log[n, 11] = submit_ts_by_id[o.order_id]
                n += 1
        hbt.clear_inactive_orders(asset_no)
        # 2./3. cancel and re-quote around the local BBO
        depth = hbt.depth(asset_no)
        bb = depth.best_bid_tick
        ba = depth.best_ask_tick
        has_bbo = np.isfinite(depth.best_bid) and np.isfinite(depth.best_ask)
        want_bid = bb - offset
        want_ask = ba + offset
        keep_bid = False
        keep_ask = False
        values = hbt.orders(asset_no).values()
        while values.has_next():
            o = values.get()
            if sticky and has_bbo and o.status == NEW and (
                    (o.side == BUY and o.price_tick == want_bid) or (o.side == SELL and o.price_tick == want_ask)):
                if o.side == BUY:
                    keep_bid = True
                else:
                    keep_ask = True
            elif o.cancellable:
                hbt.cancel(asset_no, o.order_id, False)
        if has_bbo:
            if not keep_bid:
                hbt.submit_buy_order(asset_no, next_id, want_bid * tick, QTY, GTX, LIMIT, False)
                submit_ts_by_id[next_id] = now
                next_id += 1
            if not keep_ask:
                hbt.submit_sell_order(asset_no, next_id, want_ask * tick, QTY, GTX, LIMIT, False)
                submit_ts_by_id[next_id] = now
                next_id += 1
    steps_out[0] = steps
    steps_out[1] = next_id - 1
    steps_out[2] = hbt.current_timestamp
    return n


def make_asset(qm='riskaverse'):
    a = (
        BacktestAsset()
        .data([DATA])
        .linear_asset(1.0)
        .constant_order_latency(ENTRY_NS, RESP_NS)   # == deprecated .constant_latency()
    )
    a = a.risk_adverse_queue_model() if qm == 'riskaverse' else \
        a.log_prob_queue_model() if qm == 'log' else \
        a.log_prob_queue_model2() if qm == 'log2' else \
        {'power': a.power_prob_queue_model, 'power2': a.power_prob_queue_model2,
         'power3': a.power_prob_queue_model3}[qm.split(':')[0]](float(qm.split(':')[1]))
    return (
        a
        .no_partial_fill_exchange()
        .trading_value_fee_model(MAKER_FEE, TAKER_FEE)
        .tick_size(0.1)
        .lot_size(0.001)
        .roi_lb(50000.0)
        .roi_ub(75000.0)
        .last_trades_capacity(0)
    )


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else 'hashmap'
    offset = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    qm = sys.argv[3] if len(sys.argv) > 3 else 'riskaverse'
    sticky = len(sys.argv) > 4 and sys.argv[4] == 'sticky'
    prefix = (f'/work/hbt-research/out_{kind}' + ('' if offset == 1 else f'_off{offset}')
              + ('' if qm == 'riskaverse' else '_' + qm.replace(':', '')) + ('_sticky' if sticky else ''))
    Ctor = HashMapMarketDepthBacktest if kind == 'hashmap' else ROIVectorMarketDepthBacktest
    timings = []
    for rep in range(2):   # rep 0 includes numba JIT compile, rep 1 is warm
        t0 = time.perf_counter()
        hbt = Ctor([make_asset(qm)])
        t1 = time.perf_counter()
        log = np.zeros((200_000, NCOL), np.int64)
        submit_ts = np.zeros(200_000, np.int64)
        steps = np.zeros(3, np.int64)
        n = run(hbt, log, submit_ts, steps, offset, sticky)
        t2 = time.perf_counter()
        sv = hbt.state_values(0)
        state = (sv.position, sv.balance, sv.fee, sv.num_trades, sv.trading_volume, sv.trading_value)
        hbt.close()
        timings.append((t1 - t0, t2 - t1))
    log = log[:n]
    log = log[np.lexsort((log[:, 0], log[:, 5]))]  # by exch_timestamp, then order id
    ts = [int(x) for x in log[:, 5]]
    with open(prefix + '_orders.csv', 'w') as f:
        f.write('order_id,side,price,price_tick,qty,status,exch_ts,last_req_local_ts,'
                'exec_price,exec_qty,maker,seen_at_step_ts,submit_ts\n')
        for r in log:
            st = {2: 'EXPIRED', 3: 'FILLED', 4: 'CANCELED'}[int(r[4])]
            f.write(f'{int(r[0])},{"BUY" if r[1] > 0 else "SELL"},{int(r[2]) * 0.1:.1f},{int(r[2])},'
                    f'{int(r[3]) * 0.001:.3f},{st},{int(r[5])},{int(r[6])},{int(r[7]) * 0.1:.1f},{int(r[8]) * 0.001:.3f},'
                    f'{int(r[9])},{int(r[10])},{int(r[11])}\n')
    fills = log[log[:, 4] == FILLED]
    with open(prefix + '_fills.csv', 'w') as f:
        f.write('exch_fill_ts_ns,local_recv_ts_ns,side,price,qty,order_id,maker,submit_ts_ns\n')
        for r in fills:
            f.write(f'{int(r[5])},{int(r[5]) + RESP_NS},{"BUY" if r[1] > 0 else "SELL"},'
                    f'{int(r[7]) * 0.1:.1f},{int(r[8]) * 0.001:.3f},{int(r[0])},{int(r[9])},{int(r[11])}\n')
    n_exp = int((log[:, 4] == EXPIRED).sum())
    n_can = int((log[:, 4] == CANCELED).sum())
    print(f'kind={kind} offset={offset} queue={qm} sticky={sticky} steps={steps[0]} orders_submitted={steps[1]} final_ts={steps[2]}')
    print(f'orders logged={len(log)} filled={len(fills)} expired(GTX would cross)={n_exp} canceled={n_can}')
    print('state_values (position, balance, fee, num_trades, trading_volume, trading_value) =', state)
    for i, (tb, tr) in enumerate(timings):
        print(f'rep{i}: build {tb:.3f}s  run {tr:.3f}s' + ('  (includes numba JIT)' if i == 0 else '  (warm)'))
    print('first 20 fills: exch_ts side price qty order_id')
    for r in fills[:20]:
        print(int(r[5]), 'BUY ' if r[1] > 0 else 'SELL', f'{int(r[7]) * 0.1:.1f}', f'{int(r[8]) * 0.001:.3f}', int(r[0]))


if __name__ == '__main__':
    main()
