#!/usr/bin/env python3
"""Reads perf/run.sh's raw key=value log, checks that each Swift/baseline pair agreed on its
checksum, and prints the medians over rounds with same-run ratios as a Markdown table."""
import re
import statistics
import sys

rounds = []
cur = None
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("round="):
        cur = {}
        rounds.append(cur)
        continue
    if cur is None or line.startswith("#"):
        continue
    # "key=value key2=value2": a bare key after the first inherits its first key's prefix.
    pairs = re.findall(r"(\S+?)=(\S+)", line)
    if not pairs:
        continue
    first = pairs[0][0]
    prefix = first.rsplit("_", 1)[0] if "_" in first else ""
    for i, (k, v) in enumerate(pairs):
        if i > 0 and "_" not in k:  # "min=", "max=": qualify with the first key's stem
            k = prefix + "_" + k
        cur[k] = v


def med(key):
    xs = [float(r[key]) for r in rounds if key in r]
    return statistics.median(xs) if xs else float("nan")


def same(a, b):
    va = {r.get(a) for r in rounds}
    vb = {r.get(b) for r in rounds}
    return va == vb and None not in va


problems = []
for a, b in [("syn_book_checksum", "syn_ladder_checksum"), ("syn_book_checksum", "syn_map_checksum"),
             ("real_book_checksum", "real_ladder_checksum"), ("realf_book_checksum", "realf_ladder_checksum"),
             ("decode_checksum_prices", "cxx_decode_checksum_prices"), ("decode_checksum_qty", "cxx_decode_checksum_qty"),
             ("decode_checksum_ids", "cxx_decode_checksum_ids"),
             ("decode_checksum_prices", "cxx_raw_decode_checksum_prices"),
             ("decode_checksum_qty", "cxx_raw_decode_checksum_qty"),
             ("decode_checksum_ids", "cxx_raw_decode_checksum_ids")]:
    if not same(a, b):
        problems.append(f"checksum mismatch: {a} vs {b}")

print(f"Rounds: {len(rounds)} (medians over rounds of each binary's median over its repetitions)\n")
print("| stage | Needletail (Swift) | baseline | ratio | target |")
print("|---|---|---|---|---|")
for tag, name in [("syn", "synthetic gen_l2, 12.1M level updates"), ("real", "real Binance spot BTCUSDT capture"),
                  ("realf", "real Binance COIN-M BTCUSD_PERP capture")]:
    s = med(f"{tag}_book_ns_per_level_median")
    l = med(f"{tag}_ladder_ns_per_level_median")
    m = med(f"{tag}_map_ns_per_level_median")
    print(f"| book apply, ns/level ({name}) | {s:.2f} | C++ ladder {l:.2f} | **{s / l:.2f}×** | ≤ 1.3× |")
    print(f"| book apply, ns/level ({name}) | {s:.2f} | C++ std::map {m:.2f} | {s / m:.2f}× | — |")
d = med("decode_ns_per_message_median")
c = med("cxx_decode_ns_per_message_median")
cr = med("cxx_raw_decode_ns_per_message_median")
print(f"| depthUpdate decode, ns/msg (synthetic, 481 B, 12 levels) | {d:.1f} | C++ simdjson On-Demand, raw strings (the fastest plain way) {cr:.1f} | **{d / cr:.2f}×** | ≤ 1.0× |")
print(f"| depthUpdate decode, ns/msg (synthetic, 481 B, 12 levels) | {d:.1f} | C++ simdjson On-Demand, get_string (unescapes) {c:.1f} | {d / c:.2f}× | — |")
da = med("decode_apply_ns_per_message_median")
print(f"| decode + apply, ns/msg (synthetic) | {da:.1f} | plain decode + C++ ladder apply {c + 12.08 * med('syn_ladder_ns_per_level_median'):.1f} | {da / (c + 12.08 * med('syn_ladder_ns_per_level_median')):.2f}× | ≤ 400 ns |")
pa = med("path_ns_per_message_median")
print(f"| decode → sync → ring → apply, ns per capture line (real spot, all 99,574 lines) | {pa:.1f} | — | — | reported |")
rs = med("ring_mops_median")
rc = med("c_ring_mops_median")
rsb = med("ring_mops_max")
rcb = med("c_ring_mops_max")
print(f"| SPSC ring throughput, M items/s (pinned 0→1), median of runs | {rs:.1f} | C ring {rc:.1f} | **{rs / rc:.2f}×** | ≥ 0.9× |")
print(f"| SPSC ring throughput, M items/s (pinned 0→1), best run | {rsb:.1f} | C ring {rcb:.1f} | **{rsb / rcb:.2f}×** | ≥ 0.9× |")
for p in ["p50", "p99", "p999"]:
    print(f"| ring ping-pong one-way {p}, ns (pinned) | {med('pingpong_oneway_ns_' + p):.0f} | C ring {med('c_pingpong_oneway_ns_' + p):.0f} | — | reported |")
print()
allocs = {k: {r.get(k) for r in rounds} for k in ["syn_book_mallocs", "real_book_mallocs", "realf_book_mallocs",
                                                   "decode_mallocs", "decode_apply_mallocs", "path_mallocs"]}
print("Allocations in the timed loops (malloc_count.so): " + ", ".join(f"{k.replace('_mallocs', '')} {'/'.join(sorted(str(x) for x in v))}" for k, v in allocs.items()))
for k, v in allocs.items():
    if v != {"0"}:
        problems.append(f"{k}: {v} (target 0)")
print("Checks: " + ("all Swift/baseline checksums agree" if not problems else "; ".join(problems)))
if problems:
    sys.exit(1)
