// The strategy thread's cost per book event, on the real Binance spot capture (pre-parsed: no
// decoding in the loop): each diff is applied to the book, then the timed call is the host's
// book callback — the strategy's decision, the risk gate, the tracker, the order command handed
// to the wire side. A no-op strategy is the baseline measured in the same run (the host's own
// cost). The venue's answers (accepted, cancelled) are played into the tracker untimed.
//
//   needletail-perf strategy PRE_DIR
//
// Simulated time: 100 ms per diff (the stream is depth@100ms), so refresh timers behave as live.
import CPlatform
import Engine
import FastBook
import Foundation
import Glibc
import Strategies

final class NoopStrategy: Strategy {
  func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {}
}

/// Allocation counting around single calls (the malloc_count.so shim, when preloaded).
struct MallocCounter {
  typealias Enable = @convention(c) (Int32) -> Void
  typealias Read = @convention(c) () -> UInt64
  let enable: Enable?
  let read: Read?
  init() {
    let handle = dlopen(nil, RTLD_NOW)
    if let e = dlsym(handle, "malloc_count_enable"), let r = dlsym(handle, "malloc_count_read") {
      enable = unsafeBitCast(e, to: Enable.self)
      read = unsafeBitCast(r, to: Read.self)
    } else {
      enable = nil
      read = nil
    }
  }
  var available: Bool { enable != nil }
}

func benchStrategy(_ dir: String) {
  let pre = Pre(dir)
  let rule = TradingRule(tickSize: 1, stepSize: 1_000, minQuantity: 1_000)
  let counter = MallocCounter()
  let unit: Int128 = 1_000_000_000_000_000_000

  func pmm(eventDriven: Bool) -> PureMarketMaking {
    var c = PureMarketMakingConfig()
    c.bidSpread = 0.0001
    c.askSpread = 0.0001
    c.orderLevels = 3
    c.orderLevelSpread = 0.0001
    c.orderAmount = 100_000  // 0.001 BTC
    c.orderRefreshTimeNs = 5_000_000_000
    c.orderRefreshTolerance = 0.00005
    c.filledOrderDelayNs = 1_000_000_000
    c.inventorySkew = true
    c.eventDriven = eventDriven
    return PureMarketMaking(
      config: c, rule: rule, instrument: instrument,
      portfolio: Portfolio(
        base: 10 * unit, quote: 1_000_000 * unit, fees: FeeSchema(makerRate: 100_000, takerRate: 100_000),
        priceScale: 2, quantityScale: 8))
  }

  struct Result {
    var name: String
    var samples: [Int64]
    /// Allocations in timed calls that sent no order command, and in those that did.
    var quietMallocs: UInt64
    var orderMallocs: UInt64
    var eventsWithOrders: Int
    var commands: Int
    /// Full PMM cycles run (proposal → cancels → placement).
    var cycles = 0
  }

  func run(_ name: String, _ strategy: Strategy, ticks: Bool) -> Result {
    let book = LadderBook(instrument: instrument, windowTicks: 1 << 16, overflowCapacity: 1 << 15)
    loadSnapshot(book, pre)
    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: 1_000_000_000, cancelRetryNs: .max)
    var pending: [OrderCommand] = []
    pending.reserveCapacity(256)
    let host = StrategyHost(
      strategy: strategy, symbol: "BTCUSDT", rule: rule, limits: RiskLimits(), tracker: tracker, prefix: "b-"
    ) { pending.append($0) }
    var samples: [Int64] = []
    samples.reserveCapacity(pre.messages)
    var r = Result(
      name: name, samples: [], quietMallocs: 0, orderMallocs: 0, eventsWithOrders: 0, commands: 0)
    var venueID: Int64 = 0
    let off = pre.off
    for k in 0..<pre.messages {
      for i in Int(off[k])..<Int(off[k + 1]) {
        book.update(pre.side[i] == 0 ? .bid : .ask, tick: pre.price[i], quantity: pre.qty[i])
      }
      let now = Int64(k) * 100_000_000
      let before = counter.read?() ?? 0
      counter.enable?(1)
      let t0 = cplat_now_ns()
      if ticks && k % 10 == 0 {
        host.tick(now: now, referencePrice: StrategyHost.mid(book))
      } else {
        host.book(book, now: now)
      }
      let t1 = cplat_now_ns()
      counter.enable?(0)
      let m = (counter.read?() ?? 0) - before
      samples.append(t1 - t0)
      if pending.isEmpty {
        r.quietMallocs += m
      } else {
        r.orderMallocs += m
        r.eventsWithOrders += 1
        r.commands += pending.count
        // The venue answers (untimed); answers may cause more commands (a re-quote after the
        // cancels), answered too.
        while !pending.isEmpty {
          let batch = pending
          pending.removeAll(keepingCapacity: true)
          for c in batch {
            switch c {
            case .place(let id, _, _, _, _):
              venueID += 1
              tracker.accepted(id, venueID: VenueOrderID(venueID), now: now)
            case .cancel(let id):
              tracker.cancelledAtVenue(id, now: now)
            }
          }
          host.drainTracker(referencePrice: StrategyHost.mid(book), now: now)
        }
      }
    }
    r.samples = samples
    if let p = strategy as? PureMarketMaking { r.cycles = p.cycles }
    return r
  }

  func avellanedaStoikov() -> AvellanedaStoikov {
    var c = AvellanedaStoikovConfig()
    c.riskFactor = 0.01
    c.kappa = 0.01
    c.orderAmount = 100_000
    c.orderLevels = 3
    c.levelDistances = 0.5
    c.orderRefreshTimeNs = 5_000_000_000
    c.orderRefreshTolerance = 0.00005
    c.orderAmountShapeFactor = 0.2
    return AvellanedaStoikov(
      config: c, rule: rule, instrument: instrument,
      portfolio: Portfolio(
        base: 10 * unit, quote: 1_000_000 * unit, fees: FeeSchema(makerRate: 100_000, takerRate: 100_000),
        priceScale: 2, quantityScale: 8))
  }

  let results = [
    run("noop", NoopStrategy(), ticks: false),
    run("pmm_event", pmm(eventDriven: true), ticks: false),
    run("pmm_tick", pmm(eventDriven: false), ticks: true),
    run("as_tick", avellanedaStoikov(), ticks: true),
  ]
  let base = results[0].samples.sorted()
  for r in results {
    let s = r.samples.sorted()
    print(
      "strategy_\(r.name)_events=\(s.count) ns_p50=\(percentile(s, 0.5)) ns_p99=\(percentile(s, 0.99)) ns_p999=\(percentile(s, 0.999)) ns_max=\(s.last ?? 0)"
        + " events_with_orders=\(r.eventsWithOrders) commands=\(r.commands) cycles=\(r.cycles)"
        + " mallocs_quiet=\(counter.available ? String(r.quietMallocs) : "n/a") mallocs_with_orders=\(counter.available ? String(r.orderMallocs) : "n/a")"
        + String(
          format: " p50_ratio_to_noop=%.2f",
          Double(percentile(s, 0.5)) / Double(max(percentile(base, 0.5), 1))))
  }
}
