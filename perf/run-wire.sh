#!/usr/bin/env bash
# Loopback round trips of a 200-byte message, one run: Wire (raw TCP, WebSocket, TLS,
# WebSocket over TLS) against our C io_uring baseline (COOP_TASKRUN|TASKRUN_FLAG, spinning) and
# blocking sockets. Client pinned to CPU 0, echo server to CPU 1, both busy-polling.
#   bash perf/run-wire.sh [ROUNDS] [SAMPLES]      (defaults 3, 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
N=${2:-100000}
SIZE=200
OUT=perf/out
mkdir -p "$OUT/pki" perf/baselines/bin
swift build -c release --product needletail-perf >/dev/null
gcc -O3 -std=gnu11 -o perf/baselines/bin/rtt perf/baselines/rtt.c -luring
gcc -O2 -shared -fPIC -o perf/baselines/bin/malloc_count.so perf/baselines/malloc_count.c
P=.build/release/needletail-perf
B=perf/baselines/bin
source perf/pki.sh

# Starts a server in the background, waits for READY, prints its pid.
start() {
  "$@" >"$OUT/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do grep -q READY "$OUT/server.log" 2>/dev/null && break; sleep 0.05; done
  echo $pid
}

LOG=$OUT/wire-raw.txt
: >"$LOG"
port=31000
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS"
  echo "round=$r" >>"$LOG"
  port=$((port + 10))
  pid=$(start $B/rtt server $port 1)
  $B/rtt uring 127.0.0.1 $port "$N" $SIZE 0 >>"$LOG"
  $B/rtt block 127.0.0.1 $port "$N" $SIZE 0 >>"$LOG"
  LD_PRELOAD=$B/malloc_count.so $P rtt tcp $port "$N" $SIZE 0 >>"$LOG"
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  pid=$(start $P serve-ws $((port + 1)) 1)
  LD_PRELOAD=$B/malloc_count.so $P rtt ws $((port + 1)) "$N" $SIZE 0 >>"$LOG"
  wait $pid 2>/dev/null || true
  pid=$(start $P serve-tls $((port + 2)) 1 "$PKI/server.pem" "$PKI/server.key")
  LD_PRELOAD=$B/malloc_count.so $P rtt tls $((port + 2)) "$N" $SIZE 0 "$PKI/ca.pem" >>"$LOG"
  wait $pid 2>/dev/null || true
  pid=$(start $P serve-wss $((port + 3)) 1 "$PKI/server.pem" "$PKI/server.key")
  LD_PRELOAD=$B/malloc_count.so $P rtt wss $((port + 3)) "$N" $SIZE 0 "$PKI/ca.pem" >>"$LOG"
  wait $pid 2>/dev/null || true
done
python3 - "$LOG" <<'PY' | tee "$OUT/wire-summary.md"
import re, statistics, sys
rounds, cur = [], None
for line in open(sys.argv[1]):
    if line.startswith("round="):
        cur = {}; rounds.append(cur); continue
    for k, v in re.findall(r"(\S+?)=(\S+)", line):
        cur[k] = v
def med(k):
    xs = [float(r[k]) for r in rounds if k in r and r[k] != "n/a"]
    return statistics.median(xs) if xs else float("nan")
print(f"Rounds: {len(rounds)}; 200-byte messages; client CPU 0, server CPU 1; medians over rounds (µs)\n")
print("| path | p50 | p99 | p99.9 | allocations per round trip |")
print("|---|---|---|---|---|")
rows = [("C io_uring, COOP_TASKRUN|TASKRUN_FLAG, spinning (baseline)", "c_uring"), ("C blocking sockets", "c_block"),
        ("Wire TCP (→ C echo server)", "wire_tcp"), ("Wire WebSocket over TCP (Wire server)", "wire_ws"),
        ("Wire TLS 1.3 (Wire server)", "wire_tls"), ("Wire WebSocket over TLS 1.3 (Wire server)", "wire_wss")]
for name, k in rows:
    a = med(k + "_mallocs")
    n = med(k + "_samples")
    alloc = "—" if a != a else f"{a / n:.2f}"
    print(f"| {name} | {med(k + '_rtt_ns_p50') / 1000:.1f} | {med(k + '_rtt_ns_p99') / 1000:.1f} | {med(k + '_rtt_ns_p999') / 1000:.1f} | {alloc} |")
t, u, w = med("wire_tcp_rtt_ns_p50"), med("c_uring_rtt_ns_p50"), med("wire_wss_rtt_ns_p50")
# The machine is noisy between rounds: also compare within each round, then take the median.
ratios = [float(r["wire_tcp_rtt_ns_p50"]) / float(r["c_uring_rtt_ns_p50"]) for r in rounds]
diffs = [(float(r["wire_wss_rtt_ns_p50"]) - float(r["wire_tcp_rtt_ns_p50"])) / 1000 for r in rounds]
print(f"\nWire TCP p50 / C io_uring p50: medians {t / u:.2f}×, median of same-round ratios "
      f"**{statistics.median(ratios):.2f}×** (rounds: {', '.join(f'{x:.2f}' for x in ratios)}; target ≤ 1.2×).")
print(f"WebSocket over TLS minus Wire TCP, p50: medians {(w - t) / 1000:.1f} µs, median of same-round differences "
      f"**{statistics.median(diffs):.1f} µs** (rounds: {', '.join(f'{x:.1f}' for x in diffs)}; target ≤ 2 µs).")
PY
