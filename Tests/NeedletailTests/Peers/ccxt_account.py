#!/usr/bin/env python3
"""ccxt's Binance client on its own, unchanged host names, reading one account.

  ccxt_account.py mainnet|testnet CA_FILE API_KEY SECRET SYMBOL
Run inside a network namespace whose hosts file sends Binance's names to a local venue. Prints
one JSON object: the account's trades, open orders and balances as ccxt read them, or
{"error": ...} and exits 1.
"""
import json
import os
import sys

import ccxt

profile, ca, key, secret, symbol = sys.argv[1:6]
os.environ["REQUESTS_CA_BUNDLE"] = ca
ex = ccxt.binance({
    "apiKey": key,
    "secret": secret,
    "enableRateLimit": False,
    "requests_trust_env": True,
    "timeout": 10000,
    "options": {
        "defaultType": "spot",
        "fetchMarkets": ["spot"],
        "fetchCurrencies": False,
        "fetchMargins": False,
        "adjustForTimeDifference": False,
    },
})
if profile == "testnet":
    ex.set_sandbox_mode(True)
out = {"hosts": sorted({v.split("/")[2] for v in ex.urls["api"].values() if isinstance(v, str)})}
try:
    ex.load_markets()
    trades = ex.fetch_my_trades(symbol, limit=1000)
    out["trades"] = [
        {"id": int(t["id"]), "side": t["side"], "price": t["info"]["price"], "qty": t["info"]["qty"]}
        for t in trades
    ]
    out["open_orders"] = len(ex.fetch_open_orders(symbol))
    bal = ex.fetch_balance()
    out["balance"] = {a: bal[a]["total"] for a in symbol.split("/")}
except Exception as e:  # report, do not hide
    out["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(out))
    sys.exit(1)
print(json.dumps(out))
