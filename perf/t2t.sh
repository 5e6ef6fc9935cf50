#!/usr/bin/env bash
# Tick-to-trade against the Venue over loopback TLS (see Sources/Connectors/Binance/Harness/TickToTrade/TickToTrade.swift):
# the venue changes its book and sends the depth diff, the engine's probe strategy answers each
# book change with an order, the venue stamps its arrival. Three layouts; then the same with
# event-driven pure market making instead of the probe (each change moves the mid, the first
# cancel of the re-quote is the sample) on the two spinning layouts; then a same-run
# baseline: a WebSocket-over-TLS echo round trip between two busy-polling Wire processes (the
# transport floor under venue-to-venue, which crosses that same path once each way).
#   bash perf/t2t.sh [SAMPLES [PMM_SAMPLES]]        (defaults 100000, 50000)
# Writes perf/out/t2t-raw.txt and prints a summary (perf/out/t2t-summary.md).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
NP=${2:-50000}
OUT=perf/out
mkdir -p "$OUT/pki" perf/baselines/bin
swift build -c release --product needletail-perf >/dev/null
gcc -O2 -shared -fPIC -o perf/baselines/bin/malloc_count.so perf/baselines/malloc_count.c
P=.build/release/needletail-perf
B=$(pwd)/perf/baselines/bin
export NT_PKI_DIR=$OUT/t2t-pki
LOG=$OUT/t2t-raw.txt
: >"$LOG"
for layout in one-thread-spin one-thread two-threads; do
  echo "== $layout" | tee -a "$LOG"
  LD_PRELOAD=$B/malloc_count.so $P t2t "$N" $layout >>"$LOG"
done
for layout in one-thread-spin two-threads; do
  echo "== pmm $layout" | tee -a "$LOG"
  LD_PRELOAD=$B/malloc_count.so $P t2t "$NP" $layout pmm >>"$LOG"
done
# Baseline: WSS echo round trips, client CPU 0, server CPU 1, both busy-polling.
source perf/pki.sh
port=$((32000 + RANDOM % 1000))
$P serve-wss $port 1 "$PKI/server.pem" "$PKI/server.key" >"$OUT/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q READY "$OUT/server.log" 2>/dev/null && break; sleep 0.05; done
echo "== baseline wss rtt" | tee -a "$LOG"
$P rtt wss $port 100000 300 0 "$PKI/ca.pem" >>"$LOG"
wait $pid 2>/dev/null || true
python3 - "$LOG" <<'PY' | tee "$OUT/t2t-summary.md"
import re, sys
text = open(sys.argv[1]).read()
blocks = re.split(r"^== ", text, flags=re.M)[1:]
rtt = {}
for b in blocks:
    name, body = b.split("\n", 1)
    if name.startswith("baseline"):
        for k, v in re.findall(r"(\w+_rtt_ns_p\w+)=([\d.]+)", body):
            rtt[k] = float(v) / 1000
        continue
    print(f"### {name}\n")
    print("\n".join(l for l in body.splitlines() if l.startswith("|")))
    kv = dict(re.findall(r"(t2t_\w+)=(\S+)", body))
    print(f"\nsamples {kv.get('t2t_samples')}, engine allocations {kv.get('t2t_engine_allocations')}, "
          f"step timeouts {kv.get('t2t_step_timeouts')}, unmatched {kv.get('t2t_unmatched_arrivals')}, "
          f"tracker {kv.get('t2t_tracker_cancelled')}/{kv.get('t2t_tracker_orders')} expired = venue "
          f"{kv.get('t2t_venue_expired')}/{kv.get('t2t_venue_orders')}")
    if "t2t_pmm_placed" in kv:
        print(f"pmm: placed {kv['t2t_pmm_placed']}, cancels {kv['t2t_pmm_cancels']}, venue cancelled "
              f"{kv['t2t_venue_cancelled']} open {kv['t2t_venue_open']}, tracker open {kv['t2t_tracker_open']}")
    print()
    if rtt:
        pass
    v2v = float(kv.get("t2t_venue_to_venue_p50_us", "nan"))
    print(f"venue-to-venue p50 {v2v:.1f} µs\n")
if rtt:
    k50 = [k for k in rtt if k.endswith("p50")]
    print("### baseline: WebSocket-over-TLS echo round trip (two busy-polling Wire processes)\n")
    for k in sorted(rtt):
        print(f"- {k}: {rtt[k]:.1f} µs")
PY
