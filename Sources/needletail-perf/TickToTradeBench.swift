import BinanceTickToTrade
import Foundation
import Histogram

// needletail-perf t2t [SAMPLES] [two-threads|one-thread|one-thread-spin] [WIRE_CPU STRATEGY_CPU [VENUE_CPU]] [pmm]
//   one-thread-spin: the engine on one busy-polling thread (CPU 1) and the venue busy-polling on CPU 0
//   pmm: event-driven pure market making instead of the probe (each book change is a re-quote)
//
// Runs the tick-to-trade harness (Soak/TickToTrade.swift) and prints, as key=value lines and a
// table, HdrHistogram percentiles of every stage and of the venue-to-venue round, plus the
// correctness counts (every order matched to its diff, tracker vs venue) and allocations.
func benchTickToTrade(_ allArgs: [String]) throws {
  var c = TickToTradeConfig()
  if allArgs.contains("pmm") { c.strategy = .pureMarketMaking }
  let args = allArgs.filter { $0 != "pmm" }
  if args.count > 0, let n = Int(args[0]) { c.samples = n }
  if args.count > 1, let l = TickToTradeConfig.Layout(rawValue: args[1]) { c.layout = l }
  if args.count > 1, args[1] == "one-thread-spin" {
    c.layout = .oneThread
    c.venueSpin = true
  }
  if args.count > 3 {
    c.wireCPU = Int(args[2])
    c.strategyCPU = Int(args[3])
  }
  if args.count > 4 { c.venueCPU = Int(args[4]) }
  if c.layout == .oneThread && args.count <= 3 {
    // One engine thread on CPU 1, the venue on CPU 0.
    c.strategyCPU = 1
    c.venueCPU = 0
  }
  let dir = ProcessInfo.processInfo.environment["NT_PKI_DIR"] ?? "perf/out/pki"
  let r = try runTickToTrade(c, certificateDir: dir)

  func hist(_ f: (TickToTradeSample) -> Int64) -> Histogram<UInt64> {
    var h = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    for s in r.samples { _ = h.record(UInt64(max(f(s), 0))) }
    return h
  }
  let stages: [(String, String, (TickToTradeSample) -> Int64)] = [
    ("venue_to_venue", "venue sent depth → venue got order", { $0.venueArrivalNs - $0.venueSentNs }),
    ("wire_in", "venue sent → engine recv CQE", { $0.recvNs - $0.venueSentNs }),
    ("engine_recv_to_queued", "engine recv → order send queued (in-engine)", { $0.queuedNs - $0.recvNs }),
    ("engine_recv_to_sent", "engine recv → submit syscall returned", { $0.sentNs - $0.recvNs }),
    ("recv_to_decoded", "recv → TLS, WS, decoded", { $0.decodedNs - $0.recvNs }),
    ("decoded_to_applied", "decoded → sync, ring, applied", { $0.appliedNs - $0.decodedNs }),
    ("applied_to_decided", "applied → strategy, rule, gate, tracker", { $0.decidedNs - $0.appliedNs }),
    (
      "decided_to_queued", "decided → ring, encode, sign, WS frame, TLS seal, SQE",
      { $0.queuedNs - $0.decidedNs }
    ),
    ("queued_to_sent", "SQE → io_uring_submit returned (kernel send)", { $0.sentNs - $0.queuedNs }),
    ("wire_out", "engine sent → venue order frame handled", { $0.venueArrivalNs - $0.sentNs }),
  ]
  print(
    "t2t_layout=\(r.layout.rawValue)\(c.venueSpin ? "+venue-spinning" : "") t2t_strategy=\(c.strategy.rawValue)"
  )
  print("t2t_samples=\(r.samples.count)")
  print("t2t_wire_pinned=\(r.wirePinned) t2t_strategy_pinned=\(r.strategyPinned)")
  print("| stage | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs |")
  print("|---|---|---|---|---|---|")
  for (key, label, f) in stages {
    let h = hist(f)
    let p = [50.0, 90.0, 99.0, 99.9].map { Double(h.valueAtPercentile($0)) / 1000 }
    let mx = Double(h.max) / 1000
    for (q, v) in zip(["p50", "p90", "p99", "p999"], p) {
      print("t2t_\(key)_\(q)_us=\(String(format: "%.2f", v))")
    }
    print(
      "| \(label) | \(String(format: "%.2f", p[0])) | \(String(format: "%.2f", p[1])) | \(String(format: "%.2f", p[2])) | \(String(format: "%.2f", p[3])) | \(String(format: "%.1f", mx)) |"
    )
  }
  let allocs = r.engineAllocations.map(String.init) ?? "n/a"
  print("t2t_engine_allocations=\(allocs) over \(r.measuredMessages) measured messages")
  print(
    "t2t_steps=\(r.steps) t2t_step_timeouts=\(r.stepTimeouts) t2t_unmatched_arrivals=\(r.unmatchedArrivals) t2t_probe_placed=\(r.probePlaced)"
  )
  print(
    "t2t_tracker_orders=\(r.trackerOrders) t2t_tracker_cancelled=\(r.trackerCancelled) t2t_tracker_other=\(r.trackerOther) t2t_venue_orders=\(r.venueOrders) t2t_venue_expired=\(r.venueExpired)"
  )
  print(
    "t2t_rule_refusals=\(r.ruleRefusals) t2t_gate_refusals=\(r.gateRefusals) t2t_outbound_full=\(r.outboundFull) t2t_book_ring_waits=\(r.bookRingWaits) t2t_rejects=\(r.entryRejects) t2t_unknown=\(r.entryUnknown) t2t_malformed=\(r.entryMalformed) t2t_resets=\(r.resets) t2t_reconciliations=\(r.reconciliations) t2t_held_for_reconciliation=\(r.heldForReconciliation)"
  )
  print(
    "t2t_reconcile_requests=\"\(r.reconcileRequests)\""
  )
  if c.strategy == .pureMarketMaking {
    print(
      "t2t_pmm_placed=\(r.strategyPlaced) t2t_pmm_cancels=\(r.strategyCancels) t2t_venue_cancelled=\(r.venueCancelled) t2t_venue_open=\(r.venueOpen) t2t_tracker_open=\(r.trackerOpen)"
    )
  }
  print("t2t_disconnects=\(r.disconnects) last errors: \(r.lastErrors)")
  print("t2t_elapsed_s=\(String(format: "%.1f", r.elapsedSeconds))")
}
