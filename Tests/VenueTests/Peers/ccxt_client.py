#!/usr/bin/env python3
"""A real Binance client (ccxt) trading against the Needletail venue on loopback.

  ccxt_client.py PORT CA_FILE API_KEY SECRET
Prints one JSON object with what every call returned (the Swift test checks it against the
venue's own state), or {"error": ...} and exits 1. Loopback only, bounded.
"""
import json
import os
import sys

import ccxt

port, ca, key, secret = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
os.environ["REQUESTS_CA_BUNDLE"] = ca  # ccxt passes verify=True; requests then trusts this bundle
base = f"https://localhost:{port}"
ex = ccxt.binance({
    "apiKey": key,
    "secret": secret,
    "enableRateLimit": False,
    "requests_trust_env": True,  # so that REQUESTS_CA_BUNDLE (our test CA) is used
    "timeout": 10000,
    "options": {
        "defaultType": "spot",
        "fetchMarkets": ["spot"],
        "fetchCurrencies": False,
        "fetchMargins": False,
        "adjustForTimeDifference": False,
        "warnOnFetchOpenOrdersWithoutSymbol": False,
    },
})
# Point every Binance host at the venue.
for k, v in list(ex.urls["api"].items()):
    if isinstance(v, str):
        path = v.split("binance.com", 1)[1] if "binance.com" in v else ""
        ex.urls["api"][k] = base + path

out = {}
try:
    markets = ex.load_markets()
    m = markets["BTC/USDT"]
    out["market"] = {"id": m["id"], "precision": m["precision"], "limits": m["limits"]}
    ob = ex.fetch_order_book("BTC/USDT", limit=10)
    out["book"] = {"bids": ob["bids"][:3], "asks": ob["asks"][:3]}
    out["limit_buy"] = ex.create_order("BTC/USDT", "limit", "buy", 0.5, 99.0, {"newClientOrderId": "cc-limit-1"})
    out["market_buy"] = ex.create_order("BTC/USDT", "market", "buy", 0.25)
    try:
        ex.create_order("BTC/USDT", "limit", "buy", 0.1, 101.0, {"postOnly": True})
        out["post_only"] = "accepted"
    except ccxt.BaseError as e:
        out["post_only"] = {"class": type(e).__name__, "message": str(e)}
    out["fetch_order"] = ex.fetch_order(out["limit_buy"]["id"], "BTC/USDT")
    out["open_orders"] = ex.fetch_open_orders("BTC/USDT")
    out["cancel"] = ex.cancel_order(out["limit_buy"]["id"], "BTC/USDT")
    out["open_after_cancel"] = ex.fetch_open_orders("BTC/USDT")
    bal = ex.fetch_balance()
    out["balance"] = {a: bal[a] for a in ("BTC", "USDT") if a in bal}
    out["my_trades"] = ex.fetch_my_trades("BTC/USDT")
except Exception as e:  # report, do not hide
    cause = e.__cause__ or e.__context__
    print(json.dumps({"error": f"{type(e).__name__}: {e} (cause: {cause!r})", "partial": list(out)}, default=str))
    sys.exit(1)
print(json.dumps(out, default=str))
