#!/usr/bin/env python3
"""Binance WebSocket API client (the `websockets` library + hmac), as Binance's docs describe:
subscribe to user data with userDataStream.subscribe.signature, place, query and cancel orders.

  wsapi_client.py PORT CA_FILE API_KEY SECRET
Prints JSON with every response and user-data event received. Loopback only; bounded.
"""
import asyncio
import hashlib
import hmac
import json
import ssl
import sys
import time

port, ca, key, secret = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)


def signed(params):
    params = dict(params, apiKey=key, timestamp=int(time.time() * 1000))
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return params


async def main():
    import websockets

    out = {"responses": {}, "events": []}
    async with websockets.connect(f"wss://localhost:{port}/ws-api/v3", ssl=ctx, ping_interval=None) as ws:
        async def call(rid, method, params):
            await ws.send(json.dumps({"id": rid, "method": method, "params": params}))
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
                if "subscriptionId" in msg and "event" in msg:
                    out["events"].append(msg)
                    continue
                out["responses"][rid] = msg
                return msg

        await call("sub", "userDataStream.subscribe.signature", signed({}))
        await call("bad-sig", "order.place", dict(signed({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                          "timeInForce": "GTC", "quantity": "0.1", "price": "99"}),
                                                   signature="0" * 64))
        await call("take", "order.place", signed({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                                  "quantity": "1.5", "price": "100.5", "newClientOrderId": "ws-take"}))
        await call("rest", "order.place", signed({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                                  "quantity": "0.2", "price": "98.5", "newClientOrderId": "ws-rest",
                                                  "newOrderRespType": "RESULT"}))
        await call("status", "order.status", signed({"symbol": "BTCUSDT", "origClientOrderId": "ws-rest"}))
        await call("cancel", "order.cancel", signed({"symbol": "BTCUSDT", "origClientOrderId": "ws-rest"}))
        await call("broke", "order.place", signed({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                                   "quantity": "5000", "price": "99"}))
        end = asyncio.get_running_loop().time() + 1.0
        while asyncio.get_running_loop().time() < end:
            try:
                msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.2))
                out["events"].append(msg)
            except asyncio.TimeoutError:
                pass
    print(json.dumps(out))


asyncio.run(main())
