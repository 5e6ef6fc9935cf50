#!/usr/bin/env python3
"""A WebSocket peer nobody on this project wrote: the `websockets` library, for interop tests.

  ws_peer.py server            echo server on 127.0.0.1, prints "READY <port>", exits after 60 s
                               or when a client sends the text "shutdown"
  ws_peer.py client URL        sends a fixed script of messages, checks each echo, pings, closes
                               with 1000; prints "OK" and exits 0, or prints the failure and exits 1
Loopback only; every loop is bounded.
"""
import asyncio
import os
import sys

import websockets

SIZES = [0, 1, 125, 126, 127, 1000, 65535, 65536, 200_000]


def payloads():
    out = []
    for i, n in enumerate(SIZES):
        out.append(("text", ("é" * (n // 2) + "x" * (n % 2)) if i % 2 else "a" * n))
        out.append(("binary", os.urandom(n)))
    return out


async def server():
    done = asyncio.Event()

    async def echo(ws):
        async for msg in ws:
            if msg == "shutdown":
                done.set()
                await ws.close(1000, "bye")
                return
            await ws.send(msg)

    async with websockets.serve(echo, "127.0.0.1", 0, max_size=2**21, ping_interval=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        try:
            await asyncio.wait_for(done.wait(), timeout=60)
        except asyncio.TimeoutError:
            pass


async def client(url):
    async with websockets.connect(url, max_size=2**21, ping_interval=None, open_timeout=10) as ws:
        for kind, p in payloads():
            await ws.send(p)
            got = await asyncio.wait_for(ws.recv(), timeout=10)
            if got != p:
                print(f"FAIL: echo of {kind} {len(p)} differs", flush=True)
                return 1
        # Fragmented message: the server must reassemble it.
        await ws.send(iter(["frag", "mented", " message"]))
        got = await asyncio.wait_for(ws.recv(), timeout=10)
        if got != "fragmented message":
            print(f"FAIL: fragmented echo {got!r}", flush=True)
            return 1
        pong = await ws.ping(b"needletail")
        await asyncio.wait_for(pong, timeout=10)
        await ws.close(1000, "done")
        if ws.close_code != 1000:
            print(f"FAIL: close code {ws.close_code}", flush=True)
            return 1
    print("OK", flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(server())
    else:
        sys.exit(asyncio.run(client(sys.argv[2])))
