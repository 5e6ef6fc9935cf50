"""Converts a Binance futures capture with hftbacktest's own converter and writes its rows for the
Swift differential test: int64 little-endian columns (ev, exch_ts, local_ts, price, qty) per row,
price and qty as integers at the given decimal scales.

usage: hbt_rows.py CAPTURE.gz OUT.bin PRICE_SCALE QTY_SCALE
prints READY <rows> when done.
"""
import sys

import numpy as np
from hftbacktest.data.utils import binancefutures

capture, out, ps, qs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = binancefutures.convert(capture, output_filename=None)
cols = np.empty((len(data), 5), dtype='<i8')
cols[:, 0] = data['ev'].astype(np.int64)
cols[:, 1] = data['exch_ts']
cols[:, 2] = data['local_ts']
cols[:, 3] = np.rint(data['px'] * 10 ** ps).astype(np.int64)
cols[:, 4] = np.rint(data['qty'] * 10 ** qs).astype(np.int64)
cols.tofile(out)
print('READY', len(data), flush=True)
