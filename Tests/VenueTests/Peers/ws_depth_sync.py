#!/usr/bin/env python3
"""A Binance depth-sync client written the way Binance's docs say, with the `websockets` library:
buffer diffs, fetch the REST snapshot, drop stale diffs, check U/u, resync on a gap.

  ws_depth_sync.py PORT CA_FILE SECONDS [QUIET]
Prints JSON: the final book (top 20 per side, strings), its update id, the top 5 after every
applied diff, and how many gaps it detected. Loopback only; stops once the stream has been quiet
for QUIET seconds (default 1.5) after its first message, or after SECONDS at most.
"""
import asyncio
import json
import ssl
import sys
import urllib.request
from decimal import Decimal

port, ca, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
quiet = float(sys.argv[4]) if len(sys.argv) > 4 else 1.5
ctx = ssl.create_default_context(cafile=ca)
base = f"https://localhost:{port}"


def snapshot():
    with urllib.request.urlopen(base + "/api/v3/depth?symbol=BTCUSDT&limit=1000", context=ctx, timeout=5) as r:
        return json.load(r)


def top(side, n, reverse):
    return [[str(p), str(side[p])] for p in sorted(side, reverse=reverse)[:n]]


async def main():
    import websockets

    bids, asks = {}, {}
    book_id = None
    buffer = []
    gaps = 0
    checkpoints = {}

    def apply(d):
        nonlocal book_id
        for p, q in d["b"]:
            if Decimal(q) == 0:
                bids.pop(Decimal(p), None)
            else:
                bids[Decimal(p)] = Decimal(q)
        for p, q in d["a"]:
            if Decimal(q) == 0:
                asks.pop(Decimal(p), None)
            else:
                asks[Decimal(p)] = Decimal(q)
        book_id = d["u"]
        checkpoints[d["u"]] = {"bids": top(bids, 5, True), "asks": top(asks, 5, False)}

    def load(snap):
        nonlocal book_id
        bids.clear()
        asks.clear()
        for p, q in snap["bids"]:
            bids[Decimal(p)] = Decimal(q)
        for p, q in snap["asks"]:
            asks[Decimal(p)] = Decimal(q)
        book_id = snap["lastUpdateId"]

    url = f"wss://localhost:{port}/stream?streams=btcusdt@depth@100ms/btcusdt@trade"
    async with websockets.connect(url, ssl=ctx, ping_interval=None, max_size=2**22) as ws:
        synced = False
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        seen = False
        while loop.time() < end:
            wait = max(0.05, end - loop.time())
            if seen:
                wait = min(wait, quiet)
            try:
                msg = await asyncio.wait_for(ws.recv(), timeout=wait)
            except asyncio.TimeoutError:
                break  # the flow has ended (or the time is up)
            seen = True
            try:
                env = json.loads(msg)
            except ValueError:
                print("BADJSON " + msg[:300], flush=True)
                raise
            if not env["stream"].endswith("@depth@100ms"):
                continue
            d = env["data"]
            if not synced:
                buffer.append(d)
                snap = await loop.run_in_executor(None, snapshot)
                load(snap)
                pending = [x for x in buffer if x["u"] > book_id]
                buffer = []
                if pending and not (pending[0]["U"] <= book_id + 1 <= pending[0]["u"]):
                    gaps += 1
                    continue  # snapshot and stream disagree: try again with the next diff
                for x in pending:
                    apply(x)
                synced = True
                continue
            if d["u"] <= book_id:
                continue
            if d["U"] != book_id + 1:
                gaps += 1  # a missed diff: the book is thrown away and rebuilt
                synced = False
                buffer = [d]
                snap = await loop.run_in_executor(None, snapshot)
                load(snap)
                pending = [x for x in buffer if x["u"] > book_id]
                buffer = []
                if pending and not (pending[0]["U"] <= book_id + 1 <= pending[0]["u"]):
                    continue
                for x in pending:
                    apply(x)
                synced = True
                continue
            apply(d)
    print(json.dumps({"id": book_id, "gaps": gaps, "bids": top(bids, 20, True), "asks": top(asks, 20, False),
                      "checkpoints": checkpoints}))


asyncio.run(main())
